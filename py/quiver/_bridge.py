"""The in-process zero-copy bridge: Arrow data crosses between Python and the JVM through the
Arrow C Data / C Stream Interface, by pointer, never by copy.

Python -> Java: :func:`to_java` takes anything that speaks the Arrow PyCapsule protocol
(``__arrow_c_stream__`` or ``__arrow_c_array__``: PyArrow tables, batches and readers, Polars,
pandas, DuckDB relations) or a dict of NumPy arrays, and returns a Java ``ArrowReader``
(``dev.quiver.engine.bridge.CStreamReader``) whose vectors ARE the Python buffers.

Java -> Python: :func:`to_python` takes a Java ``ArrowReader``, ``Dataset`` or ``StreamExport`` and
returns a :class:`Result`, which implements ``__arrow_c_stream__`` / ``__arrow_c_schema__`` so that
``pyarrow.table(r)``, ``polars.DataFrame(r)`` and ``duckdb.sql("select ... from r")`` read it
directly; its arrays ARE the Java buffers.

Both directions run in time independent of the row count (see ``docs/in-process.md``).

>>> import numpy as np, quiver as qv                     # doctest: +SKIP
>>> eng = qv.local()                                      # doctest: +SKIP
>>> reader = eng.bridge.to_java({"x": np.arange(3.0)})    # doctest: +SKIP
>>> eng.bridge.to_python(reader).to_numpy()               # doctest: +SKIP
array([0., 1., 2.])
"""
from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import pyarrow as pa

from . import _jvm, errors

__all__ = [
    "Bridge", "Result", "to_java", "to_python", "stream_capsule", "translate_java_error",
    "register_java_error", "java_errors",
]

# sizeof(struct ArrowSchema) on 64-bit platforms.
_SCHEMA_STRUCT_BYTES = 72

_capsule_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_get_pointer.restype = ctypes.c_void_p
_capsule_get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]

class _ArrowArray(ctypes.Structure):
    """``struct ArrowArray`` of the C Data Interface."""

    _fields_ = [
        ("length", ctypes.c_int64), ("null_count", ctypes.c_int64), ("offset", ctypes.c_int64),
        ("n_buffers", ctypes.c_int64), ("n_children", ctypes.c_int64),
        ("buffers", ctypes.c_void_p), ("children", ctypes.c_void_p),
        ("dictionary", ctypes.c_void_p), ("release", ctypes.c_void_p),
        ("private_data", ctypes.c_void_p),
    ]


_RELEASE_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def _make_release_trampoline(pending: dict, state: dict, struct_type, fn_type):
    """The release callback PyArrow gets for every batch exported by Java.

    Java fills an ArrowArray whose release callback is Arrow's JNI glue, which calls into the
    JVM. PyArrow instead gets a copy whose release is this function: it releases the Java struct
    while the JVM runs and does nothing once the JVM is being destroyed at interpreter exit
    (the memory is the process's to reclaim then), so no release ever calls into a dead JVM.
    Everything it needs is bound here, not looked up in module globals, which interpreter
    shutdown may already have cleared.
    """

    def release(address: int) -> None:
        try:
            outer = struct_type.from_address(address)
            token = outer.private_data
            outer.release = None
            outer.private_data = None
            inner = pending.pop(token, None)
            if inner is not None and state["jvm"] and inner.release:
                fn_type(inner.release)(ctypes.addressof(inner))
        except BaseException:  # a release callback has no caller to report to
            pass

    return release


# Java-exported structs PyArrow still holds, by token; the flag turns off at interpreter exit.
_PENDING_RELEASES: dict[int, _ArrowArray] = {}
_RELEASE_STATE = {"jvm": True}
_RELEASE_TRAMPOLINE = _RELEASE_FN(
    _make_release_trampoline(_PENDING_RELEASES, _RELEASE_STATE, _ArrowArray, _RELEASE_FN))
_RELEASE_ADDRESS = ctypes.cast(_RELEASE_TRAMPOLINE, ctypes.c_void_p).value
# Immortal: PyArrow may release a batch during interpreter shutdown, after module globals went.
ctypes.pythonapi.Py_IncRef(ctypes.py_object(_RELEASE_TRAMPOLINE))


def _jvm_exiting() -> None:
    _RELEASE_STATE["jvm"] = False


_jvm.on_jvm_exit(_jvm_exiting)


def _import_java_batch(inner: _ArrowArray, schema: pa.Schema) -> pa.RecordBatch:
    """Hands the Java-filled struct ``inner`` to PyArrow behind the release trampoline."""
    outer = _ArrowArray()
    ctypes.memmove(ctypes.addressof(outer), ctypes.addressof(inner), ctypes.sizeof(_ArrowArray))
    token = id(inner)
    outer.private_data = token
    outer.release = _RELEASE_ADDRESS
    _PENDING_RELEASES[token] = inner
    # PyArrow moves `outer` (and calls the trampoline even if the import fails).
    return pa.RecordBatch._import_from_c(ctypes.addressof(outer), schema)


# Java exception class -> Python exception type. Other parts of Quiver add theirs with
# register_java_error (e.g. the engine's plan errors).
_JAVA_ERRORS: dict[str, type[errors.QuiverError]] = {
    "dev.quiver.engine.memory.MemoryLimitExceeded": errors.MemoryLimitError,
    "org.apache.arrow.memory.OutOfMemoryException": errors.MemoryLimitError,
    "dev.quiver.engine.dataset.DatasetNotFound": errors.DatasetNotFound,
    "dev.quiver.engine.bridge.UnsupportedArrowType": errors.UnsupportedType,
    "dev.quiver.engine.expr.ComputeException": errors.ComputeError,
    # The engine's group and join tables live on the Java heap, not under the memory limit.
    "java.lang.OutOfMemoryError": errors.MemoryLimitError,
}

# What to add to a Java exception's own message when it is not enough to act on.
_JAVA_ERROR_HINTS: dict[str, str] = {
    "java.lang.OutOfMemoryError": (
        " (the JVM heap is exhausted: the engine's group and join tables live on the Java heap; "
        "start Quiver with a larger heap, e.g. quiver.local(heap=\"4g\"), or reduce the "
        "number of groups)"),
}


def register_java_error(java_class: str, python_type: type[errors.QuiverError]) -> None:
    """Maps Java exceptions of class ``java_class`` (binary name, e.g. ``a.b.C$D``) to
    ``python_type`` in :func:`translate_java_error`.

    >>> register_java_error("dev.quiver.engine.plan.ColumnNotFound", errors.ColumnNotFound)  # doctest: +SKIP
    """
    if not issubclass(python_type, errors.QuiverError):
        raise TypeError(f"{python_type!r} is not a QuiverError subclass")
    _JAVA_ERRORS[java_class] = python_type


# Functions (java exception -> Python type or None) consulted before the class table, for
# exceptions whose class alone does not decide (PlanException carries a kind).
_JAVA_ERROR_RESOLVERS: list = []


def register_java_error_resolver(resolver) -> None:
    """Adds ``resolver(java_exception) -> type | None`` to :func:`translate_java_error`; the
    first non-None answer along the cause chain decides the Python type."""
    _JAVA_ERROR_RESOLVERS.append(resolver)


def translate_java_error(exc: BaseException) -> BaseException:
    """The Quiver exception for a Java exception raised through JPype (the Java message; the
    Java exception kept as ``.original``, not chained, so tracebacks show no raw Java stack);
    other exceptions are returned unchanged.

    The first class in the cause chain with a registered mapping decides the type; a Java
    exception without one becomes :class:`quiver.JavaError` (message prefixed with the class).
    """
    import jpype

    if not isinstance(exc, jpype.JException):
        return exc
    chain = []
    cur = exc
    while cur is not None and len(chain) < 16:
        chain.append(cur)
        cur = cur.getCause()
    for j in chain:
        name = str(j.getClass().getName())
        py = None
        for resolve in _JAVA_ERROR_RESOLVERS:
            py = resolve(j)
            if py is not None:
                break
        if py is None:
            py = _JAVA_ERRORS.get(name)
        if py is not None:
            msg = j.getMessage()
            out = py((str(msg) if msg is not None else name) + _JAVA_ERROR_HINTS.get(name, ""))
            out.java_class = name  # type: ignore[attr-defined]
            out.original = exc  # type: ignore[attr-defined]
            return out
    name = str(exc.getClass().getName())
    msg = exc.getMessage()
    out = errors.JavaError(f"{name}: {msg}" if msg is not None else name)
    out.java_class = name  # type: ignore[attr-defined]
    out.original = exc  # type: ignore[attr-defined]
    return out


class java_errors:
    """Context manager translating Java exceptions into Quiver's (see
    :func:`translate_java_error`).

    >>> with java_errors():                        # doctest: +SKIP
    ...     catalog.get("missing")                 # raises quiver.DatasetNotFound
    """

    def __enter__(self) -> "java_errors":
        return self

    def __exit__(self, et, ev, tb) -> bool:
        if ev is None:
            return False
        translated = translate_java_error(ev)
        if translated is ev:
            return False
        # Not chained: a traceback shows the Quiver error and the Java message, never the raw
        # Java stack (kept as ``translated.original`` for debugging).
        raise translated from None


def _capsule_pointer(capsule: Any, name: bytes) -> int:
    ptr = _capsule_get_pointer(capsule, name)
    if not ptr:
        raise TypeError(f"not a PyCapsule named {name.decode()!r}")
    return int(ptr)


def _table_from_mapping(data: Mapping[str, Any]) -> pa.Table:
    """A table over the mapping's arrays. NumPy arrays of numbers (contiguous, native byte order)
    are wrapped without a copy; anything else is converted by ``pyarrow.array`` (a copy)."""
    columns = {}
    for name, value in data.items():
        if not isinstance(name, str):
            raise TypeError(f"column names must be str, got {type(name).__name__}: {name!r}")
        if isinstance(value, (pa.Array, pa.ChunkedArray)):
            columns[name] = value
        else:
            try:
                columns[name] = pa.array(value)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as e:
                raise TypeError(f"column {name!r}: cannot convert to Arrow: {e}") from e
    return pa.table(columns)


def stream_capsule(data: Any, requested_schema: Any = None) -> Any:
    """An ``arrow_array_stream`` PyCapsule for ``data`` (see :func:`to_java` for what is accepted).

    >>> stream_capsule(pa.table({"a": [1]}))      # doctest: +ELLIPSIS
    <capsule object "arrow_array_stream" at ...>
    """
    if isinstance(data, Result):
        return data.__arrow_c_stream__(requested_schema)
    if hasattr(data, "__arrow_c_stream__"):
        return data.__arrow_c_stream__(requested_schema)
    if isinstance(data, Mapping):
        return _table_from_mapping(data).__arrow_c_stream__(requested_schema)
    if hasattr(data, "__arrow_c_array__"):
        batch = pa.record_batch(data)
        return batch.__arrow_c_stream__(requested_schema)
    try:  # pandas without the PyCapsule protocol (pandas < 2.2)
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            return pa.Table.from_pandas(data, preserve_index=False).__arrow_c_stream__(
                requested_schema)
    except ImportError:  # pragma: no cover
        pass
    if hasattr(data, "fetch_record_batch"):  # DuckDB relations of older DuckDB versions
        return data.fetch_record_batch().__arrow_c_stream__(requested_schema)
    raise TypeError(
        f"cannot hand {type(data).__module__}.{type(data).__qualname__} to Java: expected an"
        " object with __arrow_c_stream__ or __arrow_c_array__ (PyArrow, Polars, pandas, DuckDB)"
        " or a dict of NumPy arrays"
    )


class Result:
    """Arrow data that lives in Java, seen from Python without a copy.

    Implements the Arrow PyCapsule protocol, so ``pyarrow.table(r)``, ``polars.DataFrame(r)``,
    ``duckdb.sql("select * from r")`` and ``pandas`` (through PyArrow) consume it directly.
    The batches are imported lazily from Java; the first full read (``to_arrow``, the capsule
    protocol, ``len``) keeps them, so a result can be read any number of times. ``batches()``
    streams instead (single pass, when nothing was kept yet).

    Every array's buffers are Java's: Python holds a reference on each, released (through the
    C Data release callback) when the last PyArrow object using it goes away. Java may drop the
    source first; the memory stays valid until then.

    >>> r = eng.get("trips")                      # doctest: +SKIP
    >>> r.to_arrow().num_rows                     # doctest: +SKIP
    1000000
    """

    def __init__(self, export: Any, bridge: "Bridge") -> None:
        self._export = export
        self._bridge = bridge
        self._lock = threading.RLock()
        self._table: pa.Table | None = None
        self._streamed = False
        holder = (ctypes.c_uint8 * _SCHEMA_STRUCT_BYTES)()
        try:
            with java_errors():
                export.exportSchema(ctypes.addressof(holder))
            self._schema = pa.Schema._import_from_c(ctypes.addressof(holder))
        except BaseException:
            self.close()
            raise

    # -- reading ------------------------------------------------------------------------------
    @property
    def schema(self) -> pa.Schema:
        """The Arrow schema, with field and schema metadata."""
        return self._schema

    def _next_batch(self) -> pa.RecordBatch | None:
        if self._export is None:
            raise RuntimeError("this result was closed")
        inner = _ArrowArray()
        with java_errors():
            more = self._export.exportNext(ctypes.addressof(inner))
        if not more:
            return None
        # The release callback returns the buffers to Java when the last PyArrow reference goes.
        return _import_java_batch(inner, self._schema)

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Yields the record batches (zero-copy). Streams from Java unless already kept by an
        earlier full read; a streamed result cannot be read again."""
        with self._lock:
            if self._table is not None:
                yield from self._table.to_batches()
                return
            if self._streamed:
                raise RuntimeError("this result was already streamed; it can be read only once")
            self._streamed = True
        while True:
            with self._lock:
                batch = self._next_batch()
            if batch is None:
                return
            yield batch

    def to_arrow(self) -> pa.Table:
        """The whole result as a ``pyarrow.Table`` whose buffers are Java's (no copy)."""
        with self._lock:
            if self._table is None:
                if self._streamed:
                    raise RuntimeError("this result was already streamed; it can be read only once")
                self._streamed = True
                out = []
                while True:
                    b = self._next_batch()
                    if b is None:
                        break
                    out.append(b)
                self._table = pa.Table.from_batches(out, schema=self._schema)
            return self._table

    def to_numpy(self, column: str | int | None = None):
        """NumPy view of a column (or, for several columns and ``column=None``, a dict of them).

        Zero-copy (a read-only view of Java's buffer) when the column is a fixed-width number
        type (int*, uint*, float*), has no nulls, and lies in one chunk. Otherwise a copy is made
        by PyArrow's rule: chunks are concatenated, null floats become NaN, integers with nulls
        become float64 with NaN, booleans/strings/nested values become a bool / object array,
        temporal types become ``datetime64``/``timedelta64``.
        """
        table = self.to_arrow()
        if column is None:
            if table.num_columns == 1:
                return _column_numpy(table.column(0))
            return {name: _column_numpy(table.column(name)) for name in table.column_names}
        return _column_numpy(table.column(column))

    def to_pandas(self, **kwargs):
        """``pandas.DataFrame`` via PyArrow (copies, except where pandas can wrap Arrow data)."""
        return self.to_arrow().to_pandas(**kwargs)

    def to_polars(self):
        """``polars.DataFrame`` over the same buffers (Polars imports Arrow zero-copy)."""
        import polars as pl

        return pl.from_arrow(self.to_arrow())

    @property
    def num_rows(self) -> int:
        return self.to_arrow().num_rows

    def __len__(self) -> int:
        return self.num_rows

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        """An ``arrow_array_stream`` capsule over the (kept) batches; zero-copy."""
        return self.to_arrow().__arrow_c_stream__(requested_schema)

    def __arrow_c_schema__(self) -> Any:
        return self._schema.__arrow_c_schema__()

    # -- lifetime -----------------------------------------------------------------------------
    def close(self) -> None:
        """Stops reading from Java (the source's memory is released). Batches already read stay
        valid until dropped."""
        export, self._export = self._export, None
        if export is not None:
            _close_java(export)

    def __enter__(self) -> "Result":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        n = f"{self._table.num_rows} rows" if self._table is not None else "not read yet"
        return f"<quiver.Result {n}; schema: {', '.join(f'{f.name}: {f.type}' for f in self._schema)}>"


def _close_java(obj: Any) -> None:
    """Closes a Java AutoCloseable unless the JVM is already gone (interpreter exit)."""
    import jpype

    if not jpype.isJVMStarted():
        return
    with java_errors():
        obj.close()


_NUMERIC = (pa.types.is_integer, pa.types.is_floating)


def _column_numpy(col: pa.ChunkedArray):
    if col.num_chunks == 1 and col.null_count == 0 and any(p(col.type) for p in _NUMERIC):
        return col.chunk(0).to_numpy(zero_copy_only=True)
    return col.to_numpy()


class Bridge:
    """Python face of one Java ``dev.quiver.engine.bridge.CDataBridge``.

    ``LocalEngine`` owns the process's bridge (``quiver.local().bridge``); build another only to
    charge memory to a different allocator.
    """

    def __init__(self, java_bridge: Any) -> None:
        self.java = java_bridge

    def to_java(self, data: Any):
        """Hands ``data`` to Java as an ``ArrowReader`` (a ``CStreamReader``) without copying.

        ``data`` is anything with ``__arrow_c_stream__`` or ``__arrow_c_array__`` (PyArrow
        Table/RecordBatch/RecordBatchReader, Polars DataFrame, pandas DataFrame, DuckDB relation,
        a :class:`Result`) or a mapping of column name to NumPy array. The reader pulls batches
        from the producer as Java asks for them; close it (Java side) when done. Its vectors are
        read-only views of Python memory, kept alive by Java until closed.
        """
        capsule = stream_capsule(data)
        address = _capsule_pointer(capsule, b"arrow_array_stream")
        with java_errors():
            # Java moves the struct out; the capsule's destructor then sees it released.
            reader = self.java.importStream(address)
            try:
                reader.getVectorSchemaRoot()  # imports the schema: refusals surface here
            except BaseException:
                reader.close()
                raise
            return reader

    def to_python(self, source: Any) -> Result:
        """A :class:`Result` over a Java ``ArrowReader`` (ownership passes to the result),
        ``Dataset`` (one reference passes to the result) or ``StreamExport``."""
        import jpype

        StreamExport = jpype.JClass("dev.quiver.engine.bridge.StreamExport")
        ArrowReader = jpype.JClass("org.apache.arrow.vector.ipc.ArrowReader")
        Dataset = jpype.JClass("dev.quiver.engine.dataset.Dataset")
        with java_errors():
            if isinstance(source, StreamExport):
                export = source
            elif isinstance(source, ArrowReader):
                export = self.java.exportReader(source)
            elif isinstance(source, Dataset):
                export = self.java.exportDataset(source)
            else:
                raise TypeError(
                    f"to_python expects a Java ArrowReader, Dataset or StreamExport, got {source!r}")
        return Result(export, self)

    def import_dataset(self, catalog: Any, name: str, data: Any, *, append: bool = False) -> int:
        """Commits ``data`` as dataset ``name`` of the Java ``catalog``; returns its row count.
        Zero-copy: the dataset's buffers are Python's until the dataset is dropped."""
        capsule = stream_capsule(data)
        address = _capsule_pointer(capsule, b"arrow_array_stream")
        with java_errors():
            return int(self.java.importDataset(catalog, name, address, append))


def _default_bridge() -> Bridge:
    from ._local import LocalEngine

    return LocalEngine.instance().bridge


def to_java(data: Any, bridge: Bridge | None = None):
    """:meth:`Bridge.to_java` on the local engine's bridge (starting it if needed)."""
    return (bridge or _default_bridge()).to_java(data)


def to_python(source: Any, bridge: Bridge | None = None) -> Result:
    """:meth:`Bridge.to_python` on the local engine's bridge."""
    return (bridge or _default_bridge()).to_python(source)
