"""Pure-Python units of the API: data conversion, result objects, error mapping, progress bars.
No JVM, no server."""
from __future__ import annotations

import io

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import quiver as qv
from quiver import _data, _errmap, _progress, errors
from quiver._engine import StreamResult


class Capsule:
    """A minimal third-party PyCapsule stream producer."""

    def __init__(self, table):
        self.table = table

    def __arrow_c_stream__(self, requested_schema=None):
        return self.table.__arrow_c_stream__(requested_schema)


@pytest.mark.parametrize("make,kind", [
    (lambda t: t, "arrow"),
    (lambda t: t.to_batches()[0], "arrow"),
    (lambda t: t.to_reader(), "reader"),
    (lambda t: t.to_pandas(), "pandas"),
    (lambda t: pl.from_arrow(t), "polars"),
    (lambda t: pl.from_arrow(t).lazy(), "polars_lazy"),
    (lambda t: {"x": t.column("x").to_numpy(), "s": t.column("s").to_pylist()}, "numpy"),
    (lambda t: duckdb.from_arrow(t), "duckdb"),
    (lambda t: Capsule(t), "capsule"),
    (lambda t: t.to_batches(), "batches"),
])
def test_every_input_kind_becomes_the_same_arrow_data(make, kind):
    t = pa.table({"x": pa.array([1, 2, 3], pa.int64()), "s": ["a", "b", None]})
    data = make(t)
    assert _data.kind_of(data) == kind
    got = _data.to_reader(data).read_all()
    assert got.column("x").to_pylist() == [1, 2, 3]
    assert got.column("s").to_pylist() == ["a", "b", None]


def test_results_return_in_the_callers_family():
    t = pa.table({"x": [1.0, 2.0]})
    assert isinstance(_data.from_table(t, "pandas"), pd.DataFrame)
    assert isinstance(_data.from_table(t, "polars"), pl.DataFrame)
    assert isinstance(_data.from_table(t, "polars_lazy"), pl.LazyFrame)
    assert isinstance(_data.from_table(t, "duckdb"), duckdb.DuckDBPyRelation)
    assert _data.from_table(t, "numpy")["x"].tolist() == [1.0, 2.0]
    assert _data.from_table(t, "arrow") is t


def test_unsupported_input_names_the_type():
    with pytest.raises(errors.UnsupportedType, match="builtins.object"):
        _data.to_reader(object())


def test_stream_result_reads_once_streaming_or_many_times_when_kept():
    t = pa.table({"x": np.arange(10)})
    r = StreamResult(t.to_reader(max_chunksize=3))
    assert r.schema == t.schema
    assert r.to_arrow().equals(t)
    assert r.to_pandas()["x"].tolist() == list(range(10))
    assert r.to_numpy().tolist() == list(range(10))
    assert len(r) == 10 and pa.table(r).equals(t)
    s = StreamResult(t.to_reader(max_chunksize=3))
    assert [b.num_rows for b in s.batches()] == [3, 3, 3, 1]
    with pytest.raises(RuntimeError, match="only once"):
        s.to_arrow()


@pytest.mark.parametrize("message,cls", [
    ("COLUMN_NOT_FOUND: column 'x' not found", errors.ColumnNotFound),
    ("PlanException[FUNCTION_NOT_FOUND]: unknown function 'f'", errors.FunctionNotFound),
    ("[TYPE_MISMATCH] function 'add' got (utf8, int64); expected ...", errors.TypeMismatch),
    ("ARITY: function 'substring' takes 2 to 3 argument(s), got 1", errors.PlanError),
    ("DATASET_NOT_FOUND: dataset 'x' not found", errors.DatasetNotFound),
    ("UNSUPPORTED_TYPE: cannot compute on list", errors.UnsupportedType),
    ("unknown function 'frob'; known functions: add, ...", errors.FunctionNotFound),
    ("column 'zz' not found; available: a, b", errors.ColumnNotFound),
    ("dataset 'q' not found", errors.DatasetNotFound),
    ("function 'add' got (utf8, int64); expected two numeric arguments", errors.TypeMismatch),
    ("memory limit of 4 MiB exceeded", errors.MemoryLimitError),
    ("something else entirely", errors.PlanError),
])
def test_messages_classify_to_the_documented_errors(message, cls):
    assert _errmap.classify(message) is cls


def test_flight_errors_map_without_chaining():
    import pyarrow.flight as fl

    err = _errmap.from_flight(fl.FlightUnavailableError("connection refused"))
    assert isinstance(err, errors.ServerError) and "unavailable" in str(err)
    err = _errmap.from_flight(pa.ArrowInvalid(
        "Flight returned invalid argument error, with message: column 'x' not found. "
        "gRPC client debug context: UNKNOWN:blah"))
    assert type(err) is errors.ColumnNotFound
    assert str(err) == "column 'x' not found"
    assert err.original is not None and err.__cause__ is None
    err = _errmap.from_flight(KeyError("Flight returned not found error, with message: "
                                       "dataset 'x' not found"))
    assert type(err) is errors.DatasetNotFound
    # RESOURCE_EXHAUSTED arrives as ArrowInvalid; whatever its wording, it is a resource limit.
    for text in ("the server's Java heap is exhausted (Java heap space): the plan's group or "
                 "join tables did not fit", "gRPC message exceeds maximum size 1048576: 3000169"):
        err = _errmap.from_flight(pa.ArrowInvalid(
            "gRPC returned resource exhausted error, with message: " + text
            + ". gRPC client debug context: UNKNOWN:blah"))
        assert type(err) is errors.MemoryLimitError, text
        assert str(err) == text


def test_progress_bar_only_when_asked_or_on_a_terminal(monkeypatch):
    monkeypatch.setenv("QUIVER_PROGRESS", "0")
    assert not _progress.enabled()
    monkeypatch.setenv("QUIVER_PROGRESS", "1")
    assert _progress.enabled()
    import tqdm.auto

    buf = io.StringIO()
    real = tqdm.auto.tqdm
    monkeypatch.setattr(tqdm.auto, "tqdm", lambda **kw: real(file=buf, **{**kw, "delay": 0}))
    batches = [pa.record_batch({"x": np.arange(100)})] * 5
    assert sum(b.num_rows for b in _progress.track_batches(iter(batches), "put t", 500)) == 500
    assert "put t" in buf.getvalue() and "500" in buf.getvalue()
    monkeypatch.delenv("QUIVER_PROGRESS")
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert not _progress.enabled()  # not a terminal


def test_public_names_exist():
    for name in qv.__all__:
        assert hasattr(qv, name), name
    assert callable(qv.stage) and callable(qv.connect)


@pytest.mark.parametrize("module", ["quiver.expr", "quiver.frame", "quiver._types",
                                    "quiver.stage"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
