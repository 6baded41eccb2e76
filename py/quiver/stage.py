"""Pipeline stages: run a Quiver step inside an existing pandas, polars, DuckDB or Arrow pipeline.

A stage wraps a function from :class:`~quiver.Frame` to :class:`~quiver.Frame` (or a Java batch
operator). Calling it with data returns data of the same kind, so it drops into ``.pipe``::

    >>> import pandas as pd, quiver as qv
    >>> clean = qv.stage(lambda f: f.filter(qv.col("amount") > 0)
    ...                             .with_columns(tax=qv.col("amount") * 0.2))
    >>> df = pd.DataFrame({"amount": [10.0, -1.0, 5.0]})
    >>> df.pipe(clean)                                     # doctest: +SKIP
       amount  tax
    0    10.0  2.0
    1     5.0  1.0

Kinds in → out: pandas DataFrame → pandas DataFrame; polars DataFrame → polars DataFrame;
polars LazyFrame → LazyFrame; DuckDB relation → DuckDB relation; ``pyarrow.Table`` → Table;
``pyarrow.RecordBatchReader`` → RecordBatchReader (streaming: each batch is processed as it
arrives and nothing is materialized, see :meth:`Stage.stream`).

In-process the input stream is handed to the engine's ``input`` plan node through the Arrow C
Stream interface (no copy; the engine pulls batches when it needs them). Remotely the stage runs
in the server through Flight ``DoExchange``: batches are sent while results come back.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Union

import pyarrow as pa

from . import _data
from .errors import PlanError
from .frame import Frame

if TYPE_CHECKING:  # pragma: no cover
    from ._engine import Engine, JavaFunction

__all__ = ["Stage", "INPUT_NAME"]

#: The name of the ``input`` node a stage's plan reads (the Flight DoExchange convention).
INPUT_NAME = "input"

StageFn = Union[Callable[[Frame], Frame], "JavaFunction", str]


class Stage:
    """A reusable pipeline step. Create with :func:`quiver.stage`.

    ``fn`` is a function ``Frame -> Frame``, a Java batch operator (``eng.function(name)``),
    or the registered name of one. ``engine`` defaults to :func:`quiver.local`. Keyword
    ``options`` are passed to a Java batch operator.
    """

    def __init__(self, fn: StageFn, engine: "Engine | None" = None, **options: Any) -> None:
        self._fn = fn
        self._engine = engine
        self._options = options
        if not callable(fn) and not isinstance(fn, str):
            raise TypeError("qv.stage(fn): fn must be a function Frame -> Frame, a Java batch "
                            f"operator or its name; got {type(fn).__name__}")

    @property
    def engine(self) -> "Engine":
        if self._engine is None:
            from . import local

            self._engine = local()
        return self._engine

    def __repr__(self) -> str:
        name = getattr(self._fn, "name", None) or getattr(self._fn, "__name__", repr(self._fn))
        return f"<quiver.Stage {name}>"

    # ---- planning ----------------------------------------------------------------------------
    def frame_for(self, schema: pa.Schema) -> Frame:
        """The frame this stage computes over an input of ``schema`` (for inspection):

        >>> import pyarrow as pa, quiver as qv
        >>> s = qv.stage(lambda f: f.filter(qv.col("x") > 1), engine=object())
        >>> print(s.frame_for(pa.schema([("x", pa.int64())])).explain())
        filter (x > 1)
          input input
        """
        if self._java() is not None:
            raise PlanError("a Java batch operator stage has no plan; it runs as an operator")
        out = self._fn(Frame.input(schema, INPUT_NAME, engine=self._engine))  # type: ignore
        if not isinstance(out, Frame):
            raise PlanError(f"a stage function must return a quiver Frame, got "
                            f"{type(out).__name__}")
        return out

    def _java(self) -> "JavaFunction | None":
        from ._engine import JavaFunction

        if isinstance(self._fn, JavaFunction):
            return self._fn
        if isinstance(self._fn, str):
            return self.engine.function(self._fn)
        return None

    # ---- running -----------------------------------------------------------------------------
    def stream(self, data: Any) -> pa.RecordBatchReader:
        """Runs the stage lazily over ``data`` (anything :func:`quiver.Engine.put` accepts) and
        returns a reader: each result batch is computed when you read it."""
        reader = data.to_batches() if isinstance(data, Frame) else _data.to_reader(data)
        java = self._java()
        if java is not None:
            eng = java.engine
            return eng._udf_call(java.name, reader, dict(self._options))
        frame = self.frame_for(reader.schema)
        eng = frame._engine if frame._engine is not None else self.engine
        return eng._execute(frame.to_plan(), {INPUT_NAME: reader})

    def __call__(self, data: Any) -> Any:
        """Runs the stage; returns the same kind of object as ``data``."""
        kind = _data.kind_of(data) if not isinstance(data, Frame) else "frame"
        out = self.stream(data)
        if kind == "reader":
            return out
        try:
            table = out.read_all()
        finally:
            out.close()
        if kind == "frame":
            return self.engine.from_arrow(table)
        return _data.from_table(table, kind)
