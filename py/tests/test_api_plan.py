"""Pure-Python tests of expressions and frames: compilation to the documented JSON plan format
(docs/plan-format.md) and client-side validation. No JVM, no server."""
from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from pathlib import Path

import pyarrow as pa
import pytest

import quiver as qv
from quiver import errors
from quiver.frame import Frame

DOC = Path(__file__).resolve().parents[2] / "docs" / "plan-format.md"

DEC = pa.decimal128(15, 2)
LINEITEM = pa.schema([
    ("l_orderkey", pa.int64()), ("l_partkey", pa.int64()), ("l_suppkey", pa.int64()),
    ("l_linenumber", pa.int32()), ("l_quantity", DEC), ("l_extendedprice", DEC),
    ("l_discount", DEC), ("l_tax", DEC), ("l_returnflag", pa.utf8()),
    ("l_linestatus", pa.utf8()), ("l_shipdate", pa.date32()), ("l_commitdate", pa.date32()),
    ("l_receiptdate", pa.date32()), ("l_shipinstruct", pa.utf8()), ("l_shipmode", pa.utf8()),
    ("l_comment", pa.utf8()),
])


def doc_example(title: str) -> dict:
    """The JSON block that follows the paragraph starting with ``title`` in plan-format.md."""
    text = DOC.read_text()
    start = text.index(title)
    m = re.search(r"```json\n(.*?)```", text[start:], re.S)
    assert m, title
    return json.loads(m.group(1))


def lineitem() -> Frame:
    return Frame.from_schema(LINEITEM, "lineitem")


def q6() -> Frame:
    d = lambda s: qv.lit(s, DEC)  # noqa: E731
    return lineitem().filter(
        qv.col("l_shipdate") >= dt.date(1994, 1, 1),
        qv.col("l_shipdate") < dt.date(1995, 1, 1),
        qv.col("l_discount").between(d("0.05"), d("0.07")),
        qv.col("l_quantity") < d("24"),
    ).agg(qv.sum(qv.col("l_extendedprice") * qv.col("l_discount")).alias("revenue"))


def q1() -> Frame:
    one = qv.lit("1", DEC)
    price, disc, tax = qv.col("l_extendedprice"), qv.col("l_discount"), qv.col("l_tax")
    return (lineitem()
            .filter(qv.col("l_shipdate") <= qv.lit("1998-09-02", "date32"))
            .group_by("l_returnflag", "l_linestatus")
            .agg(qv.sum("l_quantity").alias("sum_qty"),
                 qv.sum("l_extendedprice").alias("sum_base_price"),
                 qv.sum(price * (one - disc)).alias("sum_disc_price"),
                 qv.sum(price * (one - disc) * (one + tax)).alias("sum_charge"),
                 qv.mean("l_quantity").alias("avg_qty"),
                 qv.mean("l_extendedprice").alias("avg_price"),
                 qv.mean("l_discount").alias("avg_disc"),
                 qv.count().alias("count_order"))
            .sort("l_returnflag", "l_linestatus"))


def _normalize_scans(node):
    if isinstance(node, dict):
        out = {k: _normalize_scans(v) for k, v in node.items()}
        if out.get("node") == "scan" and "columns" in out:
            out["columns"] = sorted(out["columns"])
        return out
    if isinstance(node, list):
        return [_normalize_scans(v) for v in node]
    return node


def test_q6_compiles_to_the_documented_plan():
    # the doc lists the scan columns in another order; order of a pruned scan is irrelevant
    assert _normalize_scans(q6().to_plan()) == _normalize_scans(doc_example("TPC-H Q6"))


def test_q6_result_type_matches_the_documented_type():
    assert q6().schema == pa.schema([("revenue", pa.decimal128(38, 4))])


def test_q1_compiles_to_the_documented_plan():
    assert q1().to_plan(prune=False) == doc_example("TPC-H Q1 (")


def test_q1_result_types_match_the_documented_types():
    s = q1().schema
    assert s.names == ["l_returnflag", "l_linestatus", "sum_qty", "sum_base_price",
                       "sum_disc_price", "sum_charge", "avg_qty", "avg_price", "avg_disc",
                       "count_order"]
    assert s.types == [pa.utf8(), pa.utf8(), pa.decimal128(38, 2), pa.decimal128(38, 2),
                       pa.decimal128(38, 4), pa.decimal128(38, 6), pa.float64(), pa.float64(),
                       pa.float64(), pa.int64()]


def test_documented_node_examples_match_frame_output():
    f = lineitem()
    assert f.limit(10, offset=5).to_plan(prune=False)["plan"] == {
        "node": "limit", "input": {"node": "scan", "dataset": "lineitem"}, "limit": 10,
        "offset": 5}
    assert f.distinct().to_plan()["plan"] == {"node": "distinct",
                                              "input": {"node": "scan", "dataset": "lineitem"}}
    orders = Frame.from_schema(pa.schema([("o_orderkey", pa.int64())]), "orders")
    j = orders.join(f, left_on="o_orderkey", right_on="l_orderkey").to_plan(prune=False)["plan"]
    assert {k: j[k] for k in ("node", "type", "left_keys", "right_keys")} == {
        "node": "join", "type": "inner", "left_keys": ["o_orderkey"],
        "right_keys": ["l_orderkey"]}


def test_operators_build_the_engine_functions():
    x = qv.col("x")
    cases = {
        "add": x + 1, "subtract": 1 - x, "multiply": x * 2, "divide": x / 2, "modulo": x % 2,
        "negate": -x, "eq": x == 1, "neq": x != 1, "lt": x < 1, "lte": x <= 1, "gt": x > 1,
        "gte": x >= 1, "and": (x > 1) & (x < 3), "or": (x > 1) | (x < 3), "not": ~(x > 1),
        "is_null": x.is_null(), "is_not_null": x.is_not_null(), "coalesce": x.fill_null(0),
        "in_list": x.is_in([1, 2]), "between": x.between(1, 2), "hash_xxh64": x.hash(),
        "length": qv.col("s").str.len(), "lower": qv.col("s").str.lower(),
        "upper": qv.col("s").str.upper(), "substring": qv.col("s").str.slice(1, 2),
        "starts_with": qv.col("s").str.starts_with("a"),
        "ends_with": qv.col("s").str.ends_with("a"), "contains": qv.col("s").str.contains("a"),
        "like": qv.col("s").str.like("a%"), "sha256": qv.col("s").str.sha256(),
        "year": qv.col("d").dt.year(), "month": qv.col("d").dt.month(),
        "day": qv.col("d").dt.day(), "case_when": qv.when(x > 1).then("a").otherwise("b"),
    }
    for fn, e in cases.items():
        assert e.to_json()["function"] == fn, fn
    # every built-in scalar function has a Pythonic spelling
    assert set(cases) == set(qv.expr.SCALAR_FUNCTIONS)
    schema = pa.schema([("x", pa.int64()), ("s", pa.utf8()), ("d", pa.date32())])
    for fn, e in cases.items():
        e.type_in(schema)  # all well typed


def test_literal_encodings():
    enc = lambda v, t=None: qv.lit(v, t).to_json()  # noqa: E731
    assert enc(True) == {"expr": "literal", "type": "bool", "value": True}
    assert enc(2**60)["value"] == str(2**60)
    assert enc(float("nan"))["value"] == "NaN"
    assert enc(float("-inf"))["value"] == "-Infinity"
    assert enc(dt.date(1994, 1, 1)) == {"expr": "literal", "type": "date32", "value": "1994-01-01"}
    assert enc(b"\x00\x01")["value"] == "AAE="
    assert enc(decimal.Decimal("-12.5"))["type"] == {"name": "decimal128", "precision": 15,
                                                     "scale": 1}
    assert enc(None, "utf8") == {"expr": "literal", "type": "utf8", "value": None}
    ts = enc(dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc))
    assert ts["type"] == {"name": "timestamp", "unit": "us", "tz": "UTC"}
    assert ts["value"] == 1704164645000000
    with pytest.raises(errors.TypeMismatch, match="scale 2"):
        qv.lit("0.055", DEC).to_json()
    with pytest.raises(errors.UnsupportedType):
        qv.lit(object())


def test_unknown_column_is_raised_before_execution_naming_the_column():
    with pytest.raises(errors.ColumnNotFound, match="'l_quantty' not found.*did you mean "
                                                    "'l_quantity'"):
        lineitem().filter(qv.col("l_quantty") > 1)
    with pytest.raises(errors.ColumnNotFound, match="nope"):
        lineitem().group_by("nope").agg(qv.count())
    with pytest.raises(errors.ColumnNotFound, match="zz"):
        lineitem().sort("zz")
    with pytest.raises(KeyError):  # also a KeyError, as Python users expect
        lineitem().select("zz")


def test_unknown_function_and_arity_and_types():
    with pytest.raises(errors.FunctionNotFound, match="'frobnicate'"):
        lineitem().select(qv.expr.Call("frobnicate", [qv.col("l_tax")]).alias("y"))
    with pytest.raises(errors.PlanError, match="'substring' takes 2 to 3"):
        lineitem().select(qv.substring("l_comment").alias("y"))
    with pytest.raises(errors.TypeMismatch, match=r"function 'add' got \(utf8, int64\)"):
        lineitem().select((qv.col("l_comment") + 1).alias("y"))
    with pytest.raises(errors.TypeMismatch, match="filter predicate"):
        lineitem().filter(qv.col("l_tax"))
    with pytest.raises(errors.TypeMismatch, match="aggregate 'sum' got \\(utf8\\)"):
        lineitem().agg(qv.sum("l_comment"))
    with pytest.raises(errors.TypeMismatch, match="join key"):
        lineitem().join(lineitem(), left_on="l_orderkey", right_on="l_comment")
    with pytest.raises(errors.PlanError, match="duplicate output column"):
        lineitem().select("l_tax", qv.col("l_discount").alias("l_tax"))
    with pytest.raises(TypeError, match="no truth value"):
        bool(qv.col("x") > 1)


def test_user_functions_are_left_to_the_engine():
    f = lineitem().with_columns(score=qv.call("score", qv.col("l_tax")))
    assert f.schema.field("score").type == pa.null()  # engine decides the type
    assert f.to_plan()["plan"]["columns"][-1]["expr"] == {
        "expr": "call", "function": "score", "args": [{"expr": "column", "name": "l_tax"}]}
    f.filter(qv.col("score") > 1)  # unknown type does not block further steps


def test_pruning_reads_only_used_columns():
    plan = q1().to_plan()["plan"]
    scan = plan["input"]["input"]["input"]
    assert set(scan["columns"]) == {"l_returnflag", "l_linestatus", "l_quantity",
                                    "l_extendedprice", "l_discount", "l_tax", "l_shipdate"}


def test_join_on_same_name_drops_right_key_and_suffixes_clashes():
    a = Frame.from_schema(pa.schema([("k", pa.int64()), ("v", pa.float64())]), "a")
    b = Frame.from_schema(pa.schema([("k", pa.int32()), ("v", pa.utf8()), ("w", pa.int8())]),
                          "b")
    j = a.join(b, on="k", how="left")
    assert j.schema.names == ["k", "v", "v_right", "w"]
    assert j.schema.field("w").nullable
    semi = a.join(b, on="k", how="semi")
    assert semi.schema.names == ["k", "v"]


def test_sort_then_limit_is_top_k_and_explain_is_readable():
    f = lineitem().sort("l_tax", descending=True, nulls_last=False).limit(5)
    node = f.to_plan(prune=False)["plan"]
    assert node["node"] == "top_k" and node["k"] == 5
    assert node["keys"] == [{"expr": {"expr": "column", "name": "l_tax"}, "order": "desc",
                             "nulls": "first"}]
    assert f.explain().splitlines()[0] == "top_k 5 [l_tax DESC NULLS FIRST]"


def test_with_columns_replaces_in_place():
    s = pa.schema([("a", pa.int64()), ("b", pa.int64())])
    f = Frame.from_schema(s, "t").with_columns(qv.col("a").cast("float64"), c=qv.lit(1))
    assert f.schema.names == ["a", "b", "c"]
    assert f.schema.types == [pa.float64(), pa.int64(), pa.int64()]


def test_running_an_unbound_frame_says_how_to_bind_it():
    with pytest.raises(errors.PlanError, match="not bound to an engine"):
        lineitem().collect()
