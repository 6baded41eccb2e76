"""Errors crossing the bridge arrive as quiver.errors exceptions with the Java (or producer)
message, and the stream's memory is released."""
from __future__ import annotations

import gc

import jpype
import numpy as np
import pyarrow as pa
import pytest

import quiver as qv
from quiver import _bridge


@pytest.fixture(scope="module")
def eng():
    return qv.local()


def settle(eng) -> int:
    gc.collect()
    eng.release_caches()
    return eng.stats()["allocated_bytes"]


def three_batches() -> pa.Table:
    b = pa.record_batch({"x": np.arange(1000, dtype=np.int64), "s": pa.array(["v"] * 1000)})
    return pa.Table.from_batches([b, b, b])


def faulty_reader(eng, table, after: int, message: str):
    FaultInjectingReader = jpype.JClass("dev.quiver.engine.bridge.FaultInjectingReader")
    return FaultInjectingReader(eng.to_java(table), after, message)


def test_java_failure_mid_stream_reaches_python_and_frees_memory(eng):
    assert settle(eng) == 0
    result = eng.to_python(faulty_reader(eng, three_batches(), 1, "disk on fire at batch 2"))
    with pytest.raises(qv.JavaError, match="disk on fire at batch 2") as info:
        result.to_arrow()
    assert isinstance(info.value, qv.QuiverError)
    assert info.value.java_class == "java.lang.IllegalStateException"
    with pytest.raises(RuntimeError):  # the stream is over, not silently empty
        result.to_arrow()
    del result, info
    assert settle(eng) == 0, eng.describe_memory()


def test_batches_before_the_failure_stay_valid(eng):
    result = eng.to_python(faulty_reader(eng, three_batches(), 2, "injected"))
    it = result.batches()
    first, second = next(it), next(it)
    with pytest.raises(qv.JavaError, match="injected"):
        next(it)
    assert first.column(0).to_pylist()[:3] == [0, 1, 2]
    assert second.num_rows == 1000
    assert settle(eng) > 0  # the two batches still hold their Java (here: Python-owned) memory
    del first, second, it, result
    assert settle(eng) == 0, eng.describe_memory()


def test_python_producer_failure_reaches_python_with_its_message(eng):
    schema = pa.schema([("x", pa.int64())])

    def batches():
        yield pa.record_batch([pa.array([1, 2, 3])], schema=schema)
        raise ValueError("boom in the Python producer")

    reader = pa.RecordBatchReader.from_batches(schema, batches())
    with pytest.raises(qv.QuiverError, match="boom in the Python producer"):
        eng.put("err_producer", reader)
    assert "err_producer" not in eng
    assert settle(eng) == 0, eng.describe_memory()


def test_memory_limit_is_a_memory_limit_error_and_nothing_is_committed(eng):
    Catalog = jpype.JClass("dev.quiver.engine.dataset.Catalog")
    small = Catalog(eng.memory, 64 * 1024)
    big = pa.table({"x": np.arange(100_000, dtype=np.int64)})
    with pytest.raises(qv.MemoryLimitError, match="memory limit"):
        eng.bridge.import_dataset(small, "too_big", big)
    assert not small.contains("too_big")
    assert settle(eng) == 0, eng.describe_memory()


def test_imports_count_against_the_bridge_allocator_limit(eng):
    CDataBridge = jpype.JClass("dev.quiver.engine.bridge.CDataBridge")
    tiny = eng.memory.child("test:tiny", 64 * 1024)
    bridge = _bridge.Bridge(CDataBridge(tiny))
    reader = bridge.to_java({"x": np.arange(100_000, dtype=np.int64)})
    with pytest.raises(qv.MemoryLimitError):
        with _bridge.java_errors():
            reader.loadNextBatch()
    reader.close()
    bridge.java.close()
    tiny.close()
    assert settle(eng) == 0, eng.describe_memory()


def test_unknown_java_exceptions_become_java_error_with_class_and_message(eng):
    with pytest.raises(qv.JavaError, match=r"java.lang.IllegalStateException: engine is closed"):
        with _bridge.java_errors():
            raise jpype.JClass("java.lang.IllegalStateException")("engine is closed")


def test_refused_arguments_are_the_error_the_server_reports_for_them(eng):
    # The server answers an IllegalArgumentException with INVALID_ARGUMENT, which the remote
    # client raises as PlanError (by its wording); in-process it was JavaError.
    with pytest.raises(qv.PlanError, match="dataset name must not contain a NUL") as e:
        with _bridge.java_errors():
            eng.catalog.newDataset("bad\0name", jpype.JClass(
                "org.apache.arrow.vector.types.pojo.Schema")(jpype.JClass("java.util.List").of()))
    assert e.value.java_class.endswith("DatasetNames$InvalidDatasetName")


def test_register_java_error_maps_a_class(eng):
    class Custom(qv.QuiverError):
        pass

    _bridge.register_java_error("java.lang.ArithmeticException", Custom)
    try:
        with pytest.raises(Custom, match="divide by zero"):
            with _bridge.java_errors():
                jpype.JClass("java.math.BigInteger").ONE.divide(jpype.JClass("java.math.BigInteger").ZERO)
    finally:
        _bridge._JAVA_ERRORS.pop("java.lang.ArithmeticException")
    with pytest.raises(TypeError):
        _bridge.register_java_error("x.Y", ValueError)
