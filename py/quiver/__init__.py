"""Quiver: zero-copy Apache Arrow interchange between Python and a Java compute engine.

In-process, the JVM runs inside Python (JPype) and tables cross through the Arrow C Data
Interface without copying; remotely, an Arrow Flight server serves the same engine. Both
engines have one interface (:class:`quiver.Engine`)::

    >>> import quiver as qv
    >>> eng = qv.local()                                  # doctest: +SKIP
    >>> eng = qv.connect("grpc://127.0.0.1:8815")         # doctest: +SKIP
    >>> eng.put("t", {"x": [1, 2, 3]})                    # doctest: +SKIP
    >>> eng.table("t").filter(qv.col("x") > 1).collect()  # doctest: +SKIP

See docs/user-guide.md.
"""
from __future__ import annotations

from ._jar import JarNotFound, JavaNotFound, engine_jar, find_java_home, server_jar
from ._jvm import JvmOptions, start_jvm
from . import expr
from .expr import (
    Agg, Expr, between, call, case_when, coalesce, col, contains, count, count_distinct, day,
    ends_with, hash_xxh64, in_list, is_not_null, is_null, length, like, lit, lower, max, mean,
    min, month, sha256, starts_with, stddev, stddev_pop, substring, sum, upper, var, var_pop,
    when, year,
)
from .frame import Frame, GroupBy
# Load the stage module before defining the function ``stage`` below: importing a submodule
# binds its name on the package, which must not replace the function later.
from .stage import Stage
from ._engine import DatasetInfo, Engine, JavaFunction, JavaObject
from .errors import (
    ColumnNotFound, ComputeError, DatasetNotFound, FunctionNotFound, JavaError, MemoryLimitError,
    PlanError, QuiverError, ServerError, TypeMismatch, UnsupportedType,
)

__version__ = "0.1.0"


def local(**jvm_options):
    """Starts (once per process) the in-process JVM and returns the local engine.

    Keyword arguments are :class:`JvmOptions` fields (``heap``, ``off_heap``, ``classpath``,
    ``jvm_args``, ``memory_limit``, ``memory_cache``, ``link_gc``). Raises
    :class:`JavaNotFound` naming what was searched when no JDK 17+ exists.
    """
    from ._local import LocalEngine

    if "classpath" in jvm_options:
        jvm_options["classpath"] = tuple(str(p) for p in jvm_options["classpath"])
    return LocalEngine.instance(JvmOptions(**jvm_options) if jvm_options else None)


def connect(uri: str, token: str | None = None, tls_root_certs: "bytes | str | None" = None,
            **options):
    """Connects to a Quiver Flight server; the returned engine has the same interface as
    :func:`local`.

    ``uri`` is ``grpc://host:port`` (or ``grpc+tls://host:port``); ``token`` a bearer token;
    ``tls_root_certs`` the PEM bytes (or a path) of the CA that signed the server certificate.

    >>> eng = qv.connect("grpc://127.0.0.1:8815", token="s3cret")   # doctest: +SKIP
    """
    from ._remote import RemoteEngine

    return RemoteEngine(uri, token=token, tls_root_certs=tls_root_certs, **options)


def stage(fn, engine=None, **kwargs):
    """A pipeline stage running ``fn`` (a function from :class:`Frame` to :class:`Frame`, or a
    Java batch operator from ``eng.function(...)``) inside the engine; see :mod:`quiver.stage`.

    >>> out = df.pipe(qv.stage(lambda f: f.filter(qv.col("x") > 1)))   # doctest: +SKIP
    """
    return Stage(fn, engine=engine, **kwargs)


__all__ = [
    "connect", "stage", "Stage", "Engine", "DatasetInfo", "JavaFunction", "JavaObject", "expr", "Frame", "GroupBy", "Expr", "Agg", "col", "lit", "call", "when",
    "between", "case_when", "coalesce", "contains", "count", "count_distinct", "day",
    "ends_with", "hash_xxh64", "in_list", "is_not_null", "is_null", "length", "like", "lower",
    "max", "mean", "min", "month", "sha256", "starts_with", "stddev", "stddev_pop", "substring",
    "sum", "upper", "var", "var_pop", "year",
    "local", "JvmOptions", "start_jvm", "engine_jar", "server_jar", "find_java_home",
    "JarNotFound", "JavaNotFound", "QuiverError", "PlanError", "ColumnNotFound",
    "FunctionNotFound", "TypeMismatch", "UnsupportedType", "DatasetNotFound",
    "MemoryLimitError", "ComputeError", "ServerError", "JavaError",
]
