"""TPC-H queries 1, 3, 5, 6 and 10 as Quiver JSON plans (docs/plan-format.md), with the SQL
DuckDB runs as the oracle. Shared by the oracle tests and ``benchmarks/tpch_compare.py``.
"""
from __future__ import annotations

from typing import Any

DEC = {"name": "decimal128", "precision": 15, "scale": 2}


def _c(name: str) -> dict[str, Any]:
    return {"expr": "column", "name": name}


def _lit(t: Any, v: Any) -> dict[str, Any]:
    return {"expr": "literal", "type": t, "value": v}


def _call(fn: str, *args: dict[str, Any]) -> dict[str, Any]:
    return {"expr": "call", "function": fn, "args": list(args)}


def _scan(ds: str, *cols: str) -> dict[str, Any]:
    return {"node": "scan", "dataset": ds, "columns": list(cols)}


def _filter(node: dict, pred: dict) -> dict:
    return {"node": "filter", "input": node, "predicate": pred}


def _join(kind: str, left: dict, right: dict, lk: list[str], rk: list[str]) -> dict:
    return {"node": "join", "type": kind, "left": left, "right": right, "left_keys": lk, "right_keys": rk}


def _project(node: dict, *cols: str) -> dict:
    return {"node": "project", "input": node, "columns": [{"name": c, "expr": _c(c)} for c in cols]}


def _disc_price() -> dict:
    return _call("multiply", _c("l_extendedprice"), _call("subtract", _lit(DEC, "1"), _c("l_discount")))


def _date(s: str) -> dict:
    return _lit("date32", s)


Q1 = {"version": 1, "plan": {
    "node": "sort",
    "keys": [{"expr": _c("l_returnflag")}, {"expr": _c("l_linestatus")}],
    "input": {
        "node": "aggregate",
        "input": _filter(
            _scan("lineitem", "l_returnflag", "l_linestatus", "l_quantity", "l_extendedprice",
                  "l_discount", "l_tax", "l_shipdate"),
            _call("lte", _c("l_shipdate"), _date("1998-09-02"))),
        "group_by": [{"name": "l_returnflag", "expr": _c("l_returnflag")},
                     {"name": "l_linestatus", "expr": _c("l_linestatus")}],
        "aggregates": [
            {"name": "sum_qty", "function": "sum", "args": [_c("l_quantity")]},
            {"name": "sum_base_price", "function": "sum", "args": [_c("l_extendedprice")]},
            {"name": "sum_disc_price", "function": "sum", "args": [_disc_price()]},
            {"name": "sum_charge", "function": "sum", "args": [
                _call("multiply", _disc_price(), _call("add", _lit(DEC, "1"), _c("l_tax")))]},
            {"name": "avg_qty", "function": "mean", "args": [_c("l_quantity")]},
            {"name": "avg_price", "function": "mean", "args": [_c("l_extendedprice")]},
            {"name": "avg_disc", "function": "mean", "args": [_c("l_discount")]},
            {"name": "count_order", "function": "count", "args": []},
        ]}}}

Q1_SQL = """
select l_returnflag, l_linestatus, sum(l_quantity) as sum_qty, sum(l_extendedprice) as sum_base_price,
  sum(l_extendedprice * (1 - l_discount)) as sum_disc_price,
  sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) as sum_charge,
  avg(l_quantity) as avg_qty, avg(l_extendedprice) as avg_price, avg(l_discount) as avg_disc,
  count(*) as count_order
from lineitem where l_shipdate <= date '1998-09-02'
group by l_returnflag, l_linestatus order by l_returnflag, l_linestatus
"""

Q6 = {"version": 1, "plan": {
    "node": "aggregate",
    "input": _filter(
        _scan("lineitem", "l_shipdate", "l_discount", "l_quantity", "l_extendedprice"),
        _call("and",
              _call("gte", _c("l_shipdate"), _date("1994-01-01")),
              _call("lt", _c("l_shipdate"), _date("1995-01-01")),
              _call("between", _c("l_discount"), _lit(DEC, "0.05"), _lit(DEC, "0.07")),
              _call("lt", _c("l_quantity"), _lit(DEC, "24")))),
    "group_by": [],
    "aggregates": [{"name": "revenue", "function": "sum",
                    "args": [_call("multiply", _c("l_extendedprice"), _c("l_discount"))]}]}}

Q6_SQL = """
select sum(l_extendedprice * l_discount) as revenue from lineitem
where l_shipdate >= date '1994-01-01' and l_shipdate < date '1995-01-01'
  and l_discount between 0.05 and 0.07 and l_quantity < 24
"""

# Q3: orders of BUILDING customers (semi join), joined with late lineitems.
_q3_orders = _join(
    "semi",
    _filter(_scan("orders", "o_orderkey", "o_custkey", "o_orderdate", "o_shippriority"),
            _call("lt", _c("o_orderdate"), _date("1995-03-15"))),
    _filter(_scan("customer", "c_custkey", "c_mktsegment"),
            _call("eq", _c("c_mktsegment"), _lit("utf8", "BUILDING"))),
    ["o_custkey"], ["c_custkey"])
Q3 = {"version": 1, "plan": {
    "node": "top_k", "k": 10,
    "keys": [{"expr": _c("revenue"), "order": "desc"}, {"expr": _c("o_orderdate")},
             {"expr": _c("l_orderkey")}],
    "input": {
        "node": "aggregate",
        "input": _join("inner",
                       _filter(_scan("lineitem", "l_orderkey", "l_extendedprice", "l_discount", "l_shipdate"),
                               _call("gt", _c("l_shipdate"), _date("1995-03-15"))),
                       _q3_orders, ["l_orderkey"], ["o_orderkey"]),
        "group_by": [{"name": "l_orderkey", "expr": _c("l_orderkey")},
                     {"name": "o_orderdate", "expr": _c("o_orderdate")},
                     {"name": "o_shippriority", "expr": _c("o_shippriority")}],
        "aggregates": [{"name": "revenue", "function": "sum", "args": [_disc_price()]}]}}}

Q3_SQL = """
select l_orderkey, o_orderdate, o_shippriority, sum(l_extendedprice * (1 - l_discount)) as revenue
from customer, orders, lineitem
where c_mktsegment = 'BUILDING' and c_custkey = o_custkey and l_orderkey = o_orderkey
  and o_orderdate < date '1995-03-15' and l_shipdate > date '1995-03-15'
group by l_orderkey, o_orderdate, o_shippriority
order by revenue desc, o_orderdate, l_orderkey limit 10
"""

# Q5: revenue per ASIA nation through local suppliers (two-column join key).
_asia_nations = _join("semi", _scan("nation", "n_nationkey", "n_name", "n_regionkey"),
                      _filter(_scan("region", "r_regionkey", "r_name"),
                              _call("eq", _c("r_name"), _lit("utf8", "ASIA"))),
                      ["n_regionkey"], ["r_regionkey"])
_q5_suppliers = _project(_join("inner", _scan("supplier", "s_suppkey", "s_nationkey"), _asia_nations,
                               ["s_nationkey"], ["n_nationkey"]), "s_suppkey", "s_nationkey", "n_name")
_q5_orders = _project(_join("inner",
                            _filter(_scan("orders", "o_orderkey", "o_custkey", "o_orderdate"),
                                    _call("and", _call("gte", _c("o_orderdate"), _date("1994-01-01")),
                                          _call("lt", _c("o_orderdate"), _date("1995-01-01")))),
                            _scan("customer", "c_custkey", "c_nationkey"), ["o_custkey"], ["c_custkey"]),
                      "o_orderkey", "c_nationkey")
Q5 = {"version": 1, "plan": {
    "node": "sort", "keys": [{"expr": _c("revenue"), "order": "desc"}],
    "input": {
        "node": "aggregate",
        "input": _join("inner",
                       _join("inner", _scan("lineitem", "l_orderkey", "l_suppkey", "l_extendedprice", "l_discount"),
                             _q5_orders, ["l_orderkey"], ["o_orderkey"]),
                       _q5_suppliers, ["l_suppkey", "c_nationkey"], ["s_suppkey", "s_nationkey"]),
        "group_by": [{"name": "n_name", "expr": _c("n_name")}],
        "aggregates": [{"name": "revenue", "function": "sum", "args": [_disc_price()]}]}}}

Q5_SQL = """
select n_name, sum(l_extendedprice * (1 - l_discount)) as revenue
from customer, orders, lineitem, supplier, nation, region
where c_custkey = o_custkey and l_orderkey = o_orderkey and l_suppkey = s_suppkey
  and c_nationkey = s_nationkey and s_nationkey = n_nationkey and n_regionkey = r_regionkey
  and r_name = 'ASIA' and o_orderdate >= date '1994-01-01' and o_orderdate < date '1995-01-01'
group by n_name order by revenue desc
"""

# Q10: returned items per customer in one quarter.
_q10_lines = _project(
    _join("inner",
          _filter(_scan("lineitem", "l_orderkey", "l_extendedprice", "l_discount", "l_returnflag"),
                  _call("eq", _c("l_returnflag"), _lit("utf8", "R"))),
          _filter(_scan("orders", "o_orderkey", "o_custkey", "o_orderdate"),
                  _call("and", _call("gte", _c("o_orderdate"), _date("1993-10-01")),
                        _call("lt", _c("o_orderdate"), _date("1994-01-01")))),
          ["l_orderkey"], ["o_orderkey"]),
    "o_custkey", "l_extendedprice", "l_discount")
_Q10_KEYS = ["c_custkey", "c_name", "c_acctbal", "c_phone", "n_name", "c_address", "c_comment"]
Q10 = {"version": 1, "plan": {
    "node": "top_k", "k": 20,
    "keys": [{"expr": _c("revenue"), "order": "desc"}, {"expr": _c("c_custkey")}],
    "input": {
        "node": "aggregate",
        "input": _join("inner",
                       _join("inner", _q10_lines,
                             _scan("customer", "c_custkey", "c_name", "c_address", "c_nationkey", "c_phone",
                                   "c_acctbal", "c_comment"),
                             ["o_custkey"], ["c_custkey"]),
                       _scan("nation", "n_nationkey", "n_name"), ["c_nationkey"], ["n_nationkey"]),
        "group_by": [{"name": k, "expr": _c(k)} for k in _Q10_KEYS],
        "aggregates": [{"name": "revenue", "function": "sum", "args": [_disc_price()]}]}}}

Q10_SQL = """
select c_custkey, c_name, c_acctbal, c_phone, n_name, c_address, c_comment,
  sum(l_extendedprice * (1 - l_discount)) as revenue
from customer, orders, lineitem, nation
where c_custkey = o_custkey and l_orderkey = o_orderkey and o_orderdate >= date '1993-10-01'
  and o_orderdate < date '1994-01-01' and l_returnflag = 'R' and c_nationkey = n_nationkey
group by c_custkey, c_name, c_acctbal, c_phone, n_name, c_address, c_comment
order by revenue desc, c_custkey limit 20
"""

# Not a TPC-H query: a high-cardinality aggregate (one group per order, 1.5M at SF1), where
# the hash tables outgrow the cache and the per-worker tables must be merged.
PER_ORDER = {"version": 1, "plan": {
    "node": "aggregate",
    "input": _scan("lineitem", "l_orderkey", "l_quantity"),
    "group_by": [{"name": "l_orderkey", "expr": _c("l_orderkey")}],
    "aggregates": [{"name": "sum_qty", "function": "sum", "args": [_c("l_quantity")]},
                   {"name": "lines", "function": "count", "args": []}]}}

PER_ORDER_SQL = """
select l_orderkey, sum(l_quantity) as sum_qty, count(*) as lines from lineitem group by l_orderkey
"""

# Two int64 keys, ~800K groups at SF1: neither dense nor narrow by type (packed by value range).
PER_PART_SUPPLIER = {"version": 1, "plan": {
    "node": "aggregate",
    "input": _scan("lineitem", "l_partkey", "l_suppkey", "l_quantity"),
    "group_by": [{"name": "l_partkey", "expr": _c("l_partkey")},
                 {"name": "l_suppkey", "expr": _c("l_suppkey")}],
    "aggregates": [{"name": "sum_qty", "function": "sum", "args": [_c("l_quantity")]},
                   {"name": "lines", "function": "count", "args": []}]}}

PER_PART_SUPPLIER_SQL = """
select l_partkey, l_suppkey, sum(l_quantity) as sum_qty, count(*) as lines from lineitem
group by l_partkey, l_suppkey
"""

QUERIES = {"q1": (Q1, Q1_SQL), "q3": (Q3, Q3_SQL), "q5": (Q5, Q5_SQL), "q6": (Q6, Q6_SQL),
           "q10": (Q10, Q10_SQL), "per_order": (PER_ORDER, PER_ORDER_SQL),
           "per_part_supplier": (PER_PART_SUPPLIER, PER_PART_SUPPLIER_SQL)}
