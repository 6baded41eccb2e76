"""TPC-H Q1 and Q6 in Quiver's engine vs DuckDB, polars, pandas and PyArrow on the same Arrow data,
plus the plain-Python-loop kernels (x*2 over 10M float64; group-by sum of 10M rows, 1,000 keys).

Data: ``tpchgen-cli`` lineitem as Parquet, read once into one in-memory Arrow table that every
system gets (Quiver imports it through the C Stream interface without copying; DuckDB and polars
scan the Arrow buffers; pandas gets a converted frame with only the query columns, decimals as
float64 because pandas has no fast decimal type; PyArrow gets the query columns with string_view
cast to string because its filter kernel lacks string_view). Conversions are not timed. Each measurement: one warm-up, then the median
of ``--runs`` runs. Quiver is timed end to end from Python (plan JSON in, Arrow table out).

Usage::

    PYTHONPATH=py python benchmarks/tpch_bench.py --sf 1 --runs 5
    PYTHONPATH=py python benchmarks/tpch_bench.py --quick        # SF 0.1, 3 runs
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "py" / "tests"))
sys.path.insert(0, str(ROOT / "py"))

import tpch_plans  # noqa: E402
from quiver._jvm import start_jvm  # noqa: E402


def median_ms(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def lineitem(sf: float, data_dir: Path) -> pa.Table:
    out = data_dir / f"sf{sf:g}"
    path = out / "lineitem.parquet"
    if not path.exists():
        out.mkdir(parents=True, exist_ok=True)
        exe = Path(sys.executable).parent / "tpchgen-cli"
        subprocess.run([str(exe), "parquet", "-s", f"{sf:g}", "--tables=lineitem", f"--output-dir={out}"],
                       check=True)
    return pq.read_table(path)


class Quiver:
    """The Java engine in-process; results come back zero-copy over the C Stream interface."""

    def __init__(self, table: pa.Table | None = None, name: str = "lineitem"):
        import jpype

        start_jvm()
        J = jpype.JClass
        self.jpype = jpype
        self.Data = J("org.apache.arrow.c.Data")
        self.Stream = J("org.apache.arrow.c.ArrowArrayStream")
        self.PlanJson = J("dev.quiver.engine.plan.PlanJson")
        self.ExecOptions = J("dev.quiver.engine.exec.ExecOptions")
        self.memory = J("dev.quiver.engine.memory.EngineMemory")(16 << 30)
        self.catalog = J("dev.quiver.engine.dataset.Catalog")(self.memory)
        self.engine = J("dev.quiver.engine.exec.QueryEngine")(self.catalog, self.ExecOptions.defaults())
        if table is not None:
            self.load(name, table)

    def load(self, name: str, table: pa.Table) -> None:
        alloc = self.memory.root()
        stream = self.Stream.allocateNew(alloc)
        table.to_reader()._export_to_c(int(stream.memoryAddress()))
        reader = self.Data.importArrayStream(alloc, stream)
        stream.close()
        builder = self.catalog.newDataset(name, reader.getVectorSchemaRoot().getSchema())
        while reader.loadNextBatch():
            builder.appendTransfer(reader.getVectorSchemaRoot())
        self.catalog.commit(builder.build())
        builder.close()
        reader.close()

    def run(self, plan: dict, threads: int) -> pa.Table:
        logical = self.PlanJson.parse(json.dumps(plan))
        opts = self.ExecOptions.defaults().withThreads(threads)
        if os.environ.get("QUIVER_MORSEL_ROWS"):
            opts = opts.withMorselRows(int(os.environ["QUIVER_MORSEL_ROWS"]))
        alloc = self.memory.root()
        result = self.engine.execute(logical, self.jpype.JClass("java.util.Map").of(), alloc, opts)
        out = self.Stream.allocateNew(alloc)
        self.Data.exportArrayStream(alloc, result, out)
        reader = pa.RecordBatchReader._import_from_c(int(out.memoryAddress()))
        out.close()
        table = reader.read_all()
        self._last = (table, reader, result)
        return table

    def release(self) -> None:
        if getattr(self, "_last", None):
            table, reader, result = self._last
            self._last = None
            del table
            reader.close()
            result.close()

    def timed(self, plan: dict, threads: int):
        def go():
            self.run(plan, threads)
            self.release()
        return go

    def close(self) -> None:
        self.release()
        self.engine.close()
        self.catalog.close()
        self.memory.close()


# ---------------------------------------------------------------- other systems


def duckdb_fn(con, sql, threads):
    def go():
        con.execute(f"SET threads={threads}")
        return con.execute(sql).fetchall()
    return go


def polars_q1(lf):
    import polars as pl

    def go():
        return (lf.filter(pl.col("l_shipdate") <= pl.date(1998, 9, 2))
                .group_by("l_returnflag", "l_linestatus")
                .agg(pl.col("l_quantity").sum().alias("sum_qty"),
                     pl.col("l_extendedprice").sum().alias("sum_base_price"),
                     (pl.col("l_extendedprice") * (1 - pl.col("l_discount"))).sum().alias("sum_disc_price"),
                     (pl.col("l_extendedprice") * (1 - pl.col("l_discount")) * (1 + pl.col("l_tax"))).sum()
                     .alias("sum_charge"),
                     pl.col("l_quantity").cast(pl.Float64).mean().alias("avg_qty"),
                     pl.col("l_extendedprice").cast(pl.Float64).mean().alias("avg_price"),
                     pl.col("l_discount").cast(pl.Float64).mean().alias("avg_disc"),
                     pl.len().alias("count_order"))
                .sort("l_returnflag", "l_linestatus").collect())
    return go


def polars_q6(lf):
    import polars as pl
    from decimal import Decimal

    def go():
        return (lf.filter((pl.col("l_shipdate") >= pl.date(1994, 1, 1)) & (pl.col("l_shipdate") < pl.date(1995, 1, 1))
                          & pl.col("l_discount").is_between(Decimal("0.05"), Decimal("0.07"))
                          & (pl.col("l_quantity") < 24))
                .select((pl.col("l_extendedprice") * pl.col("l_discount")).sum().alias("revenue")).collect())
    return go


def pandas_q1(df):
    import pandas as pd

    def go():
        d = df[df.l_shipdate <= pd.Timestamp("1998-09-02")]
        disc_price = d.l_extendedprice * (1 - d.l_discount)
        d = d.assign(disc_price=disc_price, charge=disc_price * (1 + d.l_tax))
        return (d.groupby(["l_returnflag", "l_linestatus"])
                .agg(sum_qty=("l_quantity", "sum"), sum_base_price=("l_extendedprice", "sum"),
                     sum_disc_price=("disc_price", "sum"), sum_charge=("charge", "sum"),
                     avg_qty=("l_quantity", "mean"), avg_price=("l_extendedprice", "mean"),
                     avg_disc=("l_discount", "mean"), count_order=("l_quantity", "size"))
                .reset_index().sort_values(["l_returnflag", "l_linestatus"]))
    return go


def pandas_q6(df):
    import pandas as pd

    def go():
        m = ((df.l_shipdate >= pd.Timestamp("1994-01-01")) & (df.l_shipdate < pd.Timestamp("1995-01-01"))
             & (df.l_discount >= 0.05) & (df.l_discount <= 0.07) & (df.l_quantity < 24))
        d = df[m]
        return (d.l_extendedprice * d.l_discount).sum()
    return go


def pyarrow_q1(t: pa.Table):
    import datetime as dt

    def go():
        f = t.filter(pc.field("l_shipdate") <= pc.scalar(dt.date(1998, 9, 2)))
        one = pa.scalar(1, pa.decimal128(15, 2))
        disc_price = pc.multiply(f["l_extendedprice"], pc.subtract(one, f["l_discount"]))
        # Arrow's decimal multiply adds precisions (p1 + p2 + 1 <= 38): narrow the operands first.
        charge = pc.multiply(pc.cast(disc_price, pa.decimal128(34, 4)),
                             pc.cast(pc.add(one, f["l_tax"]), pa.decimal128(3, 2)))
        g = pa.table({"l_returnflag": f["l_returnflag"], "l_linestatus": f["l_linestatus"],
                      "q": f["l_quantity"], "p": f["l_extendedprice"], "dp": disc_price, "ch": charge,
                      "d": f["l_discount"]})
        return (g.group_by(["l_returnflag", "l_linestatus"])
                .aggregate([("q", "sum"), ("p", "sum"), ("dp", "sum"), ("ch", "sum"), ("q", "mean"),
                            ("p", "mean"), ("d", "mean"), ("q", "count")])
                .sort_by([("l_returnflag", "ascending"), ("l_linestatus", "ascending")]))
    return go


def pyarrow_q6(t: pa.Table):
    import datetime as dt
    from decimal import Decimal

    def go():
        f = t.filter((pc.field("l_shipdate") >= pc.scalar(dt.date(1994, 1, 1)))
                     & (pc.field("l_shipdate") < pc.scalar(dt.date(1995, 1, 1)))
                     & (pc.field("l_discount") >= pc.scalar(Decimal("0.05")))
                     & (pc.field("l_discount") <= pc.scalar(Decimal("0.07")))
                     & (pc.field("l_quantity") < pc.scalar(Decimal("24"))))
        return pc.sum(pc.multiply(f["l_extendedprice"], f["l_discount"]))
    return go


# ---------------------------------------------------------------- kernels vs a Python loop


def python_loop_kernels(q: Quiver, runs: int, n: int = 10_000_000) -> list[tuple[str, str, float]]:
    import numpy as np

    rng = np.random.default_rng(7)
    x = rng.standard_normal(n)
    keys = rng.integers(0, 1000, n)
    t = pa.table({"x": x, "k": keys})
    q.load("kernels", t)
    xs = x.tolist()
    ks = keys.tolist()

    def loop_double():
        out = [0.0] * len(xs)
        for i in range(len(xs)):
            out[i] = xs[i] * 2
        return out

    def loop_groupby():
        acc: dict[int, float] = {}
        for k, v in zip(ks, xs):
            acc[k] = acc.get(k, 0.0) + v
        return acc

    double_plan = {"version": 1, "plan": {"node": "project", "input": {"node": "scan", "dataset": "kernels"},
                                          "columns": [{"name": "y", "expr": {"expr": "call", "function": "multiply",
                                                       "args": [{"expr": "column", "name": "x"},
                                                                {"expr": "literal", "type": "float64", "value": 2}]}}]}}
    group_plan = {"version": 1, "plan": {"node": "aggregate", "input": {"node": "scan", "dataset": "kernels"},
                                         "group_by": [{"name": "k", "expr": {"expr": "column", "name": "k"}}],
                                         "aggregates": [{"name": "s", "function": "sum",
                                                         "args": [{"expr": "column", "name": "x"}]}]}}
    res = []
    loop_runs = 1  # a 10M-row Python loop takes seconds; one timed run after the warm-up
    res.append(("x*2 (10M f64)", "python loop", median_ms(loop_double, loop_runs)))
    res.append(("x*2 (10M f64)", "quiver 2t", median_ms(q.timed(double_plan, 2), runs)))
    res.append(("group-by sum (10M, 1k keys)", "python loop", median_ms(loop_groupby, loop_runs)))
    res.append(("group-by sum (10M, 1k keys)", "quiver 2t", median_ms(q.timed(group_plan, 2), runs)))
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sf", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="SF 0.1, 3 runs, no Python-loop kernels")
    ap.add_argument("--data-dir", type=Path, default=ROOT / "benchmarks" / "data")
    ap.add_argument("--systems", default="quiver,duckdb,polars,pandas,pyarrow")
    ap.add_argument("--no-kernels", action="store_true")
    ap.add_argument("--markdown", type=Path, help="also write the results table to this file")
    args = ap.parse_args()
    if args.quick:
        args.sf, args.runs, args.no_kernels = 0.1, 3, True
    systems = set(args.systems.split(","))

    table = lineitem(args.sf, args.data_dir)
    print(f"lineitem SF{args.sf:g}: {table.num_rows:,} rows, {table.nbytes / 1e6:,.0f} MB in Arrow", flush=True)
    rows: list[tuple[str, str, float]] = []
    queries = {"Q1": tpch_plans.Q1, "Q6": tpch_plans.Q6}
    sqls = {"Q1": tpch_plans.Q1_SQL, "Q6": tpch_plans.Q6_SQL}

    q = Quiver(table) if "quiver" in systems else None
    if q:
        for name, plan in queries.items():
            for th in (1, 2):
                rows.append((name, f"quiver {th}t", median_ms(q.timed(plan, th), args.runs)))
                print(rows[-1], flush=True)
    if "duckdb" in systems:
        import duckdb

        con = duckdb.connect()
        con.register("lineitem", table)
        for name, sql in sqls.items():
            for th in (1, 2):
                rows.append((name, f"duckdb {th}t", median_ms(duckdb_fn(con, sql, th), args.runs)))
                print(rows[-1], flush=True)
        con.close()
    if "polars" in systems:
        import polars as pl

        lf = pl.from_arrow(table).lazy()
        rows.append(("Q1", f"polars {pl.thread_pool_size()}t", median_ms(polars_q1(lf), args.runs)))
        rows.append(("Q6", f"polars {pl.thread_pool_size()}t", median_ms(polars_q6(lf), args.runs)))
        print(rows[-2:], flush=True)
        del lf
    if "pandas" in systems:
        cols = ["l_returnflag", "l_linestatus", "l_quantity", "l_extendedprice", "l_discount", "l_tax", "l_shipdate"]
        sub = table.select(cols)
        sub = sub.set_column(sub.schema.get_field_index("l_shipdate"), "l_shipdate",
                             pc.cast(sub["l_shipdate"], pa.timestamp("ms")))
        for c in ["l_quantity", "l_extendedprice", "l_discount", "l_tax"]:
            sub = sub.set_column(sub.schema.get_field_index(c), c, pc.cast(sub[c], pa.float64()))
        for c in ["l_returnflag", "l_linestatus"]:
            sub = sub.set_column(sub.schema.get_field_index(c), c, pc.cast(sub[c], pa.string()))
        df = sub.to_pandas()
        rows.append(("Q1", "pandas 1t", median_ms(pandas_q1(df), args.runs)))
        rows.append(("Q6", "pandas 1t", median_ms(pandas_q6(df), args.runs)))
        print(rows[-2:], flush=True)
        del df, sub
    if "pyarrow" in systems:
        # Acero's filter has no string_view kernel yet: give it the query columns with plain strings.
        cols = ["l_returnflag", "l_linestatus", "l_quantity", "l_extendedprice", "l_discount", "l_tax", "l_shipdate"]
        tpa = table.select(cols)
        for c in ["l_returnflag", "l_linestatus"]:
            tpa = tpa.set_column(tpa.schema.get_field_index(c), c, pc.cast(tpa[c], pa.string()))
        rows.append(("Q1", f"pyarrow {pa.cpu_count()}t", median_ms(pyarrow_q1(tpa), args.runs)))
        rows.append(("Q6", f"pyarrow {pa.cpu_count()}t", median_ms(pyarrow_q6(tpa), args.runs)))
        print(rows[-2:], flush=True)

    kernel_rows = []
    if q and not args.no_kernels:
        kernel_rows = python_loop_kernels(q, args.runs)
    if q:
        q.close()

    lines = [f"TPC-H SF{args.sf:g}, lineitem {table.num_rows:,} rows; median of {args.runs} runs after a warm-up; "
             f"{os.cpu_count()} cores", "",
             "| query | system | median ms | vs duckdb 2t | vs quiver 2t |", "|---|---|---:|---:|---:|"]
    for name in queries:
        base = {s: ms for qn, s, ms in rows if qn == name}
        d2 = base.get("duckdb 2t")
        q2 = base.get("quiver 2t")
        for s, ms in base.items():
            lines.append(f"| {name} | {s} | {ms:.1f} | {ms / d2:.2f}x | {ms / q2:.2f}x |" if d2 and q2
                         else f"| {name} | {s} | {ms:.1f} | | |")
    if "quiver 1t" in {s for _, s, _ in rows}:
        for name in queries:
            b = {s: ms for qn, s, ms in rows if qn == name}
            lines.append("")
            lines.append(f"{name} scaling quiver 1t/2t: {b['quiver 1t'] / b['quiver 2t']:.2f}x")
    if kernel_rows:
        lines += ["", "| kernel | system | median ms | speed-up vs python loop |", "|---|---|---:|---:|"]
        for kname in dict.fromkeys(k for k, _, _ in kernel_rows):
            b = {s: ms for k, s, ms in kernel_rows if k == kname}
            for s, ms in b.items():
                lines.append(f"| {kname} | {s} | {ms:.1f} | {b['python loop'] / ms:.1f}x |")
    text = "\n".join(lines)
    print()
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")


if __name__ == "__main__":
    main()
