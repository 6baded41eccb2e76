"""Arrow Flight throughput and memory, Quiver's server against PyArrow's ``FlightServerBase``
(C++ underneath), swept over the batch size, for ``make bench``.

A thin driver over ``benchmarks/flight_throughput.py`` (its table, servers and client
operations): the differences are that both servers run in their own process (so the PyArrow
server does not share the client's interpreter and each server's memory can be read), that the
table is re-chunked to several batch sizes, that systems are timed with ``harness.measure``, and
that memory is probed: each server's peak RSS rise during one call of each operation (fresh
servers holding only the table), and for Quiver the allocator high-water mark from its ``stats``
action.

    PYTHONPATH=py .venv/bin/python benchmarks/flight_compare.py            # 10M rows
    PYTHONPATH=py .venv/bin/python benchmarks/flight_compare.py --quick    # 1M rows

Writes ``results/flight.json`` (MB/s of Arrow buffer bytes; ``params.batch_rows`` per case).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa
import pyarrow.flight as flight

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "py"))

import harness  # noqa: E402

OPS = ["doget", "doput", "doexchange", "doget_parallel"]


def _ft():
    import flight_throughput  # the Flight helper's benchmark module

    return flight_throughput


# ---- the PyArrow server, in its own process --------------------------------------------------

def serve_pyarrow(endpoints: int) -> None:
    ft = _ft()
    server = ft.PyArrowServer("grpc://127.0.0.1:0", endpoints)
    print(f"port {server.port}", flush=True)
    threading.Thread(target=server.serve, daemon=True).start()
    sys.stdin.read()  # until the parent closes our stdin
    server.shutdown()


class PyArrowProcess:
    def __init__(self, endpoints: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-pyarrow", "--endpoints", str(endpoints)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("port "):
            self.proc.kill()
            raise RuntimeError(f"PyArrow Flight server did not start: {line!r}")
        self.location = f"grpc://127.0.0.1:{int(line.split()[1])}"
        self.pid = self.proc.pid

    def stop(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class QuiverServer:
    def __init__(self, table_bytes: int, endpoints: int) -> None:
        ft = _ft()
        partition = int(table_bytes / endpoints) + 1
        self.inner = ft.QuiverProcess("--partition-size", str(partition), "--memory-limit", "4g")
        self.location = self.inner.location
        self.pid = self.inner.proc.pid

    def stats(self) -> dict[str, Any]:
        c = flight.connect(self.location)
        try:
            return json.loads(next(iter(c.do_action(flight.Action("stats", b"")))).body.to_pybytes())
        finally:
            c.close()

    def stop(self) -> None:
        self.inner.stop()


def operations(location: str, table: pa.Table) -> dict[str, Callable[[], Any]]:
    ft = _ft()
    ident = flight.FlightDescriptor.for_command(ft.IDENTITY)
    return {
        "doget": lambda: ft.do_get(location, b"bench"),
        "doput": lambda: ft.do_put(location, "bench_put", table),
        "doexchange": lambda: ft.do_exchange(location, ident, table),
        "doget_parallel": lambda: ft.parallel_get(location, "bench"),
    }


def drop(location: str, name: str) -> None:
    c = flight.connect(location)
    try:
        list(c.do_action(flight.Action("drop", name.encode())))
    except (flight.FlightError, pa.ArrowException):
        pass
    finally:
        c.close()


def memory_phase(table: pa.Table, endpoints: int) -> dict[str, dict[str, dict[str, int]]]:
    """Per operation, fresh servers holding only the table: each server's peak RSS rise during
    one call, and Quiver's allocator high-water mark (absolute and above the stored table)."""
    ft = _ft()
    out: dict[str, dict[str, dict[str, int]]] = {}
    for op in OPS:
        q = QuiverServer(table.nbytes, endpoints)
        p = PyArrowProcess(endpoints)
        try:
            out[op] = {}
            for name, srv in (("quiver", q), ("pyarrow_cpp", p)):
                ft.do_put(srv.location, "bench", table)
                fn = operations(srv.location, table)[op]
                fn()  # warm: the first call pays class loading / JIT
                if op == "doput":
                    drop(srv.location, "bench_put")
                time.sleep(0.2)
                m = harness.memory_probe(fn, pid=srv.pid)
                if name == "quiver":
                    st = q.stats()
                    m["java_peak_bytes"] = int(st["peak_bytes"])
                    m["java_dataset_bytes"] = int(st["dataset_bytes"])
                out[op][name] = m
        finally:
            q.stop()
            p.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--batch-rows", default="16384,65536,131072,524288",
                    help="comma-separated batch sizes to sweep")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--jit-warmup", type=int, default=40,
                    help="untimed rounds of every operation against both servers first")
    ap.add_argument("--endpoints", type=int, default=4)
    ap.add_argument("--quick", action="store_true", help="1M rows, two batch sizes, 3 runs")
    ap.add_argument("--serve-pyarrow", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_pyarrow:
        serve_pyarrow(args.endpoints)
        return
    if args.quick:
        args.rows, args.batch_rows, args.repeat = 1_000_000, "16384,131072", 3
    sizes = [int(x) for x in args.batch_rows.split(",")]
    default_batch = 131_072 if 131_072 in sizes else sizes[-1]
    ft = _ft()

    cases = []
    base = ft.make_table(args.rows, max(sizes))
    mb = base.nbytes / 1e6
    print(f"table: {base.num_rows:,} rows, {mb:,.1f} MB; batch sizes {sizes}", flush=True)
    q = QuiverServer(base.nbytes, args.endpoints)
    p = PyArrowProcess(args.endpoints)
    locs = {"quiver": q.location, "pyarrow_cpp": p.location}
    try:
        # Both servers get the same untimed traffic first (only the JVM needs it; the C++
        # server's allocator reaches its steady state too).
        for loc in locs.values():
            ft.jit_warmup(loc, args.jit_warmup)
        for batch in sizes:
            table = pa.Table.from_batches(base.to_batches(max_chunksize=batch), base.schema)
            for name, loc in locs.items():
                ft.do_put(loc, "bench", table)
                got = ft.do_get(loc, b"bench")
                assert got.equals(table), f"{name} returned different data"
                del got
            for op in OPS:
                systems = {n: ops[op] for n, ops in
                           ((n, operations(loc, table)) for n, loc in locs.items())}
                t = harness.measure(systems, repeat=args.repeat)
                res = {n: harness.Timing([mb / s for s in v.runs]).to_json() for n, v in t.items()}
                ratio = res["quiver"]["median"] / res["pyarrow_cpp"]["median"]
                print(f"{op:<15} batch {batch:>8,}  quiver {res['quiver']['median']:8,.0f} MB/s  "
                      f"pyarrow_cpp {res['pyarrow_cpp']['median']:8,.0f} MB/s  {ratio:5.2f}x",
                      flush=True)
                cases.append({"case": f"{op} ({batch:,}-row batches)",
                              "params": {"op": op, "batch_rows": batch, "rows": args.rows},
                              "results": res})
                for loc in locs.values():
                    drop(loc, "bench_put")
    finally:
        q.stop()
        p.stop()

    table = pa.Table.from_batches(base.to_batches(max_chunksize=default_batch), base.schema)
    mem = memory_phase(table, args.endpoints)
    for c in cases:
        if c["params"]["batch_rows"] == default_batch:
            c["memory"] = mem[c["params"]["op"]]
    out = harness.write_result(
        "flight", "Arrow Flight: Quiver server vs PyArrow FlightServerBase (C++)", cases,
        unit="MB/s", baseline="quiver", quick=args.quick,
        notes=(f"{args.rows:,} rows (int64, float64, short utf8), {mb:,.0f} MB of Arrow buffers; "
               f"{args.endpoints} endpoints for the parallel DoGet; client and both servers (each "
               "its own process) on one machine, one pyarrow.flight client. DoExchange is the "
               f"identity plan. Both servers first ran {args.jit_warmup} untimed rounds of "
               "every operation on 512K rows in 512-row batches, then two on 1M rows at each "
               "measured batch size (JIT warm-up; C++ needs none). Memory: fresh "
               f"servers holding only the table (uploaded by DoPut), {default_batch:,}-row "
               "batches, one call each; Quiver's allocator high-water mark counts from the server's start, so it includes that upload."),
        command="PYTHONPATH=py .venv/bin/python benchmarks/flight_compare.py " + " ".join(sys.argv[1:]))
    print(f"wrote {out}", flush=True)


if __name__ == "__main__":
    main()
