"""Handoffs from several Python threads at once; Java calls release the GIL."""
from __future__ import annotations

import gc
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import jpype
import numpy as np
import pyarrow as pa
import pytest

import quiver as qv


@pytest.fixture(scope="module")
def eng():
    return qv.local()


def test_concurrent_handoffs_both_ways(eng):
    def work(k: int) -> int:
        x = np.arange(k * 1000, k * 1000 + 5000, dtype=np.int64)
        name = f"thr_{k}"
        done = 0
        for j in range(60):
            reader = eng.to_java({"x": x, "s": pa.array([str(v) for v in x[:50]] * 100)})
            assert reader.loadNextBatch()
            assert reader.getVectorSchemaRoot().getVector("x").get(4999) == x[-1]
            reader.close()
            eng.put(name, {"x": x + j})
            got = eng.get(name).to_numpy()
            assert got[0] == x[0] + j and got[-1] == x[-1] + j
            done += 1
        eng.drop(name)
        return done

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sum(pool.map(work, range(8))) == 8 * 60
    gc.collect()
    eng.release_caches()
    assert eng.stats()["allocated_bytes"] == 0, eng.describe_memory()


def test_one_result_read_from_many_threads(eng):
    t = pa.table({"x": np.arange(100_000.0)})
    eng.put("thr_shared", t)
    result = eng.get("thr_shared")
    with ThreadPoolExecutor(max_workers=6) as pool:
        tables = list(pool.map(lambda _: result.to_arrow(), range(12)))
    assert all(tb is tables[0] for tb in tables)  # read once, shared
    assert tables[0].equals(t)
    del tables, result
    eng.drop("thr_shared")
    gc.collect()
    eng.release_caches()
    assert eng.stats()["allocated_bytes"] == 0


def test_java_calls_release_the_gil(eng):
    Thread = jpype.JClass("java.lang.Thread")
    ticks = 0
    stop = threading.Event()

    def count():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    counter = threading.Thread(target=count)
    counter.start()
    time.sleep(0.05)
    before = ticks
    Thread.sleep(400)  # a long Java call on this thread
    during = ticks - before
    stop.set()
    counter.join()
    # With the GIL held for 400 ms the counter could only run in the interpreter's switch
    # slices around the call; released, it runs the whole time.
    assert during > 100_000, f"the counting thread advanced only {during} times"
