"""Arrow Flight throughput: the Quiver server (Java) against a PyArrow ``FlightServerBase``
server (C++ underneath), same table, same ``pyarrow.flight`` client, one run.

Measured, each as MB/s of Arrow buffer bytes (median of ``--repeat`` runs, systems interleaved
round by round after a warm-up):

* ``doget``      one stream of the whole table
* ``doput``      upload of the whole table (stored server-side)
* ``doexchange`` identity pipeline stage: batches streamed in and back out concurrently
* ``doget_parallel`` every endpoint of GetFlightInfo fetched on its own connection, in parallel

Usage::

    python benchmarks/flight_throughput.py               # 10M rows, 5 runs
    python benchmarks/flight_throughput.py --rows 1000000 --repeat 3

The table has int64, float64 and short utf8 columns. Quiver gets its data through DoPut (so it
holds the same batches as the PyArrow server) and is started with ``--partition-size`` chosen to
give ``--endpoints`` endpoints; the PyArrow server slices its table into as many endpoints.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.flight as flight

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "py"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from quiver._jar import find_java_home, server_jar  # noqa: E402

IDENTITY = b'{"version":1,"plan":{"node":"input","name":"input"}}'


def make_table(rows: int, batch_rows: int) -> pa.Table:
    rng = np.random.default_rng(42)
    ids = np.arange(rows, dtype=np.int64)
    words = pa.array([f"w{i:03d}" for i in range(1000)])
    text = words.take(pa.array(rng.integers(0, 1000, rows)))
    t = pa.table({"id": ids, "value": rng.random(rows), "tag": text})
    return pa.Table.from_batches(t.to_batches(max_chunksize=batch_rows))


# ---- the C++ comparison server -----------------------------------------------------------------

class PyArrowServer(flight.FlightServerBase):
    """Keeps uploaded tables in memory; identity DoExchange; sliced endpoints."""

    def __init__(self, location: str, endpoints: int):
        super().__init__(location)
        self.tables: dict[str, pa.Table] = {}
        self.endpoints = endpoints

    def do_put(self, context, descriptor, reader, writer):
        self.tables[descriptor.path[0].decode()] = reader.read_all()

    def _parts(self, name: str) -> list[pa.Table]:
        t = self.tables[name]
        batches = t.to_batches()
        n = self.endpoints
        per = -(-len(batches) // n)
        return [pa.Table.from_batches(batches[i:i + per], t.schema)
                for i in range(0, len(batches), per)]

    def get_flight_info(self, context, descriptor):
        name = descriptor.path[0].decode()
        parts = self._parts(name)
        eps = [flight.FlightEndpoint(f"{name}:{i}".encode(), []) for i in range(len(parts))]
        t = self.tables[name]
        return flight.FlightInfo(t.schema, descriptor, eps, t.num_rows, t.nbytes)

    def do_get(self, context, ticket):
        key = ticket.ticket.decode()
        if ":" in key:
            name, i = key.split(":")
            return flight.RecordBatchStream(self._parts(name)[int(i)])
        return flight.RecordBatchStream(self.tables[key])

    def do_exchange(self, context, descriptor, reader, writer):
        started = False
        for chunk in reader:
            if not started:
                writer.begin(reader.schema)
                started = True
            writer.write_batch(chunk.data)
        if not started:
            writer.begin(reader.schema)


# ---- the Quiver server ---------------------------------------------------------------------------

class QuiverProcess:
    def __init__(self, *args: str, jvm_args: list[str] | None = None):
        java = str(find_java_home() / "bin" / "java")
        self.log = tempfile.NamedTemporaryFile(prefix="quiver-bench-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [java, "-Xmx1g", "-XX:+UseParallelGC", *(jvm_args or []), "-jar", str(server_jar()),
             "--port", "0",
             "--no-access-log", *args],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        # JVM flags such as -XX:StartFlightRecording print their own lines first.
        line = self.proc.stdout.readline()
        for _ in range(20):
            if line.startswith("quiver-server listening on ") or not line:
                break
            line = self.proc.stdout.readline()
        if not line.startswith("quiver-server listening on "):
            self.proc.kill()
            raise RuntimeError("quiver server did not start: " + Path(self.log.name).read_text())
        self.location = line.strip().rsplit(" ", 1)[1]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.unlink(self.log.name)


# ---- operations ----------------------------------------------------------------------------------

def do_get(location: str, ticket: bytes) -> pa.Table:
    c = flight.connect(location)
    try:
        return c.do_get(flight.Ticket(ticket)).read_all()
    finally:
        c.close()


def do_put(location: str, name: str, table: pa.Table) -> None:
    c = flight.connect(location)
    try:
        w, r = c.do_put(flight.FlightDescriptor.for_path(name), table.schema)
        w.write_table(table)
        w.done_writing()
        r.read()
        w.close()
    finally:
        c.close()


def do_exchange(location: str, descriptor: flight.FlightDescriptor, table: pa.Table) -> int:
    c = flight.connect(location)
    try:
        w, r = c.do_exchange(descriptor)
        w.begin(table.schema)
        error: list[BaseException] = []

        def send() -> None:
            try:
                for b in table.to_batches():
                    w.write_batch(b)
                w.done_writing()
            except BaseException as e:  # noqa: BLE001
                error.append(e)

        th = threading.Thread(target=send)
        th.start()
        rows = 0
        for chunk in r:
            rows += chunk.data.num_rows
        th.join()
        w.close()
        if error:
            raise error[0]
        return rows
    finally:
        c.close()


def parallel_get(location: str, name: str) -> int:
    c = flight.connect(location)
    info = c.get_flight_info(flight.FlightDescriptor.for_path(name))
    c.close()
    rows = [0] * len(info.endpoints)

    def fetch(i: int) -> None:
        rows[i] = do_get(location, info.endpoints[i].ticket.ticket).num_rows

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(len(info.endpoints))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return sum(rows)


LARGE_WARMUP_BATCHES = (16_384, 65_536, 131_072, 524_288)


def jit_warmup(location: str, rounds: int, batch_rows: int = 512, rows: int = 512_000) -> None:
    """Runs every operation ``rounds`` times against the Quiver server at ``location`` on a small
    table cut into many small batches, from a separate client process, then drops what it stored.

    A server runs for hours, so it is measured compiled. HotSpot compiles a method with C2 after
    ~5,000 calls, and the per-batch paths are called once per batch: full-size rounds (77
    batches of 131,072 rows) left C2 compiling on the two cores during the timed calls (29% of
    the server's CPU in a DoGet profile after 30 such rounds). 1,000 batches of 512 rows per
    round make the calls without the data. The warm-up runs in its own process because its
    thousands of small batches leave the client's malloc slower at large ones afterwards (the
    same client then spent 2.3x the CPU per DoGet, whichever server it read from).

    Two rounds at each measured batch size follow (a 1M-row table): code compiled on small
    messages alone meets its first large ones (multi-buffer bodies, composed socket reads) in
    the timed calls, where C2 then deoptimizes and recompiles it (ad hoc: 195 compilations
    during 8 timed DoExchange calls, the upload path's checks among them still at C1).
    """
    if rounds <= 0:
        return
    subprocess.run([sys.executable, __file__, "--warm-only", location, "--jit-warmup",
                    str(rounds), "--rows", str(rows), "--batch-rows", str(batch_rows)],
                   check=True)


def _warm(location: str, rounds: int, rows: int, batch_rows: int) -> None:
    warm = make_table(rows, batch_rows)
    ident = flight.FlightDescriptor.for_command(IDENTITY)
    do_put(location, "jit_warmup", warm)
    for _ in range(rounds):
        do_get(location, b"jit_warmup")
        do_put(location, "jit_warmup_put", warm)
        do_exchange(location, ident, warm)
        parallel_get(location, "jit_warmup")
    if rounds > 0:
        for batch in LARGE_WARMUP_BATCHES:
            large = make_table(1 << 20, batch)
            for _ in range(2):
                do_put(location, "jit_warmup_large", large)
                do_get(location, b"jit_warmup_large")
                do_exchange(location, ident, large)
    c = flight.connect(location)
    try:
        for name in ("jit_warmup", "jit_warmup_put", "jit_warmup_large"):
            try:
                list(c.do_action(flight.Action("drop", name.encode())))
            except (flight.FlightError, pa.ArrowException):
                pass  # the PyArrow test server has no drop action; its tables are small
    finally:
        c.close()


def measure(systems: dict[str, Callable[[], object]], repeat: int,
            warmup: int = 2) -> dict[str, list[float]]:
    names = list(systems)
    for _ in range(warmup):  # the JVM's JIT needs a couple of rounds; C++ is unaffected
        for n in names:
            systems[n]()
    runs: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeat):
        for n in names[r % 2:] + names[:r % 2]:
            t0 = time.perf_counter()
            systems[n]()
            runs[n].append(time.perf_counter() - t0)
    return runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--batch-rows", type=int, default=131_072)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--endpoints", type=int, default=4)
    ap.add_argument("--compression", default=None, help="also time Quiver DoGet with zstd")
    ap.add_argument("--no-save", action="store_true", help="do not write benchmarks/results")
    ap.add_argument("--cases", default="doget,doput,doexchange,doget_parallel",
                    help="comma-separated subset of the cases")
    ap.add_argument("--server-arg", action="append", default=[],
                    help="extra quiver-server flag, e.g. --server-arg=--flow-window=8m")
    ap.add_argument("--jvm-arg", action="append", default=[], help="extra JVM flag for Quiver")
    ap.add_argument("--jit-warmup", type=int, default=40,
                    help="untimed small-batch rounds of every operation on the Quiver server")
    ap.add_argument("--warm-only", metavar="LOCATION", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.warm_only:
        _warm(args.warm_only, args.jit_warmup, args.rows, args.batch_rows)
        return

    table = make_table(args.rows, args.batch_rows)
    mb = table.nbytes / 1e6
    partition = int(table.nbytes / args.endpoints) + 1
    print(f"table: {table.num_rows:,} rows, {table.num_columns} columns, {mb:,.1f} MB, "
          f"{len(table.to_batches())} batches of {args.batch_rows:,} rows")

    quiver = QuiverProcess("--partition-size", str(partition), "--memory-limit", "4g",
                           *args.server_arg, jvm_args=args.jvm_arg)
    cpp = PyArrowServer("grpc://127.0.0.1:0", args.endpoints)
    cpp_loc = f"grpc://127.0.0.1:{cpp.port}"
    threading.Thread(target=cpp.serve, daemon=True).start()
    locs = {"quiver": quiver.location, "pyarrow_cpp": cpp_loc}
    try:
        jit_warmup(quiver.location, args.jit_warmup)
        for loc in locs.values():
            do_put(loc, "bench", table)
        for name, loc in locs.items():
            got = do_get(loc, b"bench")
            assert got.equals(table), f"{name} returned different data"
        ident = flight.FlightDescriptor.for_command(IDENTITY)
        cases = {
            "doget": {n: (lambda loc=loc: do_get(loc, b"bench")) for n, loc in locs.items()},
            "doput": {n: (lambda loc=loc: do_put(loc, "bench_put", table))
                      for n, loc in locs.items()},
            "doexchange": {n: (lambda loc=loc: do_exchange(loc, ident, table))
                           for n, loc in locs.items()},
            "doget_parallel": {n: (lambda loc=loc: parallel_get(loc, "bench"))
                               for n, loc in locs.items()},
        }
        results = []
        print(f"{'case':<16}{'quiver MB/s':>14}{'pyarrow(C++) MB/s':>20}{'ratio':>8}")
        wanted = args.cases.split(",")
        for case, systems in cases.items():
            if case not in wanted:
                continue
            runs = measure(systems, args.repeat)
            mbps = {n: [mb / s for s in r] for n, r in runs.items()}
            q = statistics.median(mbps["quiver"])
            c = statistics.median(mbps["pyarrow_cpp"])
            print(f"{case:<16}{q:>14,.0f}{c:>20,.0f}{q / c:>8.2f}x", flush=True)
            results.append({"case": case, "params": {"rows": args.rows,
                                                      "batch_rows": args.batch_rows},
                            "results": {n: {"runs": v, "median": statistics.median(v),
                                            "min": min(v), "max": max(v)}
                                        for n, v in mbps.items()}})
        if args.compression:
            ticket = json.dumps({"dataset": "bench", "compression": args.compression}).encode()
            runs = measure({"quiver": lambda: do_get(quiver.location, ticket)}, args.repeat)
            q = statistics.median(mb / s for s in runs["quiver"])
            print(f"doget {args.compression:<10}{q:>14,.0f}{'-':>20}")
        if not args.no_save:
            try:
                import harness  # the lead's shared result writer (benchmarks/harness.py)

                harness.write_result(
                    "flight_throughput", "Arrow Flight throughput: Quiver vs PyArrow (C++)",
                    results, unit="MB/s", baseline="quiver",
                    notes=f"{args.rows:,} rows (int64, float64, short utf8), {mb:,.0f} MB, "
                          f"{args.batch_rows:,}-row batches, {args.endpoints} endpoints; "
                          "client and both servers on one machine")
            except ImportError:
                pass
    finally:
        cpp.shutdown()
        quiver.stop()


if __name__ == "__main__":
    main()
