"""Quiver: zero-copy Apache Arrow interchange between Python and a Java compute engine.

In-process, the JVM runs inside Python (JPype) and tables cross through the Arrow C Data
Interface without copying; remotely, an Arrow Flight server serves the same engine.

>>> import quiver as qv
>>> eng = qv.local()                      # doctest: +SKIP
"""
from __future__ import annotations

from ._jar import JarNotFound, JavaNotFound, engine_jar, find_java_home, server_jar
from ._jvm import JvmOptions, start_jvm
from .errors import (
    ColumnNotFound, DatasetNotFound, FunctionNotFound, JavaError, MemoryLimitError, PlanError,
    QuiverError, ServerError, TypeMismatch, UnsupportedType,
)

__version__ = "0.1.0"


def local(**jvm_options):
    """Starts (once per process) the in-process JVM and returns the local engine.

    Keyword arguments are :class:`JvmOptions` fields (``heap``, ``off_heap``, ``classpath``,
    ``jvm_args``). Raises :class:`JavaNotFound` naming what was searched when no JDK 17+ exists.
    """
    from ._local import LocalEngine

    return LocalEngine.instance(JvmOptions(**jvm_options) if jvm_options else None)


__all__ = [
    "local", "JvmOptions", "start_jvm", "engine_jar", "server_jar", "find_java_home",
    "JarNotFound", "JavaNotFound", "QuiverError", "PlanError", "ColumnNotFound",
    "FunctionNotFound", "TypeMismatch", "UnsupportedType", "DatasetNotFound",
    "MemoryLimitError", "ServerError", "JavaError",
]
