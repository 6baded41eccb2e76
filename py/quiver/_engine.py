"""The one engine interface shared by the in-process and the remote engine.

:class:`Engine` implements everything that does not depend on where the engine runs (frames,
temporary datasets, Java functions and objects, format conversion); a subclass supplies the
transport primitives (``_put_reader``, ``_get_reader``, ``list``, ``drop``, ``schema``,
``_execute``, ``_plan_schema``, ``_udf_call``, ``_udf_new``/``_udf_method``/``_udf_close``).

>>> import quiver as qv
>>> eng = qv.local()                                        # doctest: +SKIP
>>> eng.put("sales", {"region": ["n", "s", "n"], "amount": [10, 20, 30]})   # doctest: +SKIP
>>> (eng.table("sales").group_by("region").agg(qv.sum("amount"))
...     .sort("region").to_pandas())                        # doctest: +SKIP
  region  sum_amount
0      n          40
1      s          20
"""
from __future__ import annotations

import abc
import json
import threading
import uuid
import weakref
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import pyarrow as pa

from . import _data
from .errors import PlanError
from .expr import Call, Expr, SCALAR_FUNCTIONS
from .frame import Frame

__all__ = ["Engine", "JavaFunction", "JavaObject", "TempDataset", "DatasetInfo",
           "StreamResult"]

TEMP_PREFIX = "_qv_tmp_"


@dataclass(frozen=True)
class DatasetInfo:
    """What the engine knows about a dataset: no data is read to produce it."""

    name: str
    num_rows: int
    num_batches: int
    nbytes: int
    schema: pa.Schema


class StreamResult:
    """A result read from a stream (the remote engine's :meth:`Engine.get`), with the same
    methods as the in-process ``quiver._bridge.Result``: the first full read keeps the table so
    it can be read again; :meth:`batches` streams once if nothing was kept yet.
    """

    def __init__(self, reader: pa.RecordBatchReader) -> None:
        self._reader: pa.RecordBatchReader | None = reader
        self._schema = reader.schema
        self._table: pa.Table | None = None
        self._lock = threading.RLock()

    @property
    def schema(self) -> pa.Schema:
        return self._schema

    def batches(self) -> Iterator[pa.RecordBatch]:
        with self._lock:
            if self._table is not None:
                yield from self._table.to_batches()
                return
            reader, self._reader = self._reader, None
        if reader is None:
            raise RuntimeError("this result was already streamed; it can be read only once")
        try:
            yield from reader
        finally:
            reader.close()

    def to_arrow(self) -> pa.Table:
        with self._lock:
            if self._table is None:
                reader, self._reader = self._reader, None
                if reader is None:
                    raise RuntimeError("this result was already streamed; it can be read only "
                                       "once")
                try:
                    self._table = reader.read_all()
                finally:
                    reader.close()
            return self._table

    def to_numpy(self, column: "str | int | None" = None) -> Any:
        """NumPy arrays: one column, or a dict of all (zero-copy where Arrow allows)."""
        table = self.to_arrow()
        if column is None:
            if table.num_columns == 1:
                return _column_numpy(table.column(0))
            return {n: _column_numpy(table.column(n)) for n in table.column_names}
        return _column_numpy(table.column(column))

    def to_pandas(self, **kwargs: Any) -> Any:
        return self.to_arrow().to_pandas(**kwargs)

    def to_polars(self) -> Any:
        import polars as pl

        return pl.from_arrow(self.to_arrow())

    @property
    def num_rows(self) -> int:
        return self.to_arrow().num_rows

    def __len__(self) -> int:
        return self.num_rows

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self.to_arrow().__arrow_c_stream__(requested_schema)

    def __arrow_c_schema__(self) -> Any:
        return self._schema.__arrow_c_schema__()

    def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()

    def __enter__(self) -> "StreamResult":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        n = f"{self._table.num_rows} rows" if self._table is not None else "not read yet"
        return f"<quiver.StreamResult {n}; schema: {', '.join(self._schema.names)}>"


def _column_numpy(col: pa.ChunkedArray) -> Any:
    if col.num_chunks == 1 and col.null_count == 0 and (
            pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
        return col.chunk(0).to_numpy(zero_copy_only=True)
    return col.to_numpy()


class TempDataset:
    """A dataset created for :meth:`Engine.from_arrow`; dropped when no frame needs it."""

    __slots__ = ("name", "_finalizer", "__weakref__")

    def __init__(self, engine: "Engine", name: str) -> None:
        self.name = name
        self._finalizer = weakref.finalize(self, Engine._drop_quietly, weakref.ref(engine), name)

    def drop(self) -> None:
        self._finalizer()


class Engine(abc.ABC):
    """What :func:`quiver.local` and :func:`quiver.connect` return.

    Datasets: :meth:`put`, :meth:`get`, :meth:`list`, :meth:`drop`, :meth:`schema`.
    Queries: :meth:`table`, :meth:`from_arrow` give lazy :class:`~quiver.Frame` objects.
    Java code: :meth:`function` and :meth:`new` (see docs/java-functions.md).
    """

    #: "local" or "remote"
    mode: str = "?"

    # ---- primitives a subclass provides ------------------------------------------------------
    @abc.abstractmethod
    def put(self, name: str, data: Any, *, mode: str = "replace") -> "DatasetInfo":
        """Stores ``data`` as dataset ``name`` (``mode`` "replace" or "append"), atomically:
        nothing is visible unless all of it arrived.

        ``data`` is anything :mod:`quiver._data` accepts: pyarrow, pandas, polars, a dict of
        NumPy arrays, a DuckDB relation, any ``__arrow_c_stream__`` producer, or a
        :class:`~quiver.Frame` (its result is stored).

        >>> eng.put("t", {"x": [1, 2, 3]})                    # doctest: +SKIP
        DatasetInfo(name='t', num_rows=3, ...)
        """

    @abc.abstractmethod
    def get(self, name: str) -> Any:
        """Dataset ``name`` as a result object: ``.to_arrow()``, ``.to_pandas()``,
        ``.to_polars()``, ``.to_numpy()``, ``.batches()``, ``.schema``, and the Arrow PyCapsule
        protocol (so ``pa.table(r)``, ``pl.DataFrame(r)`` and DuckDB read it directly)."""

    @abc.abstractmethod
    def list(self) -> "list[DatasetInfo]":
        """Every dataset (name, rows, batches, bytes, schema), sorted by name."""

    @abc.abstractmethod
    def drop(self, name: str, *, missing_ok: bool = False) -> bool:
        """Drops a dataset; raises :class:`~quiver.errors.DatasetNotFound` if absent unless
        ``missing_ok``. Returns whether something was dropped."""

    @abc.abstractmethod
    def schema(self, name: str) -> pa.Schema:
        """The schema of a dataset."""

    @abc.abstractmethod
    def _execute(self, plan: dict, inputs: Mapping[str, pa.RecordBatchReader]
                 ) -> pa.RecordBatchReader:
        """Runs a plan document; ``inputs`` feed its ``input`` nodes by name."""

    @abc.abstractmethod
    def _plan_schema(self, plan: dict, inputs: Mapping[str, pa.Schema] | None = None
                     ) -> pa.Schema:
        """The output schema the engine computes for a plan (validates it)."""

    @abc.abstractmethod
    def _udf_call(self, name: str, reader: pa.RecordBatchReader, args: dict
                  ) -> pa.RecordBatchReader:
        """Runs a Java batch operator over a stream."""

    @abc.abstractmethod
    def _udf_new(self, class_name: str, args: dict) -> Any:
        """Constructs a Java object; returns a handle for :meth:`_udf_method`."""

    @abc.abstractmethod
    def _udf_method(self, handle: Any, method: str, reader: pa.RecordBatchReader, args: dict
                    ) -> pa.RecordBatchReader:
        """Calls a method of a Java object over a stream."""

    @abc.abstractmethod
    def _udf_close(self, handle: Any) -> None:
        """Releases a Java object."""

    def close(self) -> None:
        """Releases what this engine holds (connections; the JVM stays for the process)."""

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- datasets ------------------------------------------------------------------------------
    def names(self) -> "list[str]":
        """Dataset names, sorted."""
        return [d.name for d in self.list()]

    def __contains__(self, name: str) -> bool:
        return name in self.names()

    # ---- frames --------------------------------------------------------------------------------
    def table(self, name: str) -> Frame:
        """A lazy frame scanning dataset ``name``.

        >>> eng.table("lineitem").filter(qv.col("l_quantity") < 24).limit(5).collect()
        ... # doctest: +SKIP
        """
        return Frame.from_schema(self.schema(name), name, engine=self)

    def from_arrow(self, data: Any) -> Frame:
        """A lazy frame over in-memory data (any input of :meth:`put`).

        The data is stored as a temporary dataset (zero-copy in-process; uploaded once
        remotely) that is dropped when the last frame using it is garbage-collected.
        """
        name = TEMP_PREFIX + uuid.uuid4().hex
        self.put(name, data)
        tmp = TempDataset(self, name)
        f = Frame.from_schema(self.schema(name), name, engine=self)
        return Frame(self, f._node, f._schema, f._keep + (tmp,))

    def run_plan(self, plan: dict | str) -> pa.Table:
        """Runs a raw plan document (dict or JSON text) and returns the result."""
        doc = json.loads(plan) if isinstance(plan, str) else plan
        reader = self._execute(doc, {})
        try:
            return reader.read_all()
        finally:
            reader.close()

    @staticmethod
    def _drop_quietly(ref: "weakref.ref[Engine]", name: str) -> None:
        eng = ref()
        if eng is None:
            return
        try:
            eng.drop(name, missing_ok=True)
        except Exception:  # noqa: BLE001 - best effort at garbage collection time
            pass

    # ---- Java code -----------------------------------------------------------------------------
    def function(self, name: str) -> "JavaFunction":
        """A Java function by registered name or class name (docs/java-functions.md).

        Called with expressions it builds a scalar call usable in frames; called with data (a
        frame, table, DataFrame, reader...) it runs a batch operator and returns the same kind
        of object::

            score = eng.function("com.acme.Score")
            scored = score(frame, threshold=0.5)          # batch operator
            f.with_columns(s=eng.function("score")(qv.col("x")))   # scalar function
        """
        return JavaFunction(self, name)

    def new(self, class_name: str, **args: Any) -> "JavaObject":
        """Constructs a Java object registered as a Quiver object class, passing ``args``
        (JSON-compatible values) to its constructor. Its methods take and return Arrow data::

            model = eng.new("com.acme.Model", path="model.bin")
            predictions = model.predict(table)
        """
        handle = self._udf_new(class_name, _json_args(args))
        return JavaObject(self, class_name, handle)


class JavaFunction:
    """A Java function bound to an engine; see :meth:`Engine.function`."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args and all(isinstance(a, Expr) for a in args) and not kwargs:
            return Call(self.name, list(args), user=self.name not in SCALAR_FUNCTIONS)
        if len(args) != 1:
            raise TypeError(f"{self.name}(data, **options): a batch operator takes one data "
                            f"argument and keyword options; got {len(args)} positional")
        return _run_on(args[0], lambda r: self.engine._udf_call(self.name, r,
                                                                 _json_args(kwargs)),
                       self.engine)

    def stream(self, data: Any, **kwargs: Any) -> pa.RecordBatchReader:
        """Runs the batch operator lazily: batches are produced as the input is read."""
        reader = data.to_batches() if isinstance(data, Frame) else _data.to_reader(data)
        return self.engine._udf_call(self.name, reader, _json_args(kwargs))

    def __repr__(self) -> str:
        return f"<JavaFunction {self.name} on {self.engine.mode} engine>"


class JavaObject:
    """A Java object living in the engine; methods take and return Arrow data.

    ``obj.method(data, **options)`` sends ``data`` (any input of :meth:`Engine.put`, or a
    frame) and returns the result in the same family as ``data``. Close it (or use ``with``)
    to release it; it is also released at garbage collection.
    """

    def __init__(self, engine: Engine, class_name: str, handle: Any) -> None:
        self._engine = engine
        self._class = class_name
        self._handle = handle
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _close_handle, engine, handle)

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)

        def call(data: Any, **kwargs: Any) -> Any:
            return _run_on(data, lambda r: self._engine._udf_method(
                self._handle, method, r, _json_args(kwargs)), self._engine)

        call.__name__ = method
        return call

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> "JavaObject":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<JavaObject {self._class} on {self._engine.mode} engine>"


def _close_handle(engine: Engine, handle: Any) -> None:
    try:
        engine._udf_close(handle)
    except Exception:  # noqa: BLE001 - best effort at garbage collection time
        pass


def _run_on(data: Any, run: Any, engine: Engine) -> Any:
    """Runs ``run(reader)`` over ``data`` and returns the result in ``data``'s family."""
    if isinstance(data, Frame):
        out = run(data.to_batches())
        return engine.from_arrow(_read_all(out))
    kind = _data.kind_of(data)
    out = run(_data.to_reader(data))
    if kind == "reader":
        return out
    return _data.from_table(_read_all(out), kind)


def _read_all(reader: pa.RecordBatchReader) -> pa.Table:
    try:
        return reader.read_all()
    finally:
        reader.close()


def _json_args(args: Mapping[str, Any]) -> dict:
    out = {}
    for k, v in args.items():
        if hasattr(v, "item") and not isinstance(v, (str, bytes)):
            v = v.item()
        if hasattr(v, "__fspath__"):
            v = str(v)
        try:
            json.dumps(v)
        except TypeError as e:
            raise PlanError(f"argument {k}={v!r} is not JSON-compatible (str, number, bool, "
                            "None, list, dict)") from e
        out[k] = v
    return out


def iter_reader(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    """Iterates a reader and closes it at the end."""
    try:
        yield from reader
    finally:
        reader.close()

