"""Quiver's main job (``make demo``): the same Arrow data, remote and in-process, with proof.

1. Starts the Flight server jar on a free loopback port with TPC-H (scale factor 0.1) generated
   in Java at start-up.
2. Lists its datasets and fetches ``lineitem`` over Flight with a plain ``pyarrow.flight`` client.
3. Hands a Java-made table to Python in-process and prints the buffer addresses on both sides:
   equal addresses mean no byte was copied.
4. Stops the server cleanly (SIGTERM, then waits).
5. The Python API (demo_api.py): a pandas pipeline with a Quiver stage and a Java function
   (examples/java-udf) called both ways, in-process and against a server, same results.
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.flight as flight

ROOT = Path(__file__).resolve().parents[2]


def start_server(jar: Path, scale: float) -> tuple[subprocess.Popen, str]:
    """Starts the server on a free port (``--port 0``) and returns it with its location."""
    cmd = ["java", "-XX:+UseParallelGC", "-jar", str(jar), "--host", "127.0.0.1", "--port", "0",
           "--tpch-scale", str(scale), "--log-level", "WARN", "--no-access-log"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 180
    assert proc.stdout is not None
    for line in proc.stdout:
        m = re.search(r"listening on (\S+)", line)
        if m:
            return proc, m.group(1).replace("grpc+tcp://", "grpc://")
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise SystemExit(f"server did not start: {' '.join(cmd)}")


def stop_server(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def remote_part(location: str) -> None:
    client = flight.connect(location)
    print(f"\n== Remote: Arrow Flight at {location}")
    print(f"{'dataset':<10} {'rows':>10} {'bytes':>12}")
    for info in sorted(client.list_flights(), key=lambda i: i.descriptor.path[0]):
        name = info.descriptor.path[0].decode()
        print(f"{name:<10} {info.total_records:>10,} {info.total_bytes:>12,}")

    t0 = time.perf_counter()
    info = client.get_flight_info(flight.FlightDescriptor.for_path("lineitem"))
    table = pa.concat_tables(
        client.do_get(ep.ticket).read_all() for ep in info.endpoints)
    dt = time.perf_counter() - t0
    print(f"DoGet lineitem: {table.num_rows:,} rows, {table.nbytes / 1e6:,.1f} MB in "
          f"{dt * 1e3:,.1f} ms ({table.nbytes / 1e6 / dt:,.0f} MB/s) over "
          f"{len(info.endpoints)} endpoint(s)")
    client.close()
    return table


def tpch_q1():
    """TPC-H Q1 written with Quiver's frame API (compiles to the engine's JSON plan)."""
    import quiver as qv

    dec = qv.lit("1", "decimal128(15,2)")
    price, disc, tax = qv.col("l_extendedprice"), qv.col("l_discount"), qv.col("l_tax")
    return lambda eng: (
        eng.table("lineitem")
        .filter(qv.col("l_shipdate") <= qv.lit("1998-09-02", "date32"))
        .group_by("l_returnflag", "l_linestatus")
        .agg(qv.sum("l_quantity").alias("sum_qty"),
             qv.sum("l_extendedprice").alias("sum_base_price"),
             qv.sum(price * (dec - disc)).alias("sum_disc_price"),
             qv.sum(price * (dec - disc) * (dec + tax)).alias("sum_charge"),
             qv.mean("l_quantity").alias("avg_qty"),
             qv.mean("l_extendedprice").alias("avg_price"),
             qv.mean("l_discount").alias("avg_disc"),
             qv.count().alias("count_order"))
        .sort("l_returnflag", "l_linestatus"))


TPCH_Q1_SQL = """
select l_returnflag, l_linestatus, sum(l_quantity) as sum_qty,
       sum(l_extendedprice) as sum_base_price,
       sum(l_extendedprice * (1 - l_discount)) as sum_disc_price,
       sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) as sum_charge,
       avg(l_quantity) as avg_qty, avg(l_extendedprice) as avg_price,
       avg(l_discount) as avg_disc, count(*) as count_order
from lineitem where l_shipdate <= date '1998-09-02'
group by l_returnflag, l_linestatus order by l_returnflag, l_linestatus
"""


def remote_query_part(location: str, lineitem: pa.Table) -> None:
    import duckdb

    import quiver as qv

    eng = qv.connect(location)
    try:
        frame = tpch_q1()(eng)
        timings = []
        for _ in range(3):
            t0 = time.perf_counter()
            result = frame.collect()
            timings.append(time.perf_counter() - t0)
        print(f"\nTPC-H Q1 on the server (frame API -> JSON plan -> Java engine): "
              f"{min(timings) * 1e3:.1f} ms (first run {timings[0] * 1e3:.1f} ms)")
        print(result.to_pandas().to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
        con = duckdb.connect()
        con.register("lineitem", lineitem)
        t0 = time.perf_counter()
        expected = con.sql(TPCH_Q1_SQL).to_arrow_table()
        dt = time.perf_counter() - t0
        same = all(
            result.column(i).to_pylist() == expected.column(i).to_pylist()
            for i in (0, 1, 2, 3, 4, 5, 9))
        print(f"DuckDB on the fetched lineitem: {dt * 1e3:.1f} ms; exact columns agree: {same}")
        if not same:
            raise SystemExit("Q1 result differs from DuckDB")
    finally:
        eng.close()


def in_process_part(scale: float, rows: int) -> None:
    import jpype

    import quiver as qv
    from quiver._local import handoff_proof

    print("\n== In-process: the JVM inside this Python process (JPype + Arrow C Data Interface)")
    t0 = time.perf_counter()
    eng = qv.local()
    print(f"JVM started in {time.perf_counter() - t0:.1f} s")

    # A Java-made table: TPC-H lineitem generated by Java code into the in-process catalog.
    TpchGenerator = jpype.JClass("dev.quiver.engine.tpch.TpchGenerator")
    t0 = time.perf_counter()
    TpchGenerator(scale).load(eng.catalog, "lineitem")
    print(f"Java generated lineitem (sf={scale}) in {time.perf_counter() - t0:.1f} s")
    java_ds = eng.catalog.get("lineitem")
    try:
        first = java_ds.batches().get(0)
        java_addr = int(first.getVector("l_orderkey").getDataBuffer().memoryAddress())
        java_str_addr = int(first.getVector("l_comment").getDataBuffer().memoryAddress())
    finally:
        java_ds.close()
    timings = []
    for _ in range(3):  # the first crossing also loads and JIT-compiles the bridge
        t0 = time.perf_counter()
        result = eng.get("lineitem")
        table = result.to_arrow()
        timings.append(time.perf_counter() - t0)
    py_chunk = table.column("l_orderkey").chunk(0)
    py_addr = py_chunk.buffers()[1].address
    py_str_addr = table.column("l_comment").chunk(0).buffers()[2].address
    print(f"Java -> Python: {table.num_rows:,} rows, {table.nbytes / 1e6:,.1f} MB as a "
          f"pyarrow.Table in {min(timings) * 1e3:.2f} ms warm ({timings[0] * 1e3:.1f} ms cold)")
    print(f"  l_orderkey values: Java {java_addr:#x}  Python {py_addr:#x}  "
          f"{'same memory' if java_addr == py_addr else 'COPIED'}")
    print(f"  l_comment bytes:   Java {java_str_addr:#x}  Python {py_str_addr:#x}  "
          f"{'same memory' if java_str_addr == py_str_addr else 'COPIED'}")
    del table, result, py_chunk
    eng.drop("lineitem")

    # Both directions at a size where a copy could not hide: int64 + float64, `rows` rows.
    proof = handoff_proof(rows, eng)
    print(f"Round trip: {proof}")
    if not proof.zero_copy or java_addr != py_addr or java_str_addr != py_str_addr:
        raise SystemExit("zero-copy proof failed: buffers were copied")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server-jar", type=Path,
                    default=ROOT / "flight-server" / "target" / "quiver-server.jar")
    ap.add_argument("--scale", type=float, default=0.1, help="TPC-H scale factor (default 0.1)")
    ap.add_argument("--rows", type=int, default=10_000_000,
                    help="rows of the Java-made table handed to Python in-process")
    args = ap.parse_args()

    t0 = time.perf_counter()
    proc, location = start_server(args.server_jar, args.scale)
    print(f"server started in {time.perf_counter() - t0:.1f} s (TPC-H sf={args.scale} generated in Java)")
    try:
        lineitem = remote_part(location)
        remote_query_part(location, lineitem)
    finally:
        code = stop_server(proc)
        print(f"\nserver stopped by SIGTERM after draining (exit code {code})")
    in_process_part(args.scale, args.rows)
    # The Python API: a pandas pipeline stage and a Java function, in both modes.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from demo_api import api_part

    api_part(args.server_jar)
    return 0


if __name__ == "__main__":
    sys.exit(main())
