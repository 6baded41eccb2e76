"""Quiver's exception hierarchy.

Every error that crosses from Java (in-process) or from the Flight server (remote) is raised as
one of these, carrying the Java/server message; the original exception is kept as
``err.original`` and deliberately not chained, so a traceback never shows a raw Java or gRPC
stack. See docs/user-guide.md ("Mistakes are caught where you make them").
"""
from __future__ import annotations

__all__ = [
    "QuiverError", "PlanError", "ColumnNotFound", "FunctionNotFound", "TypeMismatch",
    "DatasetNotFound", "MemoryLimitError", "ServerError", "UnsupportedType", "ComputeError",
    "JavaError",
]


class QuiverError(Exception):
    """Base class of every Quiver error."""


class PlanError(QuiverError, ValueError):
    """A plan or request is invalid: unknown column or function, wrong types or arity, a bad
    dataset name, an append whose schema differs from the dataset's."""


class ColumnNotFound(PlanError, KeyError):
    """A plan names a column its input does not have."""

    def __str__(self) -> str:  # KeyError would quote the message
        return Exception.__str__(self)


class FunctionNotFound(PlanError):
    """A plan calls a function the engine does not know."""


class TypeMismatch(PlanError, TypeError):
    """An expression's argument has a type the function does not accept."""


class UnsupportedType(QuiverError, TypeError):
    """An Arrow type is not supported by the operator or path that was asked to handle it."""


class ComputeError(QuiverError, ValueError):
    """A value made an operation fail while a valid plan ran: a string that is not a number, a
    decimal overflow, a negative substring length. The message names the value or column."""


class DatasetNotFound(QuiverError, KeyError):
    """No dataset of that name exists."""

    def __str__(self) -> str:
        return Exception.__str__(self)


class MemoryLimitError(QuiverError, MemoryError):
    """The engine's memory limit was reached; what the request allocated has been freed."""


class ServerError(QuiverError):
    """The Flight server failed or could not be reached."""


class JavaError(QuiverError):
    """An unexpected exception in Java; the message is Java's."""
