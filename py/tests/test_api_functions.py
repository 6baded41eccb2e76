"""Every built-in function through its Pythonic spelling, run by the engine in both modes,
against Python / PyArrow computing the same thing."""
from __future__ import annotations

import datetime as dt
import hashlib
import math

import pyarrow as pa
import pytest

import quiver as qv
from api_support import engine, local_engine, remote_engine  # noqa: F401 - fixtures

DATA = pa.table({
    "i": pa.array([1, -7, None, 12, 0], pa.int64()),
    "f": pa.array([0.5, -2.25, 3.0, None, 10.0]),
    "s": pa.array(["Apple", "banana", None, "cherry pie", "ß"]),
    "d": pa.array([dt.date(2024, 2, 29), dt.date(1999, 12, 31), None, dt.date(1970, 1, 1),
                   dt.date(2000, 6, 15)]),
})
ROWS = DATA.to_pylist()


def run(engine, **exprs):
    out = engine.from_arrow(DATA).select("i", **exprs).collect()
    return {name: out.column(name).to_pylist() for name in exprs}


def per_row(fn, *cols):
    out = []
    for r in ROWS:
        args = [r[c] for c in cols]
        out.append(None if any(a is None for a in args) else fn(*args))
    return out


def test_arithmetic_and_comparisons(engine):
    i, f = qv.col("i"), qv.col("f")
    got = run(engine, add=i + 2, sub=10 - i, mul=i * f, div=i / 2, mod=i % 5, neg=-i,
              eq=i == 1, ne=i != 1, lt=i < 1, le=i <= 1, gt=f > 1, ge=f >= 3)
    assert got["add"] == per_row(lambda a: a + 2, "i")
    assert got["sub"] == per_row(lambda a: 10 - a, "i")
    assert got["mul"] == per_row(lambda a, b: a * b, "i", "f")
    assert got["div"] == per_row(lambda a: int(a / 2), "i")       # truncates toward zero
    assert got["mod"] == per_row(lambda a: int(math.fmod(a, 5)), "i")  # sign of the dividend
    assert got["neg"] == per_row(lambda a: -a, "i")
    assert got["eq"] == per_row(lambda a: a == 1, "i")
    assert got["ne"] == per_row(lambda a: a != 1, "i")
    assert got["lt"] == per_row(lambda a: a < 1, "i")
    assert got["le"] == per_row(lambda a: a <= 1, "i")
    assert got["gt"] == per_row(lambda a: a > 1, "f")
    assert got["ge"] == per_row(lambda a: a >= 3, "f")


def test_logic_and_null_handling(engine):
    i, f = qv.col("i"), qv.col("f")
    got = run(engine, both=(i > 0) & (f > 0), either=(i > 0) | (f > 0), no=~(i > 0),
              isn=f.is_null(), notn=f.is_not_null(), fill=i.fill_null(-1),
              coal=qv.coalesce(qv.col("f"), qv.lit(0.0)), isin=i.is_in([1, 12]),
              btw=i.between(0, 12),
              case=qv.when(i > 5).then("big").when(i > 0).then("small").otherwise("other"))

    def and3(a, b):
        if a is False or b is False:
            return False
        return None if a is None or b is None else True

    def or3(a, b):
        if a is True or b is True:
            return True
        return None if a is None or b is None else False

    gt = lambda v: None if v is None else v > 0  # noqa: E731
    assert got["both"] == [and3(gt(r["i"]), gt(r["f"])) for r in ROWS]
    assert got["either"] == [or3(gt(r["i"]), gt(r["f"])) for r in ROWS]
    assert got["no"] == per_row(lambda a: not a > 0, "i")
    assert got["isn"] == [r["f"] is None for r in ROWS]
    assert got["notn"] == [r["f"] is not None for r in ROWS]
    assert got["fill"] == [-1 if r["i"] is None else r["i"] for r in ROWS]
    assert got["coal"] == [0.0 if r["f"] is None else r["f"] for r in ROWS]
    assert got["isin"] == per_row(lambda a: a in (1, 12), "i")
    assert got["btw"] == per_row(lambda a: 0 <= a <= 12, "i")
    assert got["case"] == ["small", "other", "other", "big", "other"]


def test_strings(engine):
    s = qv.col("s")
    got = run(engine, n=s.str.len(), lo=s.str.lower(), up=s.str.upper(), sub=s.str.slice(2, 3),
              sw=s.str.starts_with("b"), ew=s.str.ends_with("pie"), has=s.str.contains("an"),
              lk=s.str.like("%e%"), sha=s.str.sha256())
    assert got["n"] == per_row(len, "s")
    assert got["lo"] == per_row(str.lower, "s")
    assert got["up"] == per_row(str.upper, "s")   # Java's full case mapping: 'ß' -> 'SS'
    assert got["sub"] == per_row(lambda v: v[1:4], "s")
    assert got["sw"] == per_row(lambda v: v.startswith("b"), "s")
    assert got["ew"] == per_row(lambda v: v.endswith("pie"), "s")
    assert got["has"] == per_row(lambda v: "an" in v, "s")
    assert got["lk"] == per_row(lambda v: "e" in v, "s")
    assert got["sha"] == per_row(lambda v: hashlib.sha256(v.encode()).digest(), "s")


def test_dates_casts_and_hashes(engine):
    d = qv.col("d")
    got = run(engine, y=d.dt.year(), m=d.dt.month(), dd=d.dt.day(),
              later=d + 1, txt=qv.col("i").cast("utf8"), fl=qv.col("i").cast(pa.float64()),
              h=qv.col("i").hash(), h2=qv.hash_xxh64(qv.col("i"), qv.col("s")))
    assert got["y"] == per_row(lambda v: v.year, "d")
    assert got["m"] == per_row(lambda v: v.month, "d")
    assert got["dd"] == per_row(lambda v: v.day, "d")
    assert got["later"] == per_row(lambda v: v + dt.timedelta(days=1), "d")
    assert got["txt"] == per_row(str, "i")
    assert got["fl"] == per_row(float, "i")
    assert all(isinstance(h, int) for h in got["h"])       # never null, uint64
    assert got["h"][2] != got["h"][4]                       # null hashes differently from 0
    again = run(engine, h=qv.col("i").hash())["h"]
    assert again == got["h"]                                # deterministic


def test_user_function_via_call_and_engine_errors_name_it(engine):
    with pytest.raises(qv.FunctionNotFound, match="nope_fn"):
        engine.from_arrow(DATA).select(y=qv.call("nope_fn", qv.col("i"))).collect()
