"""Lifetimes across the bridge: either side may drop first, nothing leaks, exit is safe."""
from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import weakref
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import quiver as qv

PY_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def eng():
    return qv.local()


def settle(eng) -> int:
    gc.collect()
    eng.release_caches()
    return eng.stats()["allocated_bytes"]


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_java_to_python_python_drops_first(eng):
    eng.put("lt_a", {"x": np.arange(50_000, dtype=np.int64)})
    t = eng.get("lt_a").to_arrow()
    assert eng.stats()["export_bytes"] > 0
    del t
    gc.collect()
    assert eng.stats()["export_bytes"] == 0  # Python's release callbacks ran
    assert eng.get("lt_a").to_arrow().column("x").to_numpy()[-1] == 49_999  # Java still has it
    eng.drop("lt_a")
    assert settle(eng) == 0, eng.describe_memory()


def test_java_to_python_java_drops_first(eng):
    x = np.arange(50_000, dtype=np.float64)
    eng.put("lt_b", {"x": x})
    t = eng.get("lt_b").to_arrow()
    eng.drop("lt_b")  # the catalog lets go; the exported buffers keep the memory alive
    assert not eng.stats()["datasets"] or "lt_b" not in eng
    np.testing.assert_array_equal(t.column("x").to_numpy(), x)
    assert settle(eng) > 0
    del t
    assert settle(eng) == 0, eng.describe_memory()


def test_python_to_java_python_drops_first(eng):
    x = np.arange(100_000, dtype=np.float64) * 2
    alive = weakref.ref(x)
    eng.put("lt_c", {"x": x})
    del x
    gc.collect()
    assert alive() is not None  # Java holds the NumPy buffer through the C release callback
    assert eng.get("lt_c").to_numpy()[-1] == 199_998.0
    eng.drop("lt_c")
    gc.collect()
    assert alive() is None  # Java's last reference gone: Python's memory released
    assert settle(eng) == 0, eng.describe_memory()


def test_python_to_java_java_drops_first(eng):
    x = np.arange(1000, dtype=np.int32)
    alive = weakref.ref(x)
    reader = eng.to_java({"x": x})
    assert reader.loadNextBatch()
    reader.close()
    gc.collect()
    assert alive() is x  # Python's own reference is untouched
    assert x.sum() == 499_500
    del x
    gc.collect()
    assert alive() is None
    assert settle(eng) == 0


def test_round_trip_chain_releases_everything(eng):
    x = np.arange(10_000, dtype=np.int64)
    alive = weakref.ref(x)
    eng.put("lt_d", {"x": x})
    del x
    back = eng.get("lt_d").to_arrow()
    eng.drop("lt_d")
    gc.collect()
    assert alive() is not None  # Python table -> Java export -> Java import -> NumPy
    del back
    gc.collect()
    assert alive() is None
    assert settle(eng) == 0, eng.describe_memory()


LOOP_SCRIPT = textwrap.dedent("""
    import gc, os, numpy as np, pyarrow as pa, quiver as qv
    # A small, pre-touched Java heap (its pages are resident from the start) and the C1 compiler
    # only (it settles its code cache within the warm-up): RSS growth then measures native and
    # Python memory, not the JVM warming up. A leak of even 400 bytes per handoff would show.
    eng = qv.local(heap="96m",
                   jvm_args=("-Xms96m", "-XX:+AlwaysPreTouch", "-XX:TieredStopAtLevel=1"))
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    table = pa.table({"i": np.arange(1000, dtype=np.int64), "f": np.arange(1000.0)})
    eng.put("loop", table)
    def once():
        r = eng.to_java(table)
        assert r.loadNextBatch()
        r.close()
        assert eng.get("loop").to_arrow().num_rows == 1000
    for _ in range(10_000):
        once()
    gc.collect()
    before = rss()
    for _ in range(10_000):
        once()
    gc.collect()
    grown = rss() - before
    eng.drop("loop")
    gc.collect()
    eng.release_caches()
    print(grown, eng.stats()["allocated_bytes"])
""")


def test_ten_thousand_handoffs_each_way_end_at_zero_with_flat_rss():
    env = dict(os.environ, PYTHONPATH=str(PY_DIR))
    proc = subprocess.run([sys.executable, "-c", LOOP_SCRIPT], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    grown, allocated = map(int, proc.stdout.split())
    assert allocated == 0
    assert grown < 4 << 20, f"RSS grew by {grown / 2**20:.1f} MiB over 10,000 handoffs each way"


EXIT_SCRIPT = textwrap.dedent("""
    import threading, numpy as np, pyarrow as pa, quiver as qv
    eng = qv.local()
    eng.put("kept", {"x": np.arange(200_000.0), "s": pa.array([str(i) for i in range(200_000)])})
    KEPT = eng.get("kept").to_arrow()          # Java memory held by Python at exit
    READER = eng.to_java({"y": np.arange(10)})  # Python memory held by Java at exit
    READER.loadNextBatch()
    PENDING = eng.get("kept")                   # an export not read yet
    import duckdb, polars as pl
    R = eng.get("kept")
    PL = pl.DataFrame(R)                        # Polars holds Java memory through PyArrow
    DD = duckdb.sql("select x from R where x < 10").arrow()
    held = []
    def worker():
        held.append(eng.get("kept").to_arrow())
    ts = [threading.Thread(target=worker) for _ in range(4)]
    [t.start() for t in ts]; [t.join() for t in ts]
    print("ok", KEPT.num_rows, len(held))
""")


@pytest.mark.parametrize("attempt", range(2))
def test_interpreter_exit_with_live_exports_is_clean(attempt):
    env = dict(os.environ, PYTHONPATH=str(PY_DIR))
    proc = subprocess.run([sys.executable, "-c", EXIT_SCRIPT], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok 200000 4"
    noise = [line for line in proc.stderr.splitlines() if not line.startswith("SLF4J")]
    assert not [l for l in noise if "WARN" in l or "FATAL" in l or "Error" in l], proc.stderr
