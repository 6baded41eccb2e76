"""The remote engine: the same interface as the local one, over Arrow Flight.

Wire contract (docs/server.md of the Flight server):

* datasets: DoPut with path descriptor ``[name]`` (or ``[name, "append"]``), DoGet with the
  name as ticket, ListFlights, GetSchema, DoAction ``drop`` (body = name);
* plans: DoGet with the plan document as ticket, GetSchema with the plan as command descriptor;
  a plan with an ``input`` node named ``"input"`` runs through DoExchange (the client streams
  its batches while reading results);
* Java functions: DoExchange with a command ``{"udf": {...}}`` (see docs/java-functions.md and
  ``dev.quiver.engine.udf.UdfService``).

>>> import quiver as qv
>>> eng = qv.connect("grpc://127.0.0.1:8815", token="s3cret")   # doctest: +SKIP
>>> eng.list()                                                 # doctest: +SKIP
['customer', 'lineitem', ...]
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Iterator, Mapping

import pyarrow as pa
import pyarrow.flight as fl

from . import _data, _progress
from ._engine import TEMP_PREFIX, DatasetInfo, Engine, StreamResult
from .frame import Frame
from ._errmap import from_flight
from .errors import DatasetNotFound, PlanError

__all__ = ["RemoteEngine"]

# Each batch sent travels as one gRPC message, and a server refuses messages over its
# --max-message-size (health's "max_message_bytes"). Larger batches are sent as zero-copy
# slices of at most this many bytes, or a quarter of the server's limit if that is less.
MESSAGE_TARGET_BYTES = 16 << 20


def message_sized(batches: Iterator[pa.RecordBatch], target: int) -> Iterator[pa.RecordBatch]:
    """``batches``, each larger than ``target`` bytes cut into row slices (no copy).

    >>> b = pa.record_batch({"x": pa.array(range(1000), pa.int64())})
    >>> [s.num_rows for s in message_sized(iter([b]), 2_000)]
    [250, 250, 250, 250]
    """
    for batch in batches:
        # Rows first: PyArrow 26's nbytes crashes on an empty union column.
        if batch.num_rows <= 1 or batch.nbytes <= target:
            yield batch
            continue
        size = batch.nbytes
        pieces = -(-size // target)
        step = -(-batch.num_rows // pieces)
        for start in range(0, batch.num_rows, step):
            yield batch.slice(start, step)


class RemoteEngine(Engine):
    """An engine behind a Quiver Flight server. Create with :func:`quiver.connect`."""

    mode = "remote"

    def __init__(self, uri: str, token: str | None = None,
                 tls_root_certs: bytes | str | os.PathLike | None = None,
                 timeout: float | None = None, **client_options: Any) -> None:
        if "://" not in uri:
            uri = "grpc://" + uri
        certs = tls_root_certs
        if certs is not None and not isinstance(certs, bytes):
            p = Path(certs)
            certs = p.read_bytes() if p.is_file() else str(certs).encode()
        if certs is not None and uri.startswith("grpc://"):
            uri = "grpc+tls://" + uri[len("grpc://"):]
        self.uri = uri
        kwargs = dict(client_options)
        if certs is not None:
            kwargs["tls_root_certs"] = certs
        try:
            self._client = fl.FlightClient(uri, **kwargs)
        except Exception as e:  # noqa: BLE001
            raise from_flight(e) from None
        headers = [(b"authorization", b"Bearer " + token.encode())] if token else []
        self._options = fl.FlightCallOptions(headers=headers, timeout=timeout)
        self._stream_options = fl.FlightCallOptions(headers=headers)
        self._message_limit: int | None = None

    def __repr__(self) -> str:
        return f"<quiver.RemoteEngine {self.uri}>"

    def close(self) -> None:
        self._client.close()

    # ---- datasets ------------------------------------------------------------------------------
    def put(self, name: str, data: Any, *, mode: str = "replace") -> DatasetInfo:
        if mode not in ("replace", "append"):
            raise ValueError(f"mode must be 'replace' or 'append', got {mode!r}")
        reader = data.to_batches() if isinstance(data, Frame) else _data.to_reader(data)
        self._put_reader(name, reader, mode == "append")
        return self.info(name)

    def _put_reader(self, name: str, reader: pa.RecordBatchReader, append: bool) -> None:
        path = [name, "append"] if append else [name]
        desc = fl.FlightDescriptor.for_path(*path)
        try:
            writer, meta = self._client.do_put(desc, reader.schema, self._stream_options)
            try:
                for batch in message_sized(
                        _progress.track_batches(iter(reader), f"put {name}"),
                        self._message_target()):
                    writer.write_batch(batch)
                writer.done_writing()
                _drain_metadata(meta)
            finally:
                writer.close()
        except Exception as e:  # noqa: BLE001
            raise from_flight(e) from None

    def get(self, name: str) -> StreamResult:
        return StreamResult(self._get_reader(name))

    def info(self, name: str) -> DatasetInfo:
        """Rows, batches, bytes and schema of a dataset (GetFlightInfo; reads no data)."""
        try:
            fi = self._client.get_flight_info(fl.FlightDescriptor.for_path(name), self._options)
        except Exception as e:  # noqa: BLE001
            raise _not_found(from_flight(e)) from None
        return _info(name, fi)

    def _get_reader(self, name: str) -> pa.RecordBatchReader:
        try:
            stream = self._client.do_get(fl.Ticket(name.encode()), self._stream_options)
            return _progress.tracked_reader(stream.to_reader(), f"get {name}")
        except Exception as e:  # noqa: BLE001
            raise from_flight(e) from None

    def list(self) -> list[DatasetInfo]:
        try:
            out = []
            for fi in self._client.list_flights(b"", self._options):
                path = fi.descriptor.path
                if path and not _text(path[0]).startswith(TEMP_PREFIX):
                    out.append(_info(_text(path[0]), fi))
        except Exception as e:  # noqa: BLE001
            raise from_flight(e) from None
        return sorted(out, key=lambda d: d.name)

    def drop(self, name: str, *, missing_ok: bool = False) -> bool:
        try:
            for _ in self._client.do_action(fl.Action("drop", name.encode()), self._options):
                pass
            return True
        except Exception as e:  # noqa: BLE001
            err = _not_found(from_flight(e))
            if isinstance(err, DatasetNotFound):
                if missing_ok:
                    return False
                raise DatasetNotFound(f"dataset '{name}' not found") from None
            raise err from None

    def schema(self, name: str) -> pa.Schema:
        try:
            return self._client.get_schema(fl.FlightDescriptor.for_path(name),
                                           self._options).schema
        except Exception as e:  # noqa: BLE001
            raise _not_found(from_flight(e)) from None

    def stats(self) -> dict:
        """The server's ``stats`` action: memory, datasets, active streams."""
        return self._action_json("stats")

    def health(self) -> dict:
        return self._action_json("health")

    def _message_target(self) -> int:
        """Bytes per uploaded batch: under the server's message limit, asked once."""
        if self._message_limit is None:
            self._message_limit = int(self.health().get("max_message_bytes", 0))
        limit = self._message_limit
        return min(MESSAGE_TARGET_BYTES, limit // 4) if limit > 0 else MESSAGE_TARGET_BYTES

    def _action_json(self, action: str, body: bytes = b"") -> dict:
        try:
            results = list(self._client.do_action(fl.Action(action, body), self._options))
        except Exception as e:  # noqa: BLE001
            raise from_flight(e) from None
        return json.loads(results[0].body.to_pybytes()) if results else {}

    # ---- plans ---------------------------------------------------------------------------------
    def _execute(self, plan: dict, inputs: Mapping[str, pa.RecordBatchReader]
                 ) -> pa.RecordBatchReader:
        text = json.dumps(plan)
        if inputs:
            if set(inputs) != {"input"}:
                raise PlanError("a remote plan can stream exactly one input, named 'input' "
                                f"(DoExchange); got inputs {sorted(inputs)}")
            return self._exchange(text, inputs["input"], "query")
        try:
            stream = self._client.do_get(fl.Ticket(text.encode()), self._stream_options)
            return _progress.tracked_reader(_mapped(stream.to_reader()), "query")
        except Exception as e:  # noqa: BLE001
            raise from_flight(e) from None

    def _plan_schema(self, plan: dict, inputs: Mapping[str, pa.Schema] | None = None
                     ) -> pa.Schema:
        try:
            return self._client.get_schema(
                fl.FlightDescriptor.for_command(json.dumps(plan)), self._options).schema
        except Exception as e:  # noqa: BLE001
            raise from_flight(e) from None

    def _exchange(self, command: str, reader: pa.RecordBatchReader, desc: str
                  ) -> pa.RecordBatchReader:
        """Streams ``reader`` to the server while results stream back (DoExchange)."""
        target = self._message_target()
        try:
            writer, result = self._client.do_exchange(
                fl.FlightDescriptor.for_command(command), self._stream_options)
        except Exception as e:  # noqa: BLE001
            raise from_flight(e) from None
        failure: list[BaseException] = []

        def feed() -> None:
            try:
                writer.begin(reader.schema)
                for batch in message_sized(iter(reader), target):
                    writer.write_batch(batch)
                writer.done_writing()
            except BaseException as e:  # noqa: BLE001 - surfaced by the reading side
                failure.append(e)
                try:
                    writer.done_writing()
                except Exception:  # noqa: BLE001
                    pass

        sender = threading.Thread(target=feed, name="quiver-exchange-feed", daemon=True)
        sender.start()

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                while True:
                    try:
                        chunk = result.read_chunk()
                    except StopIteration:
                        break
                    if chunk.data is not None:
                        yield chunk.data
                sender.join()
                if failure:
                    raise failure[0]
            except Exception as e:  # noqa: BLE001
                sender.join(timeout=5)
                if failure and not isinstance(e, fl.FlightError):
                    raise from_flight(failure[0]) from None
                raise from_flight(e) from None
            finally:
                try:
                    writer.close()
                except Exception:  # noqa: BLE001 - reported by the read above
                    pass

        try:
            schema = result.schema
        except Exception as e:  # noqa: BLE001
            sender.join(timeout=5)
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - the same failure, already being reported
                pass
            raise from_flight(e) from None
        return _progress.tracked_reader(pa.RecordBatchReader.from_batches(schema, batches()),
                                        desc)

    # ---- Java code -----------------------------------------------------------------------------
    def _udf_call(self, name: str, reader: pa.RecordBatchReader, args: dict
                  ) -> pa.RecordBatchReader:
        return self._exchange(json.dumps({"udf": {"operator": name, "args": args}}), reader,
                              name)

    def _udf_new(self, class_name: str, args: dict) -> Any:
        # The server keeps one instance per (class, arguments); this builds it now so a bad
        # argument fails here rather than at the first call.
        self._udf_command({"object": class_name, "args": args})
        return (class_name, args)

    def _udf_method(self, handle: Any, method: str, reader: pa.RecordBatchReader, args: dict
                    ) -> pa.RecordBatchReader:
        class_name, ctor_args = handle
        cmd = {"udf": {"object": class_name, "args": ctor_args, "method": method,
                       "method_args": args}}
        return self._exchange(json.dumps(cmd), reader, f"{class_name}.{method}")

    def _udf_close(self, handle: Any) -> None:
        class_name, ctor_args = handle
        self._udf_command({"object": class_name, "args": ctor_args, "close": True})

    def _udf_command(self, udf: dict) -> None:
        empty = pa.RecordBatchReader.from_batches(pa.schema([]), [])
        out = self._exchange(json.dumps({"udf": udf}), empty, "udf")
        try:
            out.read_all()
        finally:
            out.close()


def _mapped(reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
    """Re-raises errors that occur mid-stream as Quiver errors."""

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from reader
        except Exception as e:  # noqa: BLE001
            raise from_flight(e) from None

    return pa.RecordBatchReader.from_batches(reader.schema, batches())


def _drain_metadata(meta: Any) -> None:
    try:
        while meta.read() is not None:
            pass
    except Exception:  # noqa: BLE001 - the put result carries the error, if any
        pass


def _not_found(err: Exception) -> Exception:
    if not isinstance(err, DatasetNotFound) and "not found" in str(err).lower() and (
            "dataset" in str(err).lower()):
        return DatasetNotFound(str(err))
    return err


def _info(name: str, fi: Any) -> DatasetInfo:
    return DatasetInfo(name, int(fi.total_records), len(fi.endpoints), int(fi.total_bytes),
                       fi.schema)


def _text(b: Any) -> str:
    return b.decode() if isinstance(b, bytes) else str(b)

