"""Columns the engine does not compute on pass through its operators unchanged, in both modes.

Oracle: the golden files as PyArrow reads them. Found by the trust matrix: a dense union came back
with every value null (a transfer into an existing vector left its children empty), a sparse union
with type ids renumbered (a per-value copy by minor type), and schema metadata was dropped.
"""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

import quiver as qv
from api_support import *  # noqa: F401,F403  (engine fixtures)

GOLDEN = (Path(__file__).resolve().parents[3] / "shared" / "arrow-testing" / "data"
          / "arrow-ipc-stream" / "integration" / "cpp-21.0.0")


def golden(stem: str) -> pa.Table:
    path = GOLDEN / f"generated_{stem}.stream"
    if not path.is_file():
        pytest.skip(f"arrow-testing golden file missing: {path}")
    with pa.ipc.open_stream(path) as r:
        return r.read_all()


def same_values(got: pa.Table, want: pa.Table) -> None:
    assert got.column_names == want.column_names
    for name in want.column_names:
        g, w = got[name].combine_chunks(), want[name].combine_chunks()
        assert g.type == w.type, name
        assert g.equals(w), f"{name}: {g.to_pylist()} != {w.to_pylist()}"


@pytest.mark.parametrize("column", ["sparse_1", "dense_1", "sparse_2", "dense_2"])
def test_union_columns_scan_and_project_unchanged(engine, column):
    table = golden("union")
    out = engine.from_arrow(table).select(column).collect()
    same_values(out, table.select([column]))
    for batch in out.to_batches():
        batch.validate(full=True)


@pytest.mark.parametrize("column", ["sparse_1", "dense_1"])
def test_union_columns_through_a_streaming_stage_unchanged(engine, column):
    table = golden("union").select([column])
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches())
    # The identity stage: a plan of the `input` node only (in-process C Stream, remotely
    # DoExchange), so the column goes through the engine's input and output paths.
    out = qv.stage(lambda f: f, engine=engine)(reader)
    same_values(out.read_all(), table)


def test_sparse_union_limit_is_a_slice(engine):
    table = golden("union").select(["sparse_1", "sparse_2"])
    out = engine.from_arrow(table).limit(3).collect()
    same_values(out, table.slice(0, 3))


def test_union_column_in_a_scattered_filter_is_refused_clearly(engine):
    table = golden("union").select(["sparse_1"]).append_column("k", pa.array(range(11)))
    # Rows 1, 3, 5, ...: not one run, so the column would have to be copied row by row.
    with pytest.raises(qv.QuiverError, match="sparse_1.*union.*row by row"):
        engine.from_arrow(table).filter(qv.col("k") % 2 == 1).collect()
    # A filter that keeps one run of rows slices instead, and keeps the values.
    out = engine.from_arrow(table).filter(qv.col("k") > 3).collect()
    same_values(out, table.slice(4))


def test_schema_metadata_survives_scan_filter_and_input(engine):
    table = golden("custom_metadata")
    assert table.schema.metadata
    out = engine.from_arrow(table).filter(qv.col("sort_of_pandas").is_not_null()).collect()
    assert out.schema.metadata == table.schema.metadata
    assert out.schema.equals(table.schema, check_metadata=True)
