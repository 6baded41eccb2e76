"""Scenario tests of the Python API in both modes (in-process and Flight), against independent
oracles (DuckDB SQL or pandas/polars on the same data): TPC-H Q1, Q3, Q6 written with frames,
pandas / polars / DuckDB pipelines with a Quiver stage, streaming stages."""
from __future__ import annotations

import datetime as dt
import math
import threading
from decimal import Decimal

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import quiver as qv
from api_support import engine, local_engine, remote_engine  # noqa: F401 - fixtures

DEC = pa.decimal128(15, 2)


def tables(eng, *names):
    return {n: eng.get(n).to_arrow() for n in names}


def q1(eng):
    one = qv.lit("1", DEC)
    price, disc, tax = qv.col("l_extendedprice"), qv.col("l_discount"), qv.col("l_tax")
    return (eng.table("lineitem")
            .filter(qv.col("l_shipdate") <= dt.date(1998, 9, 2))
            .group_by("l_returnflag", "l_linestatus")
            .agg(sum_qty=qv.sum("l_quantity"), sum_base_price=qv.sum("l_extendedprice"),
                 sum_disc_price=qv.sum(price * (one - disc)),
                 sum_charge=qv.sum(price * (one - disc) * (one + tax)),
                 avg_qty=qv.mean("l_quantity"), avg_price=qv.mean("l_extendedprice"),
                 avg_disc=qv.mean("l_discount"), count_order=qv.count())
            .sort("l_returnflag", "l_linestatus"))


Q1_SQL = """
select l_returnflag, l_linestatus, sum(l_quantity) as sum_qty,
       sum(l_extendedprice) as sum_base_price,
       sum(l_extendedprice * (1 - l_discount)) as sum_disc_price,
       sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) as sum_charge,
       avg(l_quantity) as avg_qty, avg(l_extendedprice) as avg_price,
       avg(l_discount) as avg_disc, count(*) as count_order
from lineitem where l_shipdate <= date '1998-09-02'
group by l_returnflag, l_linestatus order by l_returnflag, l_linestatus
"""


def q3(eng):
    cut = dt.date(1995, 3, 15)
    building = eng.table("customer").filter(qv.col("c_mktsegment") == "BUILDING")
    orders = (eng.table("orders").filter(qv.col("o_orderdate") < cut)
              .join(building, left_on="o_custkey", right_on="c_custkey", how="semi"))
    return (eng.table("lineitem").filter(qv.col("l_shipdate") > cut)
            .join(orders, left_on="l_orderkey", right_on="o_orderkey")
            .group_by("l_orderkey", "o_orderdate", "o_shippriority")
            .agg(revenue=qv.sum(qv.col("l_extendedprice") * (1 - qv.col("l_discount"))))
            .sort("revenue", "o_orderdate", "l_orderkey", descending=[True, False, False])
            .limit(10)
            .select("l_orderkey", "revenue", "o_orderdate", "o_shippriority"))


Q3_SQL = """
select l_orderkey, sum(l_extendedprice * (1 - l_discount)) as revenue, o_orderdate,
       o_shippriority
from customer, orders, lineitem
where c_mktsegment = 'BUILDING' and c_custkey = o_custkey and l_orderkey = o_orderkey
  and o_orderdate < date '1995-03-15' and l_shipdate > date '1995-03-15'
group by l_orderkey, o_orderdate, o_shippriority
order by revenue desc, o_orderdate, l_orderkey limit 10
"""


def q6(eng):
    d = lambda s: qv.lit(Decimal(s))  # noqa: E731
    return (eng.table("lineitem")
            .filter(qv.col("l_shipdate") >= dt.date(1994, 1, 1),
                    qv.col("l_shipdate") < dt.date(1995, 1, 1),
                    qv.col("l_discount").between(d("0.05"), d("0.07")),
                    qv.col("l_quantity") < 24)
            .agg(revenue=qv.sum(qv.col("l_extendedprice") * qv.col("l_discount"))))


Q6_SQL = """
select sum(l_extendedprice * l_discount) as revenue from lineitem
where l_shipdate >= date '1994-01-01' and l_shipdate < date '1995-01-01'
  and l_discount between 0.05 and 0.07 and l_quantity < 24
"""


def oracle(eng, sql, *names):
    con = duckdb.connect()
    for n, t in tables(eng, *names).items():
        con.register(n, t)
    return con.sql(sql).to_arrow_table()


def assert_same(actual: pa.Table, expected: pa.Table, rel=1e-9):
    assert actual.column_names == expected.column_names
    assert actual.num_rows == expected.num_rows
    for name in actual.column_names:
        a, e = actual.column(name).to_pylist(), expected.column(name).to_pylist()
        for x, y in zip(a, e):
            if isinstance(x, float) or isinstance(y, float):
                assert math.isclose(float(x), float(y), rel_tol=rel), (name, x, y)
            elif isinstance(x, Decimal) or isinstance(y, Decimal):
                assert Decimal(x) == Decimal(y), (name, x, y)
            else:
                assert x == y, (name, x, y)


def test_tpch_q1(engine):
    got = q1(engine).collect()
    assert got.schema.types[2] == pa.decimal128(38, 2)
    assert_same(got, oracle(engine, Q1_SQL, "lineitem"))
    assert got.num_rows == 4


def test_tpch_q3(engine):
    got = q3(engine).collect()
    assert got.num_rows == 10
    assert_same(got, oracle(engine, Q3_SQL, "customer", "orders", "lineitem"))


def test_tpch_q6(engine):
    got = q6(engine).collect()
    assert got.schema == pa.schema([("revenue", pa.decimal128(38, 4))])
    assert_same(got, oracle(engine, Q6_SQL, "lineitem"))


def test_modes_give_identical_results(local_engine, remote_engine):  # noqa: F811
    for q in (q1, q3, q6):
        a, b = q(local_engine).collect(), q(remote_engine).collect()
        assert a.equals(b), q.__name__
    assert local_engine.get("nation").to_arrow().equals(remote_engine.get("nation").to_arrow())


def test_client_schema_matches_engine_schema(engine):
    for q in (q1, q3, q6):
        f = q(engine)
        assert f.resolved_schema().types == f.schema.types, q.__name__


def test_frame_operations_against_pyarrow(engine):
    data = pa.table({"k": ["a", "b", "a", None, "b", "c"], "x": [1, 2, 3, 4, None, 6],
                     "y": [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]})
    f = engine.from_arrow(data)
    out = (f.filter(qv.col("x").is_not_null())
           .with_columns(z=qv.col("x") * 2 + qv.col("y"))
           .select("k", "z").sort("z", descending=True).collect())
    mask = pc.is_valid(data["x"])
    z = pc.add(pc.multiply(pc.cast(data["x"], pa.int64()), 2), data["y"]).filter(mask)
    expect = pa.table({"k": data["k"].filter(mask), "z": z}).sort_by([("z", "descending")])
    assert out.equals(expect)
    assert f.distinct().count_rows() == 6
    assert f.limit(2).count_rows() == 2
    assert sorted(f.select("k").distinct().collect().column(0).to_pylist(),
                  key=str) == sorted({"a", "b", "c", None}, key=str)
    batches = list(f.to_batches())
    assert sum(b.num_rows for b in batches) == 6
    assert f.to_numpy()["y"].tolist() == data["y"].to_pylist()
    assert f.to_polars().shape == (6, 3)


def test_put_get_list_drop(engine):
    engine.put("api_t", {"a": np.arange(5), "b": list("abcde")})
    assert "api_t" in engine.names()
    info = [d for d in engine.list() if d.name == "api_t"][0]
    assert info.num_rows == 5
    engine.put("api_t", pa.table({"a": [5], "b": ["f"]}), mode="append")
    got = engine.get("api_t").to_pandas()
    assert got["a"].tolist() == [0, 1, 2, 3, 4, 5]
    engine.put("api_t2", pl.DataFrame({"v": [1.0, 2.0]}))
    engine.put("api_t3", duckdb.sql("select 7 as v"))
    assert engine.get("api_t3").to_arrow().column(0).to_pylist() == [7]
    assert engine.drop("api_t") and engine.drop("api_t2") and engine.drop("api_t3")
    assert "api_t" not in engine.names()
    assert engine.drop("api_t", missing_ok=True) is False


def test_pandas_pipeline_with_a_quiver_stage(engine):
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"store": rng.integers(0, 5, 1000), "amount": rng.normal(50, 30, 1000)})
    clean = qv.stage(lambda f: f.filter(qv.col("amount") > 0)
                     .with_columns(net=qv.col("amount") * 0.8), engine=engine)
    got = (df.pipe(clean).groupby("store", as_index=False)["net"].sum()
           .sort_values("store").reset_index(drop=True))
    ref = df[df.amount > 0].assign(net=lambda d: d.amount * 0.8)
    ref = ref.groupby("store", as_index=False)["net"].sum().sort_values("store")
    assert isinstance(got, pd.DataFrame)
    np.testing.assert_allclose(got["net"], ref["net"].to_numpy(), rtol=1e-12)
    assert got["store"].tolist() == ref["store"].tolist()


def test_polars_pipeline(engine):
    df = pl.DataFrame({"g": ["x", "y", "x", "z"], "v": [1, 2, 3, 4]})
    st = qv.stage(lambda f: f.group_by("g").agg(total=qv.sum("v")).sort("g"), engine=engine)
    out = df.pipe(st)
    assert isinstance(out, pl.DataFrame)
    ref = df.group_by("g").agg(pl.col("v").sum().alias("total")).sort("g")
    assert out.to_dict(as_series=False) == ref.to_dict(as_series=False)
    lazy = df.lazy().pipe(st)
    assert isinstance(lazy, pl.LazyFrame)
    assert lazy.collect().to_dict(as_series=False) == ref.to_dict(as_series=False)


def test_duckdb_query_over_a_quiver_result(engine):
    result = (engine.table("orders").group_by("o_orderstatus")
              .agg(n=qv.count(), total=qv.sum("o_totalprice")).collect())  # noqa: F841
    got = duckdb.sql("select o_orderstatus, n, total from result order by o_orderstatus"
                     ).fetchall()
    orders = engine.get("orders").to_arrow()  # noqa: F841
    ref = duckdb.sql("select o_orderstatus, count(*), sum(o_totalprice) from orders "
                     "group by 1 order by 1").fetchall()
    assert got == ref
    rel_out = qv.stage(lambda f: f.filter(qv.col("n") > 0), engine=engine)(
        duckdb.sql("select * from result"))
    assert isinstance(rel_out, duckdb.DuckDBPyRelation)
    assert sorted(rel_out.fetchall()) == sorted(duckdb.sql("select * from result").fetchall())


def test_streaming_stage_processes_batches_as_they_come(engine):
    """The producer refuses to go past batch 10 until the consumer has seen output: a stage that
    materialized its input first would stall here (detected by the timeout flag)."""
    first_output_seen = threading.Event()
    stalled = []

    def produce():
        for i in range(20):
            if i == 10 and not first_output_seen.wait(timeout=10):
                stalled.append(i)
            yield pa.record_batch({"x": np.arange(i * 100, (i + 1) * 100, dtype=np.int64)})

    reader = pa.RecordBatchReader.from_batches(pa.schema([("x", pa.int64())]), produce())
    st = qv.stage(lambda f: f.filter(qv.col("x") % 2 == 0).select(y=qv.col("x") * 10),
                  engine=engine)
    out = st(reader)
    assert isinstance(out, pa.RecordBatchReader)
    first = out.read_next_batch()
    first_output_seen.set()
    rest = out.read_all()
    assert not stalled, "the stage read its whole input before producing output"
    ys = first.column(0).to_pylist() + rest.column(0).to_pylist()
    assert ys == [x * 10 for x in range(2000) if x % 2 == 0]
