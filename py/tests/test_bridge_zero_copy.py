"""Zero-copy proof: the same buffer addresses on both sides of the bridge, both directions.

Python -> Java: the vectors of the dataset Java stores ARE the PyArrow/NumPy buffers.
Java -> Python: the PyArrow arrays of a result ARE the Java vectors' buffers, for data that
Java allocated itself (TPC-H generator, Arrow IPC reader), so the proof does not lean on the
first direction.
"""
from __future__ import annotations

import gc
from pathlib import Path

import jpype
import numpy as np
import pyarrow as pa
import pytest

import quiver as qv

GOLDEN = (Path(__file__).resolve().parents[3] / "shared" / "arrow-testing" / "data"
          / "arrow-ipc-stream" / "integration" / "cpp-21.0.0")


@pytest.fixture(scope="module")
def eng():
    return qv.local()


def java_buffers(vector) -> list[tuple[int, int]]:
    """(address, capacity) of a Java vector's buffers, pre-order over its children: the order
    PyArrow's Array.buffers() uses."""
    out = [(int(b.memoryAddress()), int(b.capacity())) for b in vector.getFieldBuffers()]
    for child in vector.getChildrenFromFields():
        out.extend(java_buffers(child))
    return out


def assert_same_buffers(py_array: pa.Array, vector, *, what: str) -> int:
    """Every non-empty PyArrow buffer has the same address as the Java buffer in its place.
    A missing Python validity bitmap (no nulls) may face Java's shared all-valid bitmap."""
    py = py_array.buffers()
    jv = java_buffers(vector)
    assert len(py) == len(jv), f"{what}: {len(py)} Python buffers vs {len(jv)} Java buffers"
    compared = 0
    for i, (p, (addr, _cap)) in enumerate(zip(py, jv)):
        if p is None or p.size == 0:
            continue
        assert p.address == addr, f"{what}: buffer {i} at {p.address:#x} in Python, {addr:#x} in Java"
        compared += 1
    assert compared > 0, f"{what}: nothing compared"
    return compared


def java_batch(eng, name: str, batch: int = 0):
    ds = eng.catalog.get(name)
    return ds, ds.batches().get(batch)


NESTED = pa.table({
    "i64": pa.array([1, None, 3, 4], pa.int64()),
    "f64": pa.array([0.5, 1.5, None, 3.5]),
    "u8": pa.array([1, 2, 3, 4], pa.uint8()),
    "ts": pa.array([1, 2, None, 4], pa.timestamp("us", tz="UTC")),
    "dec": pa.array([1, 2, 3, None], pa.decimal128(10, 2)),
    "flag": pa.array([True, None, False, True]),
    "s": pa.array(["a", None, "ccc", "dddd"]),
    "b": pa.array([b"x", b"yy", None, b""], pa.binary()),
    "ls": pa.array(["a", "bb", None, "c"], pa.large_string()),
    "lst": pa.array([[1, 2], None, [], [3]], pa.list_(pa.int32())),
    "st": pa.array([{"a": 1, "b": "x"}, None, {"a": 3, "b": None}, {"a": None, "b": "z"}],
                   pa.struct([("a", pa.int32()), ("b", pa.string())])),
    "dict": pa.array(["x", "y", None, "x"]).dictionary_encode(),
})


def test_python_to_java_every_buffer_is_shared(eng):
    eng.put("zc_nested", NESTED)
    ds, root = java_batch(eng, "zc_nested")
    try:
        for name in NESTED.column_names:
            col = NESTED.column(name)
            assert col.num_chunks == 1
            assert_same_buffers(col.chunk(0), root.getVector(name), what=name)
        # the dictionary's values, too
        enc = root.getVector("dict").getField().getDictionary()
        dvec = ds.dictionaries().lookup(enc.getId()).getVector()
        assert_same_buffers(NESTED.column("dict").chunk(0).dictionary, dvec, what="dict values")
    finally:
        ds.close()
        eng.drop("zc_nested")


def test_java_to_python_round_trip_keeps_python_addresses(eng):
    eng.put("zc_rt", NESTED)
    try:
        back = eng.get("zc_rt").to_arrow()
        for name in NESTED.column_names:
            a, b = NESTED.column(name).chunk(0), back.column(name).chunk(0)
            for pa_buf, pb_buf in zip(a.buffers(), b.buffers()):
                if pa_buf is None or pa_buf.size == 0:
                    continue
                assert pb_buf is not None and pb_buf.address == pa_buf.address, name
        assert back.equals(NESTED)
        # no-null columns come back without a validity bitmap, as they went in
        assert back.column("u8").chunk(0).buffers()[0] is None
    finally:
        eng.drop("zc_rt")


def test_numpy_float64_reaches_java_and_comes_back(eng):
    x = np.random.default_rng(7).random(100_000)
    eng.put("zc_np", {"x": x})
    ds, root = java_batch(eng, "zc_np")
    try:
        jaddr = int(root.getVector("x").getDataBuffer().memoryAddress())
        assert jaddr == x.ctypes.data
    finally:
        ds.close()
    out = eng.get("zc_np").to_numpy()
    assert out.ctypes.data == x.ctypes.data
    assert np.array_equal(out, x)
    eng.drop("zc_np")


def test_sliced_input_is_addressed_not_copied(eng):
    base = pa.table({"v": pa.array(np.arange(64, dtype=np.int64)),
                     "s": pa.array([str(i) for i in range(64)])})
    sliced = base.slice(8, 40)  # byte-aligned offset: everything addressed in place
    eng.put("zc_slice", sliced)
    ds, root = java_batch(eng, "zc_slice")
    try:
        v = root.getVector("v")
        assert int(v.getDataBuffer().memoryAddress()) == base.column("v").chunk(0).buffers()[1].address + 8 * 8
        s = root.getVector("s")
        assert int(s.getOffsetBuffer().memoryAddress()) == base.column("s").chunk(0).buffers()[1].address + 8 * 4
        assert int(s.getDataBuffer().memoryAddress()) == base.column("s").chunk(0).buffers()[2].address
        assert v.getValueCount() == 40
    finally:
        ds.close()
    assert eng.get("zc_slice").to_arrow().equals(sliced)
    eng.drop("zc_slice")


def test_unaligned_validity_is_the_documented_copy(eng):
    base = pa.table({"v": pa.array([None if i % 5 == 0 else i for i in range(64)], pa.int64())})
    sliced = base.slice(3, 50)
    eng.put("zc_unaligned", sliced)
    ds, root = java_batch(eng, "zc_unaligned")
    try:
        v = root.getVector("v")
        data = base.column("v").chunk(0).buffers()
        assert int(v.getDataBuffer().memoryAddress()) == data[1].address + 3 * 8
        assert int(v.getValidityBuffer().memoryAddress()) != data[0].address  # shifted copy
    finally:
        ds.close()
    assert eng.get("zc_unaligned").to_arrow().equals(sliced)
    eng.drop("zc_unaligned")


def _java_catalog_with_tpch(eng):
    Catalog = jpype.JClass("dev.quiver.engine.dataset.Catalog")
    TpchGenerator = jpype.JClass("dev.quiver.engine.tpch.TpchGenerator")
    catalog = Catalog(eng.memory)
    TpchGenerator(0.001).loadAll(catalog)
    return catalog


def test_java_allocated_fixed_width_and_utf8_reach_python_in_place(eng):
    catalog = _java_catalog_with_tpch(eng)
    try:
        ds = catalog.get("nation")
        try:
            root = ds.batches().get(0)
            result = eng.bridge.to_python(ds.retain())
            table = result.to_arrow()
            assert table.num_rows == 25
            for name in ("n_nationkey", "n_name", "n_regionkey", "n_comment"):
                assert_same_buffers(table.column(name).chunk(0), root.getVector(name), what=name)
        finally:
            ds.close()
        del table, result
    finally:
        catalog.close()
    gc.collect()


def _java_ipc_reader(eng, path: Path, allocator):
    FileInputStream = jpype.JClass("java.io.FileInputStream")
    ArrowStreamReader = jpype.JClass("org.apache.arrow.vector.ipc.ArrowStreamReader")
    return ArrowStreamReader(FileInputStream(str(path)), allocator)


@pytest.mark.parametrize("golden", ["generated_nested.stream", "generated_dictionary.stream",
                                    "generated_map.stream"])
def test_java_allocated_nested_and_dictionary_reach_python_in_place(eng, golden):
    path = GOLDEN / golden
    if not path.exists():
        pytest.skip(f"{path} not available")
    allocator = eng.memory.child("test:" + golden)
    reader = _java_ipc_reader(eng, path, allocator)
    result = eng.bridge.to_python(reader)
    batches = result.batches()
    first = next(batches)  # the Java reader's root holds this batch right now
    root = reader.getVectorSchemaRoot()
    compared = 0
    for i, field in enumerate(first.schema):
        vector = root.getVector(i)
        arr = first.column(i)
        compared += assert_same_buffers(arr, vector, what=field.name)
        if pa.types.is_dictionary(arr.type):
            enc = vector.getField().getDictionary()
            dvec = reader.lookup(enc.getId()).getVector()
            compared += assert_same_buffers(arr.dictionary, dvec, what=field.name + " dictionary")
    assert compared > 0
    rest = list(batches)
    with pa.ipc.open_stream(path) as r:
        expected = r.read_all()
    assert pa.Table.from_batches([first, *rest], schema=result.schema).equals(expected)
    del first, rest, batches, result
    gc.collect()
    allocator.close()  # throws if the bridge left anything charged to it


def test_a_plan_passes_scanned_columns_through_without_copying(eng):
    """A plan's pass-through columns (scan morsels, here next to a computed one) come back to
    Python as the very bytes Python put in: value buffers at the input's address plus the
    morsel's offset. Variable-width columns share their value bytes; only their offsets are
    rebased (new memory)."""
    rng = np.random.default_rng(3)
    n = 300_000
    ids = pa.array(rng.integers(0, 1 << 40, n))
    vals = pa.array(rng.random(n), mask=rng.random(n) < 0.1)
    tags = pa.array([f"t{i % 977}" for i in range(n)])
    src = pa.table({"id": ids, "v": vals, "tag": tags})
    out = eng.from_arrow(src).select("id", "v", "tag", twice=qv.col("v") * 2).collect()
    assert out.select(["id", "v", "tag"]).equals(src)
    start = 0
    for i in range(out["id"].num_chunks):
        n_i = len(out["id"].chunk(i))
        got_id = out["id"].chunk(i).buffers()[1].address
        got_v = out["v"].chunk(i).buffers()[1].address
        got_tag_data = out["tag"].chunk(i).buffers()[2].address
        assert got_id == ids.buffers()[1].address + 8 * start, f"id, chunk {i}"
        assert got_v == vals.buffers()[1].address + 8 * start, f"v, chunk {i}"
        first = int(np.frombuffer(tags.buffers()[1], dtype=np.int32)[start])
        assert got_tag_data == tags.buffers()[2].address + first, f"tag, chunk {i}"
        start += n_i
    assert start == n and out["id"].num_chunks > 1, "the scan ran in several morsels"
