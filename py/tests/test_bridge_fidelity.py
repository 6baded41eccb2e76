"""Fidelity: every golden Arrow IPC stream goes PyArrow -> Java -> PyArrow unchanged (schema with
metadata, values), through a Java reader and through a committed dataset, or is refused with a
clear UnsupportedType naming the column (never changed silently)."""
from __future__ import annotations

import gc
from pathlib import Path

import pyarrow as pa
import pytest

import quiver as qv
from quiver import _bridge

GOLDEN = (Path(__file__).resolve().parents[3] / "shared" / "arrow-testing" / "data"
          / "arrow-ipc-stream" / "integration" / "cpp-21.0.0")
FILES = sorted(GOLDEN.glob("*.stream")) if GOLDEN.is_dir() else []

# Shapes Arrow Java 19 cannot hold, with the refusal they must produce.
REFUSED = {
    # Arrow Java keys struct children by name: two children with one name would collapse.
    "generated_duplicate_fieldnames.stream": r"column 'struct' \(Struct\) has two children named",
}


@pytest.fixture(scope="module")
def eng():
    return qv.local()


def _read(path: Path) -> pa.Table:
    with pa.ipc.open_stream(path) as r:
        return r.read_all()


def test_golden_files_are_present():
    assert len(FILES) >= 30, f"expected the cpp-21.0.0 golden streams under {GOLDEN}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_round_trip_through_a_java_reader(eng, path):
    expected = _read(path)
    if path.name in REFUSED:
        with pytest.raises(qv.UnsupportedType, match=REFUSED[path.name]):
            eng.to_java(expected)
        return
    result = eng.to_python(eng.to_java(expected))
    back = result.to_arrow()
    assert back.schema.equals(expected.schema, check_metadata=True), (
        f"{back.schema}\n!=\n{expected.schema}")
    for f_back, f_exp in zip(back.schema, expected.schema):
        assert f_back.metadata == f_exp.metadata, f_exp.name
    assert back.equals(expected, check_metadata=True)
    assert [b.num_rows for b in back.to_batches()] == [b.num_rows for b in expected.to_batches()]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_round_trip_through_a_dataset(eng, path):
    expected = _read(path)
    name = "fid_" + path.stem
    if path.name in REFUSED:
        with pytest.raises(qv.UnsupportedType, match=REFUSED[path.name]):
            eng.put(name, expected)
        assert name not in eng  # nothing half-written became visible
        return
    eng.put(name, expected)
    try:
        back = eng.get(name).to_arrow()
        assert back.schema.equals(expected.schema, check_metadata=True)
        if back.equals(expected):
            return
        # Chunks with different dictionaries are unified on put (documented): same values.
        assert any(pa.types.is_dictionary(f.type) for f in expected.schema), path.name
        assert back.to_pylist() == expected.to_pylist()
    finally:
        eng.drop(name)


def test_nothing_left_behind(eng):
    gc.collect()
    eng.release_caches()
    assert eng.stats()["allocated_bytes"] == 0, eng.describe_memory()


def test_sliced_batch_of_a_stock_importer_type_is_refused_not_misread(eng):
    union = pa.UnionArray.from_sparse(pa.array([0, 1, 0, 1], pa.int8()),
                                      [pa.array([1, 2, 3, 4]), pa.array(["a", "b", "c", "d"])])
    t = pa.table({"u": union, "x": [1, 2, 3, 4]})
    whole = eng.to_python(eng.to_java(t)).to_arrow()
    assert whole.equals(t)
    reader = eng.to_java(t.slice(1, 2))
    with pytest.raises(qv.UnsupportedType, match="is a slice"):
        with _bridge.java_errors():
            reader.loadNextBatch()
    reader.close()
