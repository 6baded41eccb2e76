"""Maps Java exceptions (in-process) and Flight errors (remote) onto :mod:`quiver.errors`.

The Python exception carries the Java or server message; the original is kept as
``err.original`` (not chained, so a traceback never shows a raw bridge or gRPC stack).

Plan errors are recognized by their kind, which the engine reports as
``PlanException.kind()`` in-process and which the server puts into the status message; when a
message carries no kind, its wording is used (see :func:`classify`).
"""
from __future__ import annotations

import re
from typing import Any

from . import errors as E

__all__ = ["classify", "from_flight", "KIND_TO_ERROR"]

KIND_TO_ERROR: dict[str, type[E.QuiverError]] = {
    "COLUMN_NOT_FOUND": E.ColumnNotFound,
    "FUNCTION_NOT_FOUND": E.FunctionNotFound,
    "TYPE_MISMATCH": E.TypeMismatch,
    "ARITY": E.PlanError,
    "DATASET_NOT_FOUND": E.DatasetNotFound,
    "INVALID_PLAN": E.PlanError,
    "UNSUPPORTED_TYPE": E.UnsupportedType,
    # Not a PlanException kind: the server's prefix for dev.quiver.engine.expr.ComputeException.
    "COMPUTE_ERROR": E.ComputeError,
}

_KIND_RE = re.compile(r"\b(" + "|".join(KIND_TO_ERROR) + r")\b")


def classify(message: str, default: type[E.QuiverError] = E.PlanError) -> type[E.QuiverError]:
    """The error class a message stands for: an explicit kind token first, then wording."""
    m = _KIND_RE.search(message)
    if m:
        return KIND_TO_ERROR[m.group(1)]
    low = message.lower()
    if re.search(r"unknown function|function '[^']*' (is )?not found|no such function", low):
        return E.FunctionNotFound
    if re.search(r"column '[^']*' not found|unknown column|no column", low):
        return E.ColumnNotFound
    if re.search(r"dataset '?[^']*'? (does not exist|not found)|no dataset|unknown dataset",
                 low):
        return E.DatasetNotFound
    if "memory limit" in low or "out of memory" in low:
        return E.MemoryLimitError
    if re.search(r"\bgot \(.*\); expected\b", low):
        return E.TypeMismatch
    if "unsupported type" in low or "cannot compute on" in low:
        return E.UnsupportedType
    return default


def _strip_kind(message: str) -> str:
    return re.sub(r"^\s*(PlanException\[)?(" + "|".join(KIND_TO_ERROR) + r")\]?:?\s*", "",
                  message)


def _make(cls: type[E.QuiverError], message: str, original: BaseException) -> E.QuiverError:
    err = cls(message)
    err.original = original  # type: ignore[attr-defined]
    return err


def java_error_type(jexc: Any) -> type[E.QuiverError] | None:
    """Resolver for ``quiver._bridge.translate_java_error``: plan errors by their kind; user
    function errors, refused arguments and unsupported operations by their wording, as the
    Flight server reports them (``INVALID_ARGUMENT`` / ``UNIMPLEMENTED``), so that both modes
    raise the same type; None for everything else."""
    kind = _java_kind(jexc)
    if kind in KIND_TO_ERROR:
        return KIND_TO_ERROR[kind]
    try:
        name = str(jexc.getClass().getName())
        msg = jexc.getMessage()
        cause = jexc.getCause()
    except Exception:  # noqa: BLE001
        return None
    message = str(msg) if msg is not None else ""
    if name == "dev.quiver.engine.udf.UdfException":
        return classify(message)
    import jpype

    if isinstance(jexc, jpype.JClass("java.lang.IllegalArgumentException")):
        if cause is not None and isinstance(cause, jpype.JClass("java.lang.OutOfMemoryError")):
            return None  # a heap error suppressing itself: the cause decides (MemoryLimitError)
        return classify(message)
    if isinstance(jexc, jpype.JClass("java.lang.UnsupportedOperationException")):
        return classify(message, E.UnsupportedType)
    return None


_installed = False


def install_java_resolver() -> None:
    """Teaches the bridge's Java error translation the engine's plan and UDF errors (once)."""
    global _installed
    if not _installed:
        from ._bridge import register_java_error_resolver

        register_java_error_resolver(java_error_type)
        _installed = True


def _java_kind(exc: BaseException) -> str | None:
    try:
        k = exc.kind()  # type: ignore[attr-defined]
        return str(k.name())
    except Exception:  # noqa: BLE001 - not a PlanException
        return None


def from_flight(exc: BaseException) -> E.QuiverError:
    """A :class:`~quiver.errors.QuiverError` for an error raised by a Flight call."""
    if isinstance(exc, E.QuiverError):
        return exc
    import pyarrow as pa
    import pyarrow.flight as fl

    message = _flight_message(exc)
    if str(exc).startswith("gRPC returned resource exhausted error"):
        # RESOURCE_EXHAUSTED (PyArrow raises it as ArrowInvalid): the server's memory limit, its
        # Java heap, or a message over its --max-message-size; never a fault of the plan.
        return _make(E.MemoryLimitError, message, exc)
    if isinstance(exc, (fl.FlightUnauthenticatedError, fl.FlightUnauthorizedError)):
        return _make(E.ServerError, f"not authorized: {message}", exc)
    if isinstance(exc, (fl.FlightUnavailableError, fl.FlightTimedOutError,
                        fl.FlightCancelledError)):
        return _make(E.ServerError, f"server unavailable: {message}", exc)
    if isinstance(exc, KeyError):  # gRPC NOT_FOUND
        return _make(classify(message, E.DatasetNotFound), _strip_kind(message), exc)
    if isinstance(exc, (pa.ArrowInvalid, ValueError)):  # INVALID_ARGUMENT
        return _make(classify(message), _strip_kind(message), exc)
    if isinstance(exc, pa.ArrowMemoryError) or isinstance(exc, MemoryError):
        return _make(E.MemoryLimitError, message, exc)
    if isinstance(exc, (pa.ArrowNotImplementedError, NotImplementedError)):
        return _make(classify(message, E.UnsupportedType), message, exc)
    if isinstance(exc, fl.FlightError):
        cls = classify(message, E.ServerError)
        return _make(cls, _strip_kind(message) if cls is not E.ServerError else message, exc)
    return _make(E.ServerError, message, exc)


def _flight_message(exc: BaseException) -> str:
    text = str(exc)
    # pyarrow appends ". Detail: ..., gRPC client debug context: ..." noise; keep the message.
    for marker in (". Detail:", " Detail:", ". gRPC client debug context", "gRPC client debug"):
        i = text.find(marker)
        if i > 0:
            text = text[:i]
    text = re.sub(r"^(Flight|gRPC) returned [a-z ]+? error, with message: ", "", text)
    return text.strip()


def reraise(exc: BaseException, mapper: Any) -> None:
    """Raises ``mapper(exc)`` without chaining (no raw stack in the traceback)."""
    err = mapper(exc)
    raise err from None
