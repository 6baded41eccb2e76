"""Handoff time of an int64 + float64 table between Python and the in-process JVM.

Both directions, at 1M, 10M and 100M rows, Quiver's bridge against:

(a) Arrow Java's stock C Data path (``Data.importArrayStream`` / ``Data.exportVectorSchemaRoot``):
    zero-copy too, but it allocates validity bitmaps on import and counts nulls on export, so it
    does work proportional to the rows;
(b) Arrow IPC serialize + deserialize through an OS pipe (how Spark feeds its Python workers);
(c) pickling the pandas frame (``pickle.dumps`` + ``pickle.loads``): what crossing a process
    boundary without Arrow costs; the same figure stands for both directions.

A "handoff" ends when the receiving side holds the data in its native form: Java vectors in a
loaded ``VectorSchemaRoot`` (Python -> Java), a ``pyarrow.Table`` (Java -> Python).

    PYTHONPATH=py .venv/bin/python benchmarks/handoff.py            # 1M, 10M, 100M
    PYTHONPATH=py .venv/bin/python benchmarks/handoff.py --quick    # 1M, 10M

Prints a table of medians and ratios (peer / Quiver; > 1 means Quiver is faster) and, when the
shared harness is present, writes ``benchmarks/results/handoff.json`` for ``report.py``.
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import os
import pickle
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "py"))

import quiver as qv  # noqa: E402
from quiver import _bridge  # noqa: E402

try:  # the shared benchmark harness (benchmarks/harness.py), when this tree has it
    import harness  # type: ignore
except ImportError:  # pragma: no cover
    harness = None


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        runs.append(time.perf_counter() - t0)
        del out
    return runs


class Systems:
    """The handoff implementations, over one engine and one dataset per size."""

    def __init__(self, eng: Any) -> None:
        import jpype

        self.eng = eng
        self.jpype = jpype
        self.Data = jpype.JClass("org.apache.arrow.c.Data")
        self.ArrowArrayStream = jpype.JClass("org.apache.arrow.c.ArrowArrayStream")
        self.ArrowArray = jpype.JClass("org.apache.arrow.c.ArrowArray")
        self.ArrowSchema = jpype.JClass("org.apache.arrow.c.ArrowSchema")
        self.FileInputStream = jpype.JClass("java.io.FileInputStream")
        self.FileOutputStream = jpype.JClass("java.io.FileOutputStream")
        self.ArrowStreamReader = jpype.JClass("org.apache.arrow.vector.ipc.ArrowStreamReader")
        self.ArrowStreamWriter = jpype.JClass("org.apache.arrow.vector.ipc.ArrowStreamWriter")
        self.allocator = eng.memory.child("bench:handoff")

    # -- Python -> Java -----------------------------------------------------------------------
    def quiver_to_java(self, table: pa.Table) -> int:
        reader = self.eng.to_java(table)
        rows = 0
        while reader.loadNextBatch():
            rows += reader.getVectorSchemaRoot().getRowCount()
        reader.close()
        return rows

    def stock_to_java(self, table: pa.Table) -> int:
        capsule = table.__arrow_c_stream__()
        address = _bridge._capsule_pointer(capsule, b"arrow_array_stream")
        reader = self.Data.importArrayStream(self.allocator, self.ArrowArrayStream.wrap(address))
        rows = 0
        while reader.loadNextBatch():
            rows += reader.getVectorSchemaRoot().getRowCount()
        reader.close()
        return rows

    def ipc_to_java(self, table: pa.Table) -> int:
        r, w = os.pipe()

        def write() -> None:
            with os.fdopen(w, "wb", buffering=1 << 20) as sink:
                with pa.ipc.new_stream(sink, table.schema) as writer:
                    writer.write_table(table)

        writer = threading.Thread(target=write)
        writer.start()
        stream = self.FileInputStream(f"/proc/self/fd/{r}")
        reader = self.ArrowStreamReader(stream, self.allocator)
        rows = 0
        while reader.loadNextBatch():  # JPype releases the GIL: the writer thread runs
            rows += reader.getVectorSchemaRoot().getRowCount()
        reader.close()
        writer.join()
        os.close(r)
        return rows

    # -- Java -> Python -----------------------------------------------------------------------
    def quiver_to_python(self, name: str) -> pa.Table:
        return self.eng.get(name).to_arrow()

    def stock_to_python(self, name: str) -> pa.Table:
        ds = self.eng.catalog.get(name)
        try:
            schema_holder = (ctypes.c_uint8 * 72)()
            self.Data.exportSchema(self.allocator, ds.schema(), ds.dictionaries(),
                                   self.ArrowSchema.wrap(ctypes.addressof(schema_holder)))
            schema = pa.Schema._import_from_c(ctypes.addressof(schema_holder))
            batches = []
            for root in ds.batches():
                holder = (ctypes.c_uint8 * 80)()
                self.Data.exportVectorSchemaRoot(self.allocator, root, ds.dictionaries(),
                                                 self.ArrowArray.wrap(ctypes.addressof(holder)))
                batches.append(pa.RecordBatch._import_from_c(ctypes.addressof(holder), schema))
            return pa.Table.from_batches(batches, schema)
        finally:
            ds.close()

    def ipc_to_python(self, name: str) -> pa.Table:
        r, w = os.pipe()
        ds = self.eng.catalog.get(name)
        error: list[BaseException] = []

        def write() -> None:
            try:
                out = self.FileOutputStream(f"/proc/self/fd/{w}")
                for root in ds.batches():
                    writer = self.ArrowStreamWriter(root, ds.dictionaries(), out)
                    writer.start()
                    writer.writeBatch()
                    writer.end()
                    break  # one batch per dataset here
                out.close()
            except BaseException as e:  # surfaced below
                error.append(e)
            finally:
                os.close(w)

        writer = threading.Thread(target=write)
        writer.start()
        with os.fdopen(r, "rb", buffering=1 << 20) as source:
            table = pa.ipc.open_stream(source).read_all()
        writer.join()
        ds.close()
        if error:
            raise error[0]
        return table


def pickle_pandas(df: Any) -> Any:
    return pickle.loads(pickle.dumps(df, protocol=pickle.HIGHEST_PROTOCOL))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="1M and 10M rows only")
    ap.add_argument("--sizes", type=lambda s: [int(float(x)) for x in s.split(",")],
                    help="comma-separated row counts (default 1e6,1e7,1e8)")
    ap.add_argument("--fast-repeat", type=int, default=300, help="runs of the constant-time systems")
    ap.add_argument("--slow-repeat", type=int, default=5, help="runs of the copying systems")
    args = ap.parse_args()
    sizes = args.sizes or ([1_000_000, 10_000_000] if args.quick else
                           [1_000_000, 10_000_000, 100_000_000])

    eng = qv.local(memory_limit="32g")
    sysm = Systems(eng)

    # Warm the JIT on every Java path at a small size (a long-running engine's steady state).
    warm = pa.table({"i": np.arange(10_000, dtype=np.int64), "f": np.arange(10_000.0)})
    eng.put("handoff_warm", warm)
    for _ in range(3000):
        sysm.quiver_to_java(warm)
        sysm.quiver_to_python("handoff_warm")
    for _ in range(300):
        sysm.stock_to_java(warm)
        sysm.stock_to_python("handoff_warm")
    for _ in range(20):
        sysm.ipc_to_java(warm)
        sysm.ipc_to_python("handoff_warm")
    eng.drop("handoff_warm")

    cases: list[dict[str, Any]] = []
    rows_out: list[tuple[str, int, dict[str, float]]] = []
    for rows in sizes:
        table = pa.table({"i": np.arange(rows, dtype=np.int64),
                          "f": np.random.default_rng(rows).random(rows)})
        name = f"handoff_{rows}"
        eng.put(name, table)
        # Correctness, outside the timed region: every system delivers the same table.
        assert sysm.quiver_to_java(table) == rows
        assert sysm.stock_to_java(table) == rows
        assert sysm.ipc_to_java(table) == rows
        for fn in (sysm.quiver_to_python, sysm.stock_to_python, sysm.ipc_to_python):
            assert fn(name).equals(table)
        df = table.to_pandas()
        slow = args.slow_repeat if rows < 50_000_000 else max(3, args.slow_repeat // 2)

        p2j = {
            "quiver": timed(lambda: sysm.quiver_to_java(table), args.fast_repeat),
            "arrow-java stock C Data": timed(lambda: sysm.stock_to_java(table),
                                             max(slow, 20 if rows <= 10_000_000 else slow)),
            "IPC through a pipe": timed(lambda: sysm.ipc_to_java(table), slow),
            "pickle pandas": timed(lambda: pickle_pandas(df), slow),
        }
        j2p = {
            "quiver": timed(lambda: sysm.quiver_to_python(name), args.fast_repeat),
            "arrow-java stock C Data": timed(lambda: sysm.stock_to_python(name),
                                             max(slow, 20 if rows <= 10_000_000 else slow)),
            "IPC through a pipe": timed(lambda: sysm.ipc_to_python(name), slow),
            "pickle pandas": p2j["pickle pandas"],
        }
        for direction, res in (("Python -> Java", p2j), ("Java -> Python", j2p)):
            med = {k: statistics.median(v) for k, v in res.items()}
            rows_out.append((direction, rows, med))
            cases.append({
                "case": f"{direction} {rows:,} rows",
                "params": {"rows": rows, "series": direction},
                "results": {k: {"runs": v, "median": statistics.median(v), "min": min(v),
                                "max": max(v)} for k, v in res.items()},
            })
            print(_line(direction, rows, med), flush=True)
        eng.drop(name)
        del table, df
        gc.collect()

    print()
    print(_table(rows_out))
    print(_constant_time_check(rows_out))
    if harness is not None:
        out = harness.write_result(
            "handoff", "In-process handoff: int64 + float64 table, Python <-> Java", cases,
            unit="s", baseline="quiver",
            notes="Quiver: own C Data importer/exporter, constant time. (a) Arrow Java 19 stock "
                  "C Data; (b) Arrow IPC through an OS pipe; (c) pandas pickle dumps+loads.",
            command="PYTHONPATH=py .venv/bin/python benchmarks/handoff.py " + " ".join(sys.argv[1:]))
        print(f"wrote {out}")
    sysm.allocator.close()


def _fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.3f} s"


def _line(direction: str, rows: int, med: dict[str, float]) -> str:
    base = med["quiver"]
    return f"{direction:15s} {rows:>11,}  " + "  ".join(
        f"{k}={_fmt(v)} ({v / base:,.0f}x)" for k, v in med.items())


def _table(rows_out: list[tuple[str, int, dict[str, float]]]) -> str:
    systems = list(rows_out[0][2])
    head = "| direction | rows | " + " | ".join(systems) + " |"
    sep = "|---|---:|" + "---:|" * len(systems)
    lines = [head, sep]
    for direction, rows, med in rows_out:
        base = med["quiver"]
        cells = [_fmt(med["quiver"])] + [f"{_fmt(med[s])} ({med[s] / base:,.0f}x)"
                                         for s in systems[1:]]
        lines.append(f"| {direction} | {rows:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _constant_time_check(rows_out: list[tuple[str, int, dict[str, float]]]) -> str:
    out = []
    for direction in ("Python -> Java", "Java -> Python"):
        pts = sorted((r, m["quiver"]) for d, r, m in rows_out if d == direction)
        if len(pts) >= 2:
            (r0, t0), (r1, t1) = pts[0], pts[-1]
            out.append(f"{direction}: Quiver {_fmt(t1)} at {r1:,} rows = {t1 / t0:.2f}x its "
                       f"{r0:,}-row time (target: <= 100 µs and <= 1.5x)")
    return "\n".join(out)


if __name__ == "__main__":
    main()
