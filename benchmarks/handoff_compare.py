"""In-process handoff for ``make bench``: ``benchmarks/handoff.py``'s systems, alternated.

The same four ways of moving an int64 + float64 table between Python and the in-process JVM
as ``handoff.py`` (Quiver's bridge, Arrow Java's stock C Data path, Arrow IPC through a pipe,
pickling the pandas frame), the same warm-up and correctness checks, but timed with
``harness.measure`` so systems alternate round by round (each with its own number of runs:
hundreds for the constant-time paths, a few for the copying ones) instead of one after another.

    PYTHONPATH=py .venv/bin/python benchmarks/handoff_compare.py            # 1M, 10M, 100M rows
    PYTHONPATH=py .venv/bin/python benchmarks/handoff_compare.py --quick    # 1M, 10M rows

Writes ``results/handoff.json`` (cases by ``rows`` and ``series`` = direction).
"""
from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "py"))

import handoff  # noqa: E402  (the bridge helper's benchmark: systems and checks)
import harness  # noqa: E402

import quiver as qv  # noqa: E402

STOCK, IPC, PICKLE = "arrow-java stock C Data", "IPC through a pipe", "pickle pandas"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1M and 10M rows, fewer runs")
    ap.add_argument("--sizes", type=lambda s: [int(float(x)) for x in s.split(",")])
    ap.add_argument("--fast-repeat", type=int, default=300)
    ap.add_argument("--slow-repeat", type=int, default=5)
    args = ap.parse_args()
    if args.quick:
        args.fast_repeat, args.slow_repeat = 50, 3
    sizes = args.sizes or ([1_000_000, 10_000_000] if args.quick else
                           [1_000_000, 10_000_000, 100_000_000])

    eng = qv.local(memory_limit="32g")
    sysm = handoff.Systems(eng)
    warm = pa.table({"i": np.arange(10_000, dtype=np.int64), "f": np.arange(10_000.0)})
    eng.put("handoff_warm", warm)
    for _ in range(3000 if not args.quick else 500):  # JIT: a long-running engine's steady state
        sysm.quiver_to_java(warm)
        sysm.quiver_to_python("handoff_warm")
    for _ in range(300 if not args.quick else 50):
        sysm.stock_to_java(warm)
        sysm.stock_to_python("handoff_warm")
    for _ in range(20 if not args.quick else 5):
        sysm.ipc_to_java(warm)
        sysm.ipc_to_python("handoff_warm")
    eng.drop("handoff_warm")

    cases: list[dict[str, Any]] = []
    for rows in sizes:
        table = pa.table({"i": np.arange(rows, dtype=np.int64),
                          "f": np.random.default_rng(rows).random(rows)})
        name = f"handoff_{rows}"
        eng.put(name, table)
        df = table.to_pandas()
        slow = args.slow_repeat if rows < 50_000_000 else max(3, args.slow_repeat // 2)
        stock = max(slow, 20) if rows <= 10_000_000 else slow
        counts = {"quiver": args.fast_repeat, STOCK: stock, IPC: slow, PICKLE: slow}

        def check_rows(system: str, out: Any) -> None:
            assert out == rows, f"{system} delivered {out} rows, not {rows}"

        def check_table(system: str, out: Any) -> None:
            if system == PICKLE:
                assert out.equals(df), system
            else:
                assert out.equals(table), f"{system} returned a different table"

        p2j = harness.measure({
            "quiver": lambda: sysm.quiver_to_java(table),
            STOCK: lambda: sysm.stock_to_java(table),
            IPC: lambda: sysm.ipc_to_java(table),
            PICKLE: lambda: handoff.pickle_pandas(df),
        }, repeat=counts, check=lambda s, out: check_table(s, out) if s == PICKLE
                                               else check_rows(s, out))
        j2p = harness.measure({
            "quiver": lambda: sysm.quiver_to_python(name),
            STOCK: lambda: sysm.stock_to_python(name),
            IPC: lambda: sysm.ipc_to_python(name),
        }, repeat=counts, check=check_table)
        j2p[PICKLE] = p2j[PICKLE]  # one pickle round trip stands for both directions
        for direction, res in (("Python -> Java", p2j), ("Java -> Python", j2p)):
            print(handoff._line(direction, rows, {k: v.median for k, v in res.items()}),
                  flush=True)
            cases.append({"case": f"{direction} {rows:,} rows",
                          "params": {"rows": rows, "series": direction},
                          "results": {k: v.to_json() for k, v in res.items()}})
        eng.drop(name)
        del table, df
        gc.collect()

    out = harness.write_result(
        "handoff", "In-process handoff: int64 + float64 table, Python <-> Java", cases,
        unit="s", baseline="quiver", quick=args.quick,
        notes="A handoff ends when the receiver holds the data natively: Java vectors in a "
              "loaded VectorSchemaRoot, or a pyarrow.Table. Quiver: its own C Data importer/"
              "exporter (constant time). Peers: (a) Arrow Java 19's stock C Data path; (b) Arrow "
              "IPC through an OS pipe (how Spark feeds Python workers); (c) pandas pickle "
              "dumps+loads (the same figure in both directions). Systems alternate round by round; "
              f"Quiver {args.fast_repeat} runs per size, the stock path at least 20 up to 10M "
              f"rows, the copying paths {args.slow_repeat}.",
        command="PYTHONPATH=py .venv/bin/python benchmarks/handoff_compare.py "
                + " ".join(sys.argv[1:]))
    print(f"wrote {out}")
    sysm.allocator.close()


if __name__ == "__main__":
    main()
