"""Basic in-process bridge behaviour: data crosses both ways, equal and without copies."""
from __future__ import annotations

import gc

import numpy as np
import pyarrow as pa
import pytest

import quiver as qv
from quiver import _bridge


@pytest.fixture(scope="module")
def eng():
    return qv.local()


def _settle(eng):
    gc.collect()
    eng.release_caches()
    return eng.stats()["allocated_bytes"]


def test_local_is_a_singleton(eng):
    assert qv.local() is eng
    from quiver._local import LocalEngine

    assert LocalEngine.instance() is eng


def test_numpy_dict_round_trip_is_zero_copy(eng):
    x = np.arange(1000, dtype=np.float64)
    i = np.arange(1000, dtype=np.int64) * 3
    reader = eng.to_java({"x": x, "i": i})
    result = eng.to_python(reader)
    table = result.to_arrow()
    assert table.column("x").to_numpy().tolist() == x.tolist()
    assert table.column("x").chunk(0).buffers()[1].address == x.ctypes.data
    assert table.column("i").chunk(0).buffers()[1].address == i.ctypes.data
    back = result.to_numpy("x")
    assert back.ctypes.data == x.ctypes.data
    assert not back.flags.writeable


def test_put_get_drop(eng):
    t = pa.table({"a": [1, 2, None], "s": ["x", None, "zz"]},
                 metadata={"origin": "test"})
    info = eng.put("basic_t", t)
    assert info.num_rows == 3 and info.schema.equals(t.schema, check_metadata=True)
    assert "basic_t" in eng
    assert [d.name for d in eng.list()].count("basic_t") == 1
    got = eng.get("basic_t").to_arrow()
    assert got.equals(t) and got.schema.metadata == t.schema.metadata
    del got
    assert eng.drop("basic_t")
    with pytest.raises(qv.DatasetNotFound):
        eng.get("basic_t")
    with pytest.raises(qv.DatasetNotFound):
        eng.drop("basic_t")
    assert eng.drop("basic_t", missing_ok=True) is False


def test_memory_back_to_zero(eng):
    assert _settle(eng) == 0
    x = np.random.default_rng(1).random(10_000)
    eng.put("zero_t", {"x": x})
    r = eng.get("zero_t")
    t = r.to_arrow()
    assert eng.stats()["allocated_bytes"] > x.nbytes  # the imported buffer is charged
    eng.drop("zero_t")
    assert t.column("x").to_numpy().sum() == x.sum()  # Python keeps it alive
    del t, r
    assert _settle(eng) == 0, eng.describe_memory()


def test_stream_capsule_rejects_unknown_objects():
    with pytest.raises(TypeError, match="cannot hand builtins.object to Java"):
        _bridge.stream_capsule(object())
