"""Every way a table can travel through Quiver, and one rule for judging what came back.

Shared by the fidelity matrix (``test_trust_matrix.py``, ``trust_matrix.py``) and the random
round trips (``test_trust_random.py``). A *path* takes a PyArrow table and returns what the far
side saw; :func:`run_path` turns that into an :class:`Outcome`:

* ``equal``: schema (with schema and field metadata) and values are identical;
* ``refused``: Quiver (or the consumer) raised an error; the caller checks that the refusal is
  a documented one;
* ``changed``: something came back that differs from what went in. That is always a bug.

For the consumer paths (Polars, DuckDB) the oracle is the same consumer reading the original
PyArrow table directly: Quiver must be invisible to the consumer.

Example::

    with TrustEnv.start() as env:
        print(run_path(env, "flight_put_get", pa.table({"x": [1, 2]}), "demo"))
"""
from __future__ import annotations

import gc
import itertools
from dataclasses import dataclass
from typing import Any, Callable

import pyarrow as pa
import pyarrow.flight as flight

from flight_server import ServerProcess, action_json, idle_bytes, wait_idle

IDENTITY_PLAN = b'{"version":1,"plan":{"node":"input","name":"input"}}'


@dataclass
class TrustEnv:
    """One Flight server subprocess, a client to it, and this process's local engine."""

    server: ServerProcess
    client: flight.FlightClient
    engine: Any
    _names: Any = None

    @classmethod
    def start(cls) -> "TrustEnv":
        import quiver as qv

        srv = ServerProcess.start("--memory-limit", "1g")
        return cls(srv, srv.client(), qv.local(), itertools.count())

    def unique(self, stem: str) -> str:
        return f"trust_{stem}_{next(self._names)}"

    def close(self) -> None:
        self.client.close()
        self.server.stop()

    def __enter__(self) -> "TrustEnv":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---- paths ----------------------------------------------------------------------------------

def _flight_put_get(env: TrustEnv, table: pa.Table, name: str) -> pa.Table:
    c = env.client
    writer, meta = c.do_put(flight.FlightDescriptor.for_path(name), table.schema)
    try:
        for batch in table.to_batches():
            writer.write_batch(batch)
        writer.done_writing()
        meta.read()
    finally:
        writer.close()
    try:
        return c.do_get(flight.Ticket(name.encode())).read_all()
    finally:
        list(c.do_action(flight.Action("drop", name.encode())))


def _flight_exchange(env: TrustEnv, table: pa.Table, name: str) -> pa.Table:
    writer, reader = env.client.do_exchange(flight.FlightDescriptor.for_command(IDENTITY_PLAN))
    try:
        writer.begin(table.schema)
        for batch in table.to_batches():
            writer.write_batch(batch)
        writer.done_writing()
        return reader.read_all()
    finally:
        writer.close()


def _cdata_dataset(env: TrustEnv, table: pa.Table, name: str) -> pa.Table:
    eng = env.engine
    eng.put(name, table)
    try:
        return eng.get(name).to_arrow()
    finally:
        eng.drop(name, missing_ok=True)


def _cstream_reader(env: TrustEnv, table: pa.Table, name: str) -> pa.Table:
    eng = env.engine
    return eng.to_python(eng.to_java(table)).to_arrow()


def _quiver_result(env: TrustEnv, table: pa.Table, name: str):
    """A Quiver result holding ``table`` (through a committed dataset), for the consumers."""
    eng = env.engine
    eng.put(name, table)
    try:
        return eng.get(name)
    finally:
        eng.drop(name, missing_ok=True)  # the result keeps its reference


def _capsule_pyarrow(env: TrustEnv, table: pa.Table, name: str) -> pa.Table:
    return pa.RecordBatchReader.from_stream(_quiver_result(env, table, name)).read_all()


class _CapsuleOnly:
    """Shows a PyArrow table to a consumer through the PyCapsule protocol only, so the oracle
    takes the same code path in the consumer as a Quiver result does."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self._table.__arrow_c_stream__(requested_schema)


def _polars_read(source: Any):
    import polars as pl

    if isinstance(source, pa.Table):
        source = _CapsuleOnly(source)
    return pl.DataFrame(source)


def _duckdb_read(source: Any) -> pa.Table:
    import duckdb

    if isinstance(source, pa.Table):
        source = _CapsuleOnly(source)
    con = duckdb.connect()
    try:
        rel = con.from_arrow(source)
        for method in ("to_arrow_table", "fetch_arrow_table", "arrow"):
            if hasattr(rel, method):
                return getattr(rel, method)()
        raise AttributeError("this DuckDB has no Arrow table export")
    finally:
        con.close()


@dataclass(frozen=True)
class Path:
    name: str
    title: str
    run: Callable[[TrustEnv, pa.Table, str], Any]
    # For consumer paths: how the consumer reads a plain PyArrow table (the oracle).
    consumer: Callable[[Any], Any] | None = None


PATHS: dict[str, Path] = {p.name: p for p in [
    Path("flight_put_get", "Flight DoPut -> DoGet", _flight_put_get),
    Path("flight_exchange", "Flight DoExchange (identity plan)", _flight_exchange),
    Path("cdata_dataset", "C Data: put -> dataset -> get", _cdata_dataset),
    Path("cstream_reader", "C Stream: to_java -> to_python", _cstream_reader),
    Path("capsule_pyarrow", "PyCapsule -> PyArrow", _capsule_pyarrow),
    Path("capsule_polars", "PyCapsule -> Polars",
         lambda env, t, n: _polars_read(_quiver_result(env, t, n)), _polars_read),
    Path("capsule_duckdb", "PyCapsule -> DuckDB",
         lambda env, t, n: _duckdb_read(_quiver_result(env, t, n)), _duckdb_read),
]}


# ---- judging ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    status: str  # "equal" | "refused" | "consumer-refuses" | "changed"
    detail: str = ""

    def cell(self) -> str:
        if self.status == "equal":
            return "equal" + (f" ({self.detail})" if self.detail else "")
        return f"{self.status}: {self.detail}"


# Rust consumers (Polars) raise pyo3 PanicException, a BaseException: count it as a refusal.
_ERRORS = (Exception, BaseException)


def _first_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def schema_difference(got: pa.Schema, expected: pa.Schema) -> str | None:
    if not got.equals(expected, check_metadata=True):
        return f"schema {got!r} != {expected!r}".replace("\n", " ")[:400]
    for f_got, f_exp in zip(got, expected):
        if (f_got.metadata or {}) != (f_exp.metadata or {}):
            return f"field {f_exp.name!r} metadata {f_got.metadata} != {f_exp.metadata}"
    return None


def table_difference(got: pa.Table, expected: pa.Table) -> str | None:
    """None when ``got`` is ``expected`` (schema with metadata, values, null positions); else
    what differs. Chunk boundaries may differ; values are compared, not buffers."""
    diff = schema_difference(got.schema, expected.schema)
    if diff:
        return diff
    if got.num_rows != expected.num_rows:
        return f"{got.num_rows} rows != {expected.num_rows}"
    if got.equals(expected):
        return None
    for i, name in enumerate(expected.column_names):
        a, b = got.column(i), expected.column(i)
        if not a.equals(b):
            # Dictionary columns may legitimately be re-encoded (chunks unified): compare the
            # decoded values; any other difference is a change.
            if pa.types.is_dictionary(b.type) and a.to_pylist() == b.to_pylist():
                continue
            return f"column {name!r} values differ"
    return None


def _consumer_difference(got: Any, expected: Any) -> str | None:
    if isinstance(expected, pa.Table):
        return table_difference(got, expected)
    # Polars DataFrame
    if got.schema != expected.schema:
        return f"polars schema {got.schema} != {expected.schema}"
    if not got.equals(expected, null_equal=True):
        return "polars values differ"
    return None


def _consumer_is_faithful(oracle: Any, table: pa.Table) -> bool:
    try:
        if isinstance(oracle, pa.Table):
            return oracle.to_pylist() == table.to_pylist()
        return oracle.to_dict(as_series=False) == table.to_pydict()
    except _ERRORS:
        return False


def run_path(env: TrustEnv, path_name: str, table: pa.Table, stem: str) -> Outcome:
    path = PATHS[path_name]
    name = env.unique(stem)
    if path.consumer is not None:
        try:
            oracle = path.consumer(table)
        except _ERRORS as exc:  # the consumer cannot read this type at all
            oracle_error = exc
        else:
            oracle_error = None
        try:
            got = path.run(env, table, name)
        except _ERRORS as exc:
            if oracle_error is not None and type(exc) is type(oracle_error):
                return Outcome("consumer-refuses", _first_line(oracle_error))
            return Outcome("refused", _first_line(exc))
        if oracle_error is not None:
            if _consumer_is_faithful(got, table):
                return Outcome("equal", "the consumer fails on the PyArrow original but reads "
                                        "Quiver's result correctly")
            return Outcome("changed", f"consumer refuses the PyArrow table "
                                      f"({_first_line(oracle_error)}) but read Quiver's")
        diff = _consumer_difference(got, oracle)
        if diff and not _consumer_is_faithful(oracle, table):
            # The consumer garbles this type even from PyArrow (its reads are not even
            # deterministic): it cannot be an oracle for Quiver here.
            return Outcome("consumer-refuses", f"the consumer misreads this type from PyArrow "
                                               f"too ({diff})")
        return Outcome("changed", diff) if diff else Outcome("equal")
    try:
        got = path.run(env, table, name)
    except _ERRORS as exc:
        return Outcome("refused", _first_line(exc))
    diff = table_difference(got, table)
    if diff:
        return Outcome("changed", diff)
    detail = ""
    if not got.equals(table):
        detail = "dictionaries unified"
    return Outcome("equal", detail)


def local_idle(engine: Any) -> int:
    gc.collect()
    engine.release_caches()
    return engine.stats()["allocated_bytes"]


__all__ = ["TrustEnv", "PATHS", "Outcome", "run_path", "table_difference", "schema_difference",
           "local_idle", "action_json", "idle_bytes", "wait_idle", "IDENTITY_PLAN"]
