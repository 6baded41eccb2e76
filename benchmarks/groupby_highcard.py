"""High-cardinality GROUP BY over TPC-H lineitem in memory: Quiver (two threads and one) against
DuckDB (two threads), on the same Arrow table, alternating round by round.

    PYTHONPATH=py .venv/bin/python benchmarks/groupby_highcard.py            # SF1, 5 rounds
    PYTHONPATH=py .venv/bin/python benchmarks/groupby_highcard.py --sf 0.1   # smaller

Prints one line per grouping (median milliseconds and the Quiver ÷ DuckDB ratio); writes
nothing. The groupings: two int64 keys (packed into one value by range, 800K groups at SF1),
an int64 and an int32 key (6M groups), and a string key (4.6M groups). Data comes from
``tpchgen-cli`` through ``tpch_compare.load_tables`` (cached in ``benchmarks/data``).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "py"))

import duckdb  # noqa: E402

import tpch_compare as tc  # noqa: E402


def _col(name: str) -> dict:
    return {"expr": "column", "name": name}


def _plan(keys: list[str], aggregates: list[dict]) -> dict:
    return {"version": 1, "plan": {
        "node": "aggregate", "input": {"node": "scan", "dataset": "lineitem"},
        "group_by": [{"name": k, "expr": _col(k)} for k in keys], "aggregates": aggregates}}


COUNT = {"name": "n", "function": "count", "args": []}
CASES = {
    "l_partkey, l_suppkey": (
        _plan(["l_partkey", "l_suppkey"],
              [COUNT, {"name": "q", "function": "sum", "args": [_col("l_quantity")]}]),
        "select l_partkey, l_suppkey, count(*), sum(l_quantity) from lineitem group by 1, 2"),
    "l_orderkey, l_linenumber": (
        _plan(["l_orderkey", "l_linenumber"], [COUNT]),
        "select l_orderkey, l_linenumber, count(*) from lineitem group by 1, 2"),
    "l_comment": (
        _plan(["l_comment"], [COUNT]),
        "select l_comment, count(*) from lineitem group by 1"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sf", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=3, help="untimed rounds first (JIT warm-up)")
    args = ap.parse_args()

    tables = tc.load_tables(args.sf, HERE / "data")
    li = tables["lineitem"]
    q = tc.Quiver({"lineitem": li})
    con = duckdb.connect()
    con.execute("PRAGMA threads=2")
    con.register("lineitem", li)
    print(f"lineitem {li.num_rows:,} rows (SF{args.sf:g}); median of {args.repeat} rounds",
          flush=True)
    try:
        for name, (plan, sql) in CASES.items():
            times: dict[str, list[float]] = {"quiver": [], "quiver_1t": [], "duckdb": []}
            for r in range(args.warmup + args.repeat):
                t0 = time.perf_counter()
                ours = q.run(plan, 2)
                t1 = time.perf_counter()
                q.run(plan, 1)
                t2 = time.perf_counter()
                theirs = con.sql(sql).to_arrow_table()
                t3 = time.perf_counter()
                if ours.num_rows != theirs.num_rows:
                    raise SystemExit(f"{name}: {ours.num_rows} groups, DuckDB {theirs.num_rows}")
                if r >= args.warmup:
                    times["quiver"].append(t1 - t0)
                    times["quiver_1t"].append(t2 - t1)
                    times["duckdb"].append(t3 - t2)
            m = {k: statistics.median(v) * 1e3 for k, v in times.items()}
            print(f"GROUP BY {name:<26} {ours.num_rows:>10,} groups  quiver {m['quiver']:7.0f} ms  "
                  f"quiver_1t {m['quiver_1t']:7.0f} ms  duckdb {m['duckdb']:7.0f} ms  "
                  f"quiver/duckdb {m['quiver'] / m['duckdb']:.2f}", flush=True)
    finally:
        con.close()
        q.close()


if __name__ == "__main__":
    main()
