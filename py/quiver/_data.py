"""Turning what Python users hold into Arrow streams, and Arrow results back into their types.

Accepted inputs (``eng.put``, ``eng.from_arrow``, stages): ``pyarrow.Table``/``RecordBatch``/
``RecordBatchReader``, a list of record batches, pandas and polars DataFrames (and polars
LazyFrames, which are collected), a dict of NumPy arrays or lists, a DuckDB relation, and any
object implementing the Arrow PyCapsule stream or array protocol (``__arrow_c_stream__``,
``__arrow_c_array__``).

Copies: pyarrow, polars, DuckDB and PyCapsule producers hand over Arrow buffers without copying
(DuckDB materializes its result into Arrow once); pandas converts through
``pyarrow.Table.from_pandas`` which copies object/string columns and shares numeric ones where
it can; a dict of lists is converted (copied) by ``pyarrow.table``.
"""
from __future__ import annotations

from typing import Any, Iterable

import pyarrow as pa

from .errors import UnsupportedType

__all__ = ["to_reader", "to_table", "kind_of", "from_table"]


def kind_of(data: Any) -> str:
    """Which family ``data`` belongs to: arrow, pandas, polars, polars_lazy, duckdb, numpy,
    reader or capsule."""
    mod = type(data).__module__.split(".")[0]
    if isinstance(data, pa.RecordBatchReader):
        return "reader"
    if isinstance(data, (pa.Table, pa.RecordBatch)):
        return "arrow"
    if mod == "pandas":
        return "pandas"
    if mod == "polars":
        return "polars_lazy" if type(data).__name__ == "LazyFrame" else "polars"
    if mod in ("duckdb", "_duckdb"):
        return "duckdb"
    if isinstance(data, dict):
        return "numpy"
    if hasattr(data, "__arrow_c_stream__") or hasattr(data, "__arrow_c_array__"):
        return "capsule"
    if isinstance(data, (list, tuple)) and data and all(isinstance(b, pa.RecordBatch)
                                                        for b in data):
        return "batches"
    raise UnsupportedType(
        f"cannot read a {type(data).__module__}.{type(data).__name__} as Arrow data; pass a "
        "pyarrow Table/RecordBatchReader, pandas or polars DataFrame, dict of arrays, DuckDB "
        "relation or an object with __arrow_c_stream__")


def to_reader(data: Any) -> pa.RecordBatchReader:
    """A record batch stream over ``data`` (lazy for readers, DuckDB and stream producers)."""
    k = kind_of(data)
    if k == "reader":
        return data
    if k == "arrow":
        t = data if isinstance(data, pa.Table) else pa.Table.from_batches([data])
        return pa.RecordBatchReader.from_batches(t.schema, t.to_batches())
    if k == "duckdb":
        return data.to_arrow_reader() if hasattr(data, "to_arrow_reader") else (
            data.fetch_record_batch())
    if k == "polars_lazy":
        return to_reader(data.collect())
    if k == "batches":
        return pa.RecordBatchReader.from_batches(data[0].schema, data)
    if k == "capsule" or k == "polars":
        if hasattr(data, "__arrow_c_stream__"):
            return pa.RecordBatchReader.from_stream(data)
        return to_reader(pa.record_batch(data))
    t = to_table(data)
    return pa.RecordBatchReader.from_batches(t.schema, t.to_batches())


def to_table(data: Any) -> pa.Table:
    """``data`` as one ``pyarrow.Table`` (reads a stream to its end)."""
    k = kind_of(data)
    if k == "arrow":
        return data if isinstance(data, pa.Table) else pa.Table.from_batches([data])
    if k == "pandas":
        return pa.Table.from_pandas(data, preserve_index=False)
    if k == "numpy":
        return pa.table(data)
    return to_reader(data).read_all()


def from_table(table: pa.Table, like: str) -> Any:
    """Converts a result back to the family ``like`` (see :func:`kind_of`)."""
    if like == "pandas":
        return table.to_pandas()
    if like in ("polars", "polars_lazy"):
        import polars as pl

        df = pl.from_arrow(table)
        return df.lazy() if like == "polars_lazy" else df
    if like == "duckdb":
        import duckdb

        return duckdb.from_arrow(table)
    if like == "numpy":
        return {n: c.to_numpy() for n, c in zip(table.column_names, table.columns)}
    return table


def batches_of(reader: pa.RecordBatchReader) -> Iterable[pa.RecordBatch]:
    while True:
        try:
            yield reader.read_next_batch()
        except StopIteration:
            return
