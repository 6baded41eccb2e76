"""In-process queries in a Python process that holds many objects, with and without JPype's
coupling of the Python and Java garbage collectors (``qv.local(link_gc=...)``).

JPype, left alone, runs a full Python ``gc.collect()`` after every Java collection, on its own
thread and holding the GIL; its cost grows with the number of Python objects alive, which a
Quiver user's pipeline decides, not Quiver. Each setting runs in fresh processes, alternating.

    python benchmarks/gc_coupling.py [--objects N] [--queries Q] [--rounds R]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent("""
    import gc, json, sys, time
    import numpy as np, pyarrow as pa, quiver as qv
    link_gc, objects, queries = json.loads(sys.argv[1])
    eng = qv.local(link_gc=link_gc)
    state = [(i, [i]) for i in range(objects)]  # the user's own Python objects
    rng = np.random.default_rng(0)
    f = eng.from_arrow(pa.table({"k": rng.integers(0, 100_000, 2_000_000),
                                 "v": rng.random(2_000_000)}))
    q = f.group_by("k").agg(s=qv.col("v").sum())
    for _ in range(10):
        q.collect()
    full_before = gc.get_stats()[2]["collections"]
    times = []
    start = time.perf_counter()
    for _ in range(queries):
        t0 = time.perf_counter()
        q.collect()
        times.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    times.sort()
    t0 = time.perf_counter()
    gc.collect()
    one_full = time.perf_counter() - t0
    print(json.dumps({"total_ms": total * 1e3, "median_ms": times[len(times) // 2] * 1e3,
                      "max_ms": times[-1] * 1e3,
                      "full_python_collections": gc.get_stats()[2]["collections"] - full_before - 1,
                      "one_full_collection_ms": one_full * 1e3}))
""")


def run(link_gc: bool, objects: int, queries: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO / "py"))
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps([link_gc, objects, queries])],
                          capture_output=True, text=True, env=env, timeout=600, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objects", type=int, default=3_000_000)
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    print(f"{a.queries} group-bys (2M rows, 100K groups) with {a.objects:,} Python objects alive")
    for r in range(a.rounds):
        for link_gc in ((True, False) if r % 2 == 0 else (False, True)):
            m = run(link_gc, a.objects, a.queries)
            print(f"link_gc={link_gc!s:5}  total {m['total_ms']:7,.0f} ms  median "
                  f"{m['median_ms']:6.1f} ms  max {m['max_ms']:6.1f} ms  forced full Python "
                  f"collections {m['full_python_collections']:3d}  (one takes "
                  f"{m['one_full_collection_ms']:.0f} ms)", flush=True)


if __name__ == "__main__":
    main()
