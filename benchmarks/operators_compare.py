"""Single operators over TPC-H SF1 data: Quiver (in-process, the frame API, 2 threads) against
DuckDB (2 threads) on the same Arrow tables, one line per operator.

TPC-H's queries exercise a few operator shapes; this suite covers the others a data system is
asked for: full sorts and top-k on numbers and strings, distinct and count distinct, LIKE and
substring filters, decimal ranges, IN lists, CASE, string functions, and joins of each kind.
Every Quiver result is checked against DuckDB's in the warm-up (row counts, and the rows
themselves when few) before anything is timed.

    PYTHONPATH=py .venv/bin/python benchmarks/operators_compare.py           # SF1, 5 runs
    PYTHONPATH=py .venv/bin/python benchmarks/operators_compare.py --quick   # SF0.1, 3 runs
    PYTHONPATH=py .venv/bin/python benchmarks/operators_compare.py --views   # string_view text

Writes ``results/operators.json``; with ``--views`` (the strings as tpchgen-cli writes them,
utf8_view, instead of utf8) ``results/operators_views.json``.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "py"))
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
import tpch_compare  # noqa: E402


def cases(eng: Any, qv: Any) -> dict[str, tuple[Callable[[], Any], str]]:
    """Each operator as a Quiver frame and the DuckDB SQL that computes the same rows."""
    c = qv.col
    li = lambda: eng.table("lineitem")  # noqa: E731
    orders = lambda: eng.table("orders")  # noqa: E731
    customer = lambda: eng.table("customer")  # noqa: E731
    return {
        "sort lineitem by a decimal": (
            lambda: li().select("l_orderkey", "l_extendedprice").sort("l_extendedprice").collect(),
            "SELECT l_orderkey, l_extendedprice FROM lineitem ORDER BY l_extendedprice"),
        "sort orders by (string, int)": (
            lambda: orders().select("o_orderkey", "o_clerk").sort("o_clerk", "o_orderkey").collect(),
            "SELECT o_orderkey, o_clerk FROM orders ORDER BY o_clerk, o_orderkey"),
        "sort orders by (string desc, decimal)": (
            lambda: orders().select("o_orderpriority", "o_totalprice", "o_orderkey")
            .sort("o_orderpriority", "o_totalprice", descending=[True, False]).collect(),
            "SELECT o_orderpriority, o_totalprice, o_orderkey FROM orders "
            "ORDER BY o_orderpriority DESC, o_totalprice"),
        "top 100 by a decimal": (  # ties broken by the key, so both orders are one order
            lambda: li().select("l_extendedprice", "l_orderkey", "l_linenumber")
            .sort("l_extendedprice", "l_orderkey", "l_linenumber", descending=[True, False, False])
            .limit(100).collect(),
            "SELECT l_extendedprice, l_orderkey, l_linenumber FROM lineitem "
            "ORDER BY l_extendedprice DESC, l_orderkey, l_linenumber LIMIT 100"),
        "distinct (int, int)": (
            lambda: li().select("l_partkey", "l_suppkey").distinct().collect(),
            "SELECT DISTINCT l_partkey, l_suppkey FROM lineitem"),
        "distinct strings": (
            lambda: orders().select("o_clerk").distinct().collect(),
            "SELECT DISTINCT o_clerk FROM orders"),
        "count distinct int": (
            lambda: li().agg(n=c("l_partkey").n_unique()).collect(),
            "SELECT count(DISTINCT l_partkey) AS n FROM lineitem"),
        "LIKE '%special%'": (
            lambda: li().filter(c("l_comment").str.like("%special%")).select("l_orderkey").collect(),
            "SELECT l_orderkey FROM lineitem WHERE l_comment LIKE '%special%'"),
        "NOT LIKE '%special%requests%'": (
            lambda: orders().filter(~c("o_comment").str.like("%special%requests%"))
            .agg(n=qv.count()).collect(),
            "SELECT count(*) AS n FROM orders WHERE o_comment NOT LIKE '%special%requests%'"),
        "decimal BETWEEN floats": (
            lambda: li().filter(c("l_discount").between(0.05, 0.07)).agg(n=qv.count()).collect(),
            "SELECT count(*) AS n FROM lineitem WHERE l_discount::DOUBLE BETWEEN 0.05 AND 0.07"),
        "string IN list": (
            lambda: li().filter(c("l_shipmode").is_in(["AIR", "MAIL", "SHIP"]))
            .agg(n=qv.count()).collect(),
            "SELECT count(*) AS n FROM lineitem WHERE l_shipmode IN ('AIR', 'MAIL', 'SHIP')"),
        "CASE WHEN sum": (
            lambda: li().select(v=qv.when(c("l_quantity") > 25).then(c("l_extendedprice"))
                                .otherwise(qv.lit(0))).agg(s=c("v").sum()).collect(),
            "SELECT sum(CASE WHEN l_quantity > 25 THEN l_extendedprice ELSE 0 END) AS s "
            "FROM lineitem"),
        "upper + length": (
            lambda: orders().select(u=c("o_comment").str.upper().str.len())
            .agg(s=c("u").sum()).collect(),
            "SELECT sum(length(upper(o_comment))) AS s FROM orders"),
        "group by substring": (
            lambda: orders().group_by(p=c("o_clerk").str.slice(7, 3)).agg(n=qv.count()).collect(),
            "SELECT substring(o_clerk, 7, 3) AS p, count(*) AS n FROM orders GROUP BY p"),
        "group by year()": (
            lambda: orders().group_by(y=c("o_orderdate").dt.year())
            .agg(s=c("o_totalprice").sum()).collect(),
            "SELECT year(o_orderdate) AS y, sum(o_totalprice) AS s FROM orders GROUP BY y"),
        "group by string, stddev": (
            lambda: li().group_by("l_returnflag").agg(s=c("l_extendedprice").std()).collect(),
            "SELECT l_returnflag, stddev_samp(l_extendedprice) AS s FROM lineitem "
            "GROUP BY l_returnflag"),
        "min/max of strings by group": (
            lambda: orders().group_by("o_orderpriority")
            .agg(a=c("o_clerk").min(), b=c("o_comment").max()).collect(),
            "SELECT o_orderpriority, min(o_clerk) AS a, max(o_comment) AS b FROM orders "
            "GROUP BY o_orderpriority"),
        "inner join lineitem x orders": (
            lambda: li().select("l_orderkey", "l_extendedprice")
            .join(orders().select("o_orderkey", "o_orderdate"), left_on="l_orderkey",
                  right_on="o_orderkey").agg(s=c("l_extendedprice").sum(), n=qv.count()).collect(),
            "SELECT sum(l_extendedprice) AS s, count(*) AS n FROM lineitem "
            "JOIN orders ON l_orderkey = o_orderkey"),
        "left join": (
            lambda: orders().select("o_orderkey", "o_custkey")
            .join(customer().select("c_custkey", "c_name"), left_on="o_custkey",
                  right_on="c_custkey", how="left").agg(n=qv.count()).collect(),
            "SELECT count(*) AS n FROM orders LEFT JOIN customer ON o_custkey = c_custkey"),
        "semi join": (
            lambda: orders().join(li().filter(c("l_quantity") > 49).select("l_orderkey"),
                                  left_on="o_orderkey", right_on="l_orderkey", how="semi")
            .agg(n=qv.count()).collect(),
            "SELECT count(*) AS n FROM orders WHERE o_orderkey IN "
            "(SELECT l_orderkey FROM lineitem WHERE l_quantity > 49)"),
        "anti join": (
            lambda: customer().join(orders().select("o_custkey"), left_on="c_custkey",
                                    right_on="o_custkey", how="anti").agg(n=qv.count()).collect(),
            "SELECT count(*) AS n FROM customer WHERE c_custkey NOT IN "
            "(SELECT o_custkey FROM orders)"),
        "join on a string key": (
            lambda: orders().select("o_clerk", "o_orderkey")
            .join(orders().select("o_clerk", "o_totalprice").group_by("o_clerk")
                  .agg(m=c("o_totalprice").max()), on="o_clerk").agg(n=qv.count()).collect(),
            "SELECT count(*) AS n FROM orders o JOIN (SELECT o_clerk, max(o_totalprice) AS m "
            "FROM orders GROUP BY o_clerk) x ON o.o_clerk = x.o_clerk"),
    }


def _rows(t: Any) -> list[tuple]:
    def norm(v: Any) -> Any:
        if isinstance(v, float):
            return round(v, 6) if math.isfinite(v) else v
        try:
            return round(float(v), 6) if hasattr(v, "as_tuple") else v  # decimals
        except (TypeError, ValueError):
            return v
    cols = [t.column(i).to_pylist() for i in range(t.num_columns)]
    return [tuple(norm(c[i]) for c in cols) for i in range(t.num_rows)]


def check_against(expected: Any, name: str) -> Callable[[str, Any], None]:
    """Same row count as DuckDB; for results of at most 1,000 rows the same rows (in any
    order; sorted results in order), values rounded to 6 digits."""
    ordered = "sort" in name or name.startswith("top")
    want = _rows(expected) if expected.num_rows <= 1000 else None

    def check(system: str, out: Any) -> None:
        assert out.num_rows == expected.num_rows, \
            f"{name}: {system} gave {out.num_rows} rows, DuckDB {expected.num_rows}"
        if want is not None and system == "quiver":
            got = _rows(out)
            if not ordered:
                got, exp = sorted(got, key=repr), sorted(want, key=repr)
            else:
                exp = want
            assert len(got) == len(exp) and all(
                all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
                    if isinstance(a, float) and isinstance(b, float) else a == b
                    for a, b in zip(g, e)) for g, e in zip(got, exp)), \
                f"{name}: quiver's rows differ from DuckDB's"
    return check


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sf", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="SF 0.1, 3 runs")
    ap.add_argument("--only", default=None, help="run the cases whose name contains this")
    # As many as tpch_compare.py's: with 5, top-k's timed runs still fell from 80 to 30 ms as
    # the JIT settled (about 16 ms once settled, over a few hundred runs in a row).
    ap.add_argument("--jit-warmup", type=int, default=15,
                    help="at least this many untimed Quiver runs of every case before the rounds")
    ap.add_argument("--jit-budget", type=float, default=8.0,
                    help="most seconds of warm-up per case past --jit-warmup while the JIT "
                         "compiler is busy (harness.warm_up)")
    ap.add_argument("--data-dir", type=Path, default=HERE / "data")
    ap.add_argument("--views", action="store_true",
                    help="keep tpchgen's string_view columns (default: utf8)")
    a = ap.parse_args()
    if a.quick:
        a.sf, a.repeat, a.jit_budget = 0.1, 3, 0.0
    import duckdb

    import quiver as qv

    tables = tpch_compare.load_tables(a.sf, a.data_dir, keep_views=a.views)
    eng = qv.local(memory_limit="16g")
    for name in ("lineitem", "orders", "customer"):
        eng.put(name, tables[name])
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    for name in ("lineitem", "orders", "customer"):
        con.register(name, tables[name])
    results = []
    for name, (frame, sql) in cases(eng, qv).items():
        if a.only and a.only not in name:
            continue
        expected = con.sql(sql).to_arrow_table()
        warm = harness.warm_up([frame], min_rounds=a.jit_warmup, budget_s=a.jit_budget)
        t = harness.measure({"quiver": frame, "duckdb": lambda sql=sql: con.sql(sql).to_arrow_table()},
                            repeat=a.repeat, check=check_against(expected, name))
        print(harness.ratio_line(name, t), flush=True)
        results.append({"case": name, "params": {"sf": a.sf},
                        "results": {k: v.to_json() for k, v in t.items()},
                        "jit_warmup": warm.to_json()})
    layout = "string_view as tpchgen-cli writes them" if a.views else "utf8"
    harness.write_result(
        "operators_views" if a.views else "operators",
        f"Single operators on TPC-H SF{a.sf:g}" + (", strings as string_view" if a.views else "")
        + ": Quiver vs DuckDB", results,
        notes=f"TPC-H SF{a.sf:g} from tpchgen-cli, strings as {layout}, in memory before timing; "
              "Quiver in-process through the frame API (2 threads), DuckDB 2 threads reading the "
              "same Arrow tables, each result read into a pyarrow.Table; Quiver ran each case "
              f"at least {a.jit_warmup} extra times untimed first, then until the JIT compiler "
              f"was nearly idle or {a.jit_budget:g} s had passed (each case's jit_warmup). "
              "Each Quiver result was "
              "checked against DuckDB's before timing.",
        quick=a.quick)


if __name__ == "__main__":
    main()
