"""Lazy frames: a query built step by step, compiled to the JSON plan and run by an engine.

Nothing runs until :meth:`Frame.collect` (or ``to_pandas``/``to_polars``/``to_numpy``/
``to_batches``). Every step is checked against the schema it applies to, so a typo raises
:class:`~quiver.errors.ColumnNotFound` (naming the column and what exists) on the line that
made it, not deep inside the engine::

    >>> import quiver as qv
    >>> import pyarrow as pa
    >>> f = qv.Frame.from_schema(pa.schema([("x", pa.int64()), ("g", pa.utf8())]), "t")
    >>> q = (f.filter(qv.col("x") * 2 > 5)
    ...       .group_by("g").agg(qv.sum("x").alias("total"), qv.count())
    ...       .sort("total", descending=True))
    >>> q.schema
    g: string
    total: int64
    count: int64
    >>> q.to_plan()["plan"]["node"]
    'sort'
    >>> f.select("y")
    Traceback (most recent call last):
    ...
    quiver.errors.ColumnNotFound: column 'y' not found; available: x, g
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import pyarrow as pa

from . import _types as T
from .errors import PlanError, TypeMismatch
from .expr import Agg, Alias, Column, Expr, IntoExpr, _render, into_expr

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd
    import polars as pl

    from ._engine import Engine

__all__ = ["Frame", "GroupBy", "PLAN_VERSION"]

PLAN_VERSION = 1


class Frame:
    """A lazy query over datasets of one engine.

    Get one from an engine (``eng.table("lineitem")``, ``eng.from_arrow(table)``); each method
    returns a new frame and leaves this one unchanged.
    """

    __slots__ = ("_engine", "_node", "_schema", "_keep")

    def __init__(self, engine: "Engine | None", node: dict, schema: pa.Schema,
                 keep: tuple = ()) -> None:
        self._engine = engine
        self._node = node
        self._schema = schema
        self._keep = keep  # objects that must live as long as the plan (temporary datasets)

    # ---- construction ---------------------------------------------------------------------
    @classmethod
    def from_schema(cls, schema: pa.Schema, dataset: str, engine: "Engine | None" = None
                    ) -> "Frame":
        """A frame scanning ``dataset`` with a known ``schema`` (no engine needed to build and
        inspect plans; one is needed to run them)."""
        node = {"node": "scan", "dataset": dataset}
        return cls(engine, node, schema, (_ScanInfo(node, list(schema.names)),))

    @classmethod
    def input(cls, schema: pa.Schema, name: str = "input", engine: "Engine | None" = None
              ) -> "Frame":
        """A frame over a stream supplied at execution time (an ``input`` plan node): the
        starting point of a pipeline stage."""
        return cls(engine, {"node": "input", "name": name}, schema)

    def _derive(self, node: dict, schema: pa.Schema, *others: "Frame") -> "Frame":
        keep = self._keep + tuple(k for o in others for k in o._keep)
        return Frame(self._engine, node, schema, keep)

    # ---- inspection -----------------------------------------------------------------------
    @property
    def schema(self) -> pa.Schema:
        """The output schema, computed in Python without running anything. Columns whose type
        only the engine knows (results of Java functions) are typed ``null`` here; ask
        :meth:`resolved_schema` to get them from the engine."""
        return self._schema

    @property
    def columns(self) -> list[str]:
        return list(self._schema.names)

    def resolved_schema(self) -> pa.Schema:
        """The output schema as the engine computes it (validates the plan in the engine)."""
        return self._require_engine()._plan_schema(self.to_plan())

    def to_plan(self, prune: bool = True) -> dict:
        """The plan document ``{"version": 1, "plan": {...}}`` (docs/plan-format.md).

        With ``prune`` (default), each ``scan`` lists only the columns the plan reads, so the
        engine (or the server) never touches the others.
        """
        node = _prune(self._node, None, self._scan_columns()) if prune else self._node
        return {"version": PLAN_VERSION, "plan": node}

    def _scan_columns(self) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for k in self._keep:
            if isinstance(k, _ScanInfo):
                out[id(k.node)] = k.names
        return out

    def to_json(self, indent: int | None = None) -> str:
        """The plan document as JSON text."""
        return json.dumps(self.to_plan(), indent=indent)

    def explain(self) -> str:
        """A readable tree of the plan as it will be sent (scans list the columns they read).

        >>> import pyarrow as pa, quiver as qv
        >>> f = qv.Frame.from_schema(pa.schema([("x", pa.int64())]), "t")
        >>> print(f.filter(qv.col("x") > 1).limit(3).explain())
        limit 3
          filter (x > 1)
            scan t
        """
        lines: list[str] = []
        _explain(self.to_plan()["plan"], 0, lines)
        return "\n".join(lines)

    def __repr__(self) -> str:
        cols = ", ".join(f"{f.name}: {T.describe(f.type)}" for f in self._schema)
        return f"<quiver.Frame [{cols}]\n{self.explain()}>"

    # ---- relational operations --------------------------------------------------------------
    def filter(self, *predicates: Expr) -> "Frame":
        """Keeps rows where every predicate is true (false or null drops the row).

        >>> import pyarrow as pa, quiver as qv
        >>> f = qv.Frame.from_schema(pa.schema([("x", pa.int64())]), "t")
        >>> f.filter(qv.col("x") + 1)
        Traceback (most recent call last):
        ...
        quiver.errors.TypeMismatch: filter predicate (x + 1) has type int64; expected bool
        """
        if not predicates:
            raise PlanError("filter needs at least one predicate")
        preds = [into_expr(p) for p in predicates]
        for p in preds:
            t = p.type_in(self._schema)
            if t is not None and T.kind(t) not in ("BOOL", "NULL"):
                raise TypeMismatch(f"filter predicate {_render(p)} has type {T.describe(t)}; "
                                   "expected bool")
        pred = preds[0] if len(preds) == 1 else _and(preds)
        return self._derive({"node": "filter", "input": self._node, "predicate": pred.to_json()},
                            self._schema)

    where = filter

    def select(self, *exprs: IntoExpr, **named: IntoExpr) -> "Frame":
        """Computes exactly these columns: names, expressions, ``name=expr`` keywords.

        >>> import pyarrow as pa, quiver as qv
        >>> f = qv.Frame.from_schema(pa.schema([("x", pa.int64())]), "t")
        >>> f.select("x", y=qv.col("x") * 2.5).schema.types
        [DataType(int64), DataType(double)]
        """
        items = [into_expr(e) for e in exprs] + [into_expr(e).alias(n) for n, e in named.items()]
        if not items:
            raise PlanError("select needs at least one column")
        return self._project(items)

    def with_columns(self, *exprs: Expr, **named: IntoExpr) -> "Frame":
        """Adds columns, or replaces those of the same name in place (keeping order)."""
        items = [into_expr(e) for e in exprs] + [into_expr(e).alias(n) for n, e in named.items()]
        names = [_name_of(e) for e in items]
        out: list[Expr] = []
        replaced = dict(zip(names, items))
        for name in self._schema.names:
            out.append(replaced.pop(name) if name in replaced else Column(name))
        out.extend(e for n, e in zip(names, items) if n in replaced)
        return self._project(out)

    def drop(self, *columns: str) -> "Frame":
        """All columns but these."""
        for c in columns:
            Column(c).type_in(self._schema)
        return self._project([Column(n) for n in self._schema.names if n not in columns])

    def rename(self, mapping: dict[str, str]) -> "Frame":
        """Renames columns: ``f.rename({"old": "new"})``."""
        for c in mapping:
            Column(c).type_in(self._schema)
        return self._project([Column(n).alias(mapping[n]) if n in mapping else Column(n)
                              for n in self._schema.names])

    def _project(self, items: list[Expr]) -> "Frame":
        names = [_name_of(e) for e in items]
        _unique(names, "select")
        types = [e.type_in(self._schema) for e in items]  # checks the names, too
        # A plain column keeps its type as it is (a dictionary column stays encoded).
        types = [self._schema.field(_plain_column(e)).type if _plain_column(e) is not None
                 else t for e, t in zip(items, types)]
        schema = pa.schema([pa.field(n, t if t is not None else pa.null())
                            for n, t in zip(names, types)])
        node = {"node": "project", "input": self._node,
                "columns": [{"name": n, "expr": e.to_json()} for n, e in zip(names, items)]}
        return self._derive(node, schema)

    def group_by(self, *keys: IntoExpr, **named: IntoExpr) -> "GroupBy":
        """Groups rows by keys; finish with :meth:`GroupBy.agg`.

        Nulls form a group of their own; the output order of groups is unspecified.
        """
        items = [into_expr(k) for k in keys] + [into_expr(e).alias(n) for n, e in named.items()]
        return GroupBy(self, items)

    def agg(self, *aggs: Agg, **named: Agg) -> "Frame":
        """Aggregates the whole frame into one row: ``f.agg(qv.sum("x"), n=qv.count())``."""
        return GroupBy(self, []).agg(*aggs, **named)

    def sort(self, *by: IntoExpr, descending: bool | Sequence[bool] = False,
             nulls_last: bool | Sequence[bool] = True) -> "Frame":
        """Stable sort by one or more keys (names or expressions)."""
        keys = [into_expr(k) for k in by]
        if not keys:
            raise PlanError("sort needs at least one key")
        desc = _per_key(descending, len(keys), "descending")
        nl = _per_key(nulls_last, len(keys), "nulls_last")
        out = []
        for k, d, n in zip(keys, desc, nl):
            t = k.type_in(self._schema)
            if t is not None and T.kind(t) == "OTHER":
                raise TypeMismatch(f"cannot sort by {_render(k)} of type {t}")
            key: dict[str, Any] = {"expr": k.to_json()}
            if d:
                key["order"] = "desc"
            if not n:
                key["nulls"] = "first"
            out.append(key)
        return self._derive({"node": "sort", "input": self._node, "keys": out},
                            _decoded(self._schema))

    def limit(self, n: int, offset: int = 0) -> "Frame":
        """At most ``n`` rows after skipping ``offset``. Directly after :meth:`sort` (no
        offset), this becomes a ``top_k`` node, which does not sort everything."""
        if not isinstance(n, int) or n < 0 or not isinstance(offset, int) or offset < 0:
            raise PlanError(f"limit needs integers >= 0, got limit={n!r} offset={offset!r}")
        if self._node["node"] == "sort" and offset == 0:
            node = {"node": "top_k", "input": self._node["input"], "keys": self._node["keys"],
                    "k": n}  # like sort, top_k decodes dictionary columns (self's schema)
        else:
            node = {"node": "limit", "input": self._node, "limit": n}
            if offset:
                node["offset"] = offset
        return self._derive(node, self._schema)

    head = limit

    def distinct(self) -> "Frame":
        """Removes duplicate rows (nulls equal each other)."""
        return self._derive({"node": "distinct", "input": self._node}, _decoded(self._schema))

    unique = distinct

    def union(self, *others: "Frame", distinct: bool = False) -> "Frame":
        """Concatenates frames with the same column types (``UNION ALL``; ``distinct=True``
        for ``UNION``)."""
        for o in others:
            self._same_engine(o)
            a, b = _decoded(self._schema).types, _decoded(o._schema).types
            if len(a) != len(b) or any(T.unify(x, y) != x and T.kind(y) != "NULL" and
                                       T.kind(x) != "NULL" for x, y in zip(a, b)):
                raise TypeMismatch(
                    "union inputs must have the same column types in the same order: "
                    f"[{', '.join(map(T.describe, a))}] vs [{', '.join(map(T.describe, b))}]")
        node = {"node": "union", "inputs": [self._node, *(o._node for o in others)]}
        # A dictionary column stays encoded when every input has it with the same index type.
        fields = [f if not pa.types.is_dictionary(f.type) or all(
                      pa.types.is_dictionary(o._schema.field(i).type)
                      and o._schema.field(i).type.index_type == f.type.index_type
                      for o in others) else _decoded_field(f)
                  for i, f in enumerate(self._schema)]
        out = self._derive(node, pa.schema(fields, metadata=self._schema.metadata), *others)
        return out.distinct() if distinct else out

    def join(self, other: "Frame", on: str | Sequence[str] | None = None, *,
             left_on: str | Sequence[str] | None = None,
             right_on: str | Sequence[str] | None = None,
             how: str = "inner", suffix: str = "_right") -> "Frame":
        """Hash equi-join; ``other`` is the build side (make it the smaller one).

        ``how`` is ``"inner"``, ``"left"``, ``"semi"`` or ``"anti"``. With ``on=``, the right
        key columns are dropped from the output (they equal the left ones); other right columns
        whose names clash with left ones get ``suffix``.
        """
        self._same_engine(other)
        if how not in ("inner", "left", "semi", "anti"):
            raise PlanError(f"join how must be inner, left, semi or anti; got '{how}'")
        if on is not None:
            lk = rk = [on] if isinstance(on, str) else list(on)
        else:
            if left_on is None or right_on is None:
                raise PlanError("join needs on= or both left_on= and right_on=")
            lk = [left_on] if isinstance(left_on, str) else list(left_on)
            rk = [right_on] if isinstance(right_on, str) else list(right_on)
        if not lk or len(lk) != len(rk):
            raise PlanError(f"join keys must be non-empty and of equal length: {lk} vs {rk}")
        for a, b in zip(lk, rk):
            ta, tb = Column(a).type_in(self._schema), Column(b).type_in(other._schema)
            ka, kb = T.kind(ta), T.kind(tb)
            ok = (ta == tb or (ka in ("INT", "UINT") and kb in ("INT", "UINT"))
                  or (ka == kb == "DECIMAL" and ta.scale == tb.scale)
                  or (ka == kb and ka in ("STRING", "BINARY")) or "NULL" in (ka, kb))
            if not ok:
                raise TypeMismatch(f"join key '{a}' ({T.describe(ta)}) and '{b}' "
                                   f"({T.describe(tb)}) have different types")
        right = other
        node: dict[str, Any] = {"node": "join", "type": how, "left": self._node,
                                "right": right._node, "left_keys": lk, "right_keys": rk}
        if how in ("semi", "anti"):
            return self._derive(node, _decoded(self._schema), other)
        # Rename clashing right columns before the join (keys keep their name when distinct).
        rename_map = {}
        left_names = set(self._schema.names)
        for n in other._schema.names:
            if n in left_names:
                rename_map[n] = n + suffix
        if rename_map:
            right = other.rename(rename_map)
            node["right"] = right._node
            node["right_keys"] = [rename_map.get(k, k) for k in rk]
        fields = list(_decoded(self._schema)) + [
            pa.field(f.name, f.type, nullable=True) if how == "left" else f
            for f in _decoded(right._schema)]
        joined = self._derive(node, pa.schema(fields), other)
        if on is not None:
            hidden = {rename_map.get(k, k) for k in rk}
            keep = [Column(n) for n in joined._schema.names[: len(self._schema)]] + [
                Column(f.name) for f in right._schema if f.name not in hidden]
            return joined._project(keep)
        return joined

    # ---- execution --------------------------------------------------------------------------
    def to_batches(self) -> pa.RecordBatchReader:
        """Runs the plan and streams the result: batches arrive as the engine produces them.

        >>> for batch in frame.to_batches():   # doctest: +SKIP
        ...     handle(batch)
        """
        return self._require_engine()._execute(self.to_plan(), {})

    def collect(self) -> pa.Table:
        """Runs the plan and returns the whole result as a ``pyarrow.Table``."""
        reader = self.to_batches()
        try:
            return reader.read_all()
        finally:
            reader.close()

    def to_pandas(self, **kwargs: Any) -> "pd.DataFrame":
        """Runs the plan; the result as a pandas DataFrame (``Table.to_pandas(**kwargs)``)."""
        return self.collect().to_pandas(**kwargs)

    def to_polars(self) -> "pl.DataFrame":
        """Runs the plan; the result as a polars DataFrame (zero-copy where Arrow allows)."""
        import polars as pl

        return pl.from_arrow(self.collect())  # type: ignore[return-value]

    def to_numpy(self) -> "dict[str, np.ndarray]":
        """Runs the plan; each column as a NumPy array (zero-copy for primitive columns without
        nulls and in a single chunk; otherwise copied, since NumPy has no null bitmap)."""
        t = self.collect()
        out = {}
        for name, column in zip(t.column_names, t.columns):
            chunked = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
            out[name] = chunked.to_numpy(zero_copy_only=False)
        return out

    def count_rows(self) -> int:
        """Runs ``count(*)`` over this frame."""
        from .expr import count

        return int(self.agg(count().alias("n")).collect().column(0)[0].as_py())

    # ---- helpers ----------------------------------------------------------------------------
    def _require_engine(self) -> "Engine":
        if self._engine is None:
            raise PlanError("this frame is not bound to an engine; build it with eng.table(...) "
                            "or eng.from_arrow(...) to run it")
        return self._engine

    def _same_engine(self, other: "Frame") -> None:
        if not isinstance(other, Frame):
            raise TypeError(f"expected a quiver Frame, got {type(other).__name__}")
        if (self._engine is not None and other._engine is not None
                and self._engine is not other._engine):
            raise PlanError("cannot combine frames of two different engines; move the data "
                            "with eng.put(name, other.collect()) first")


class GroupBy:
    """The grouping step of ``frame.group_by(keys).agg(aggregates)``."""

    __slots__ = ("_frame", "_keys")

    def __init__(self, frame: Frame, keys: list[Expr]) -> None:
        self._frame = frame
        self._keys = keys

    def agg(self, *aggs: Agg, **named: Agg) -> Frame:
        """Computes aggregates per group; output = the keys, then the aggregates.

        >>> import pyarrow as pa, quiver as qv
        >>> f = qv.Frame.from_schema(pa.schema([("k", pa.utf8()), ("v", pa.float64())]), "t")
        >>> f.group_by("k").agg(qv.mean("v"), hi=qv.max("v")).schema.names
        ['k', 'mean_v', 'hi']
        """
        items = list(aggs) + [a.alias(n) for n, a in named.items()]
        for a in items:
            if not isinstance(a, Agg):
                raise PlanError(f"agg() takes aggregates (qv.sum(...), qv.count(), ...), got "
                                f"{a!r}")
        schema = self._frame._schema
        key_names = [_name_of(k) for k in self._keys]
        agg_names = [a.output_name() for a in items]
        _unique(key_names + agg_names, "group_by/agg")
        fields = []
        for n, k in zip(key_names, self._keys):
            t = k.type_in(schema)
            fields.append(pa.field(n, t if t is not None else pa.null()))
        for n, a in zip(agg_names, items):
            t = a.type_in(schema)
            fields.append(pa.field(n, t if t is not None else pa.null()))
        node = {"node": "aggregate", "input": self._frame._node,
                "group_by": [{"name": n, "expr": k.to_json()}
                             for n, k in zip(key_names, self._keys)],
                "aggregates": [a.to_json(n) for n, a in zip(agg_names, items)]}
        return self._frame._derive(node, pa.schema(fields))


class _ScanInfo:
    """The full column list of a scan node (for pruning); kept in ``Frame._keep``."""

    __slots__ = ("node", "names")

    def __init__(self, node: dict, names: list[str]) -> None:
        self.node = node
        self.names = names


def _expr_columns(j: Any, out: set[str]) -> set[str]:
    if isinstance(j, dict):
        if j.get("expr") == "column":
            out.add(j["name"])
        for v in j.values():
            if isinstance(v, (dict, list)):
                _expr_columns(v, out)
    elif isinstance(j, list):
        for v in j:
            _expr_columns(v, out)
    return out


def _names(node: dict, scans: dict[int, list[str]]) -> list[str] | None:
    """Output column names of a plan node (None when unknown, e.g. an input stream)."""
    kind = node["node"]
    if kind == "scan":
        return node.get("columns") or scans.get(id(node))
    if kind == "project":
        return [c["name"] for c in node["columns"]]
    if kind == "aggregate":
        return [g["name"] for g in node.get("group_by", [])] + [
            a["name"] for a in node["aggregates"]]
    if kind == "join":
        left = _names(node["left"], scans)
        if node["type"] in ("semi", "anti"):
            return left
        right = _names(node["right"], scans)
        return None if left is None or right is None else left + right
    if kind == "union":
        return _names(node["inputs"][0], scans)
    if kind == "input":
        return None
    return _names(node["input"], scans)


def _prune(node: dict, req: set[str] | None, scans: dict[int, list[str]]) -> dict:
    """Copies ``node`` so that scans read only the columns in ``req`` (None = all)."""
    kind = node["node"]
    if kind == "scan":
        names = scans.get(id(node))
        if req is None or names is None or "columns" in node:
            return node
        cols = [c for c in names if c in req] or names[:1]
        return {**node, "columns": cols} if cols != names else node
    if kind == "input":
        return node
    if kind in ("filter", "sort", "top_k", "limit"):
        sub = None
        if req is not None:
            sub = set(req)
            _expr_columns(node.get("predicate"), sub)
            _expr_columns(node.get("keys"), sub)
        return {**node, "input": _prune(node["input"], sub, scans)}
    if kind == "project":
        cols = node["columns"]
        if req is not None:
            cols = [c for c in cols if c["name"] in req] or cols[:1]
        return {**node, "columns": cols,
                "input": _prune(node["input"], _expr_columns(cols, set()), scans)}
    if kind == "aggregate":
        sub = _expr_columns(node.get("group_by", []), set())
        _expr_columns(node["aggregates"], sub)
        return {**node, "input": _prune(node["input"], sub, scans)}
    if kind == "join":
        left_req = right_req = None
        if req is not None:
            ln, rn = _names(node["left"], scans), _names(node["right"], scans)
            if ln is not None and rn is not None:
                left_req = (req & set(ln)) | set(node["left_keys"])
                right_req = (req & set(rn)) | set(node["right_keys"])
        if node["type"] in ("semi", "anti"):
            right_req = set(node["right_keys"])
        return {**node, "left": _prune(node["left"], left_req, scans),
                "right": _prune(node["right"], right_req, scans)}
    if kind == "union":
        return {**node, "inputs": [_prune(i, None, scans) for i in node["inputs"]]}
    return {**node, "input": _prune(node["input"], None, scans)} if "input" in node else node


def _and(preds: list[Expr]) -> Expr:
    from .expr import Call

    return Call("and", preds)


def _name_of(e: Expr) -> str:
    name = e.output_name()
    if name is None:
        raise PlanError(f"expression {_render(e)} needs a name: use .alias(\"name\") or a "
                        "keyword argument")
    return name


def _unique(names: list[str], where: str) -> None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise PlanError(f"duplicate output column '{n}' in {where}; rename one with "
                            ".alias()")
        seen.add(n)


def _per_key(v: bool | Sequence[bool], n: int, what: str) -> list[bool]:
    if isinstance(v, bool):
        return [v] * n
    v = list(v)
    if len(v) != n:
        raise PlanError(f"{what} has {len(v)} values for {n} sort keys")
    return v


def _explain(node: dict, depth: int, out: list[str]) -> None:
    pad = "  " * depth
    kind = node["node"]
    from .expr import _render_json as rj

    if kind == "scan":
        cols = node.get("columns")
        out.append(f"{pad}scan {node['dataset']}" + (f" [{', '.join(cols)}]" if cols else ""))
    elif kind == "input":
        out.append(f"{pad}input {node['name']}")
    elif kind == "filter":
        out.append(f"{pad}filter {rj(node['predicate'])}")
    elif kind == "project":
        out.append(f"{pad}project " + ", ".join(
            c["name"] if c["expr"] == {"expr": "column", "name": c["name"]}
            else f"{rj(c['expr'])} AS {c['name']}" for c in node["columns"]))
    elif kind == "aggregate":
        keys = ", ".join(k["name"] for k in node.get("group_by", []))
        aggs = ", ".join(f"{a['function']}({', '.join(rj(x) for x in a['args'])}) AS {a['name']}"
                         for a in node["aggregates"])
        out.append(f"{pad}aggregate" + (f" by [{keys}]" if keys else "") + f": {aggs}")
    elif kind in ("sort", "top_k"):
        keys = ", ".join(rj(k["expr"]) + (" DESC" if k.get("order") == "desc" else "")
                         + (" NULLS FIRST" if k.get("nulls") == "first" else "")
                         for k in node["keys"])
        out.append(f"{pad}{kind}" + (f" {node['k']}" if kind == "top_k" else "") + f" [{keys}]")
    elif kind == "join":
        pairs = ", ".join(f"{a} = {b}" for a, b in zip(node["left_keys"], node["right_keys"]))
        out.append(f"{pad}join {node['type']} on {pairs}")
        _explain(node["left"], depth + 1, out)
        _explain(node["right"], depth + 1, out)
        return
    elif kind == "limit":
        out.append(f"{pad}limit {node.get('limit')}"
                   + (f" offset {node['offset']}" if node.get("offset") else ""))
    elif kind == "union":
        out.append(f"{pad}union")
        for i in node["inputs"]:
            _explain(i, depth + 1, out)
        return
    else:
        out.append(f"{pad}{kind}")
    if "input" in node and isinstance(node["input"], dict):
        _explain(node["input"], depth + 1, out)


def iter_batches(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    """Yields the batches of a reader and closes it at the end."""
    try:
        yield from reader
    finally:
        reader.close()


def _plain_column(e: Expr) -> str | None:
    """The input column an item of a projection passes on unchanged (aliased or not), if any."""
    inner = e.expr if isinstance(e, Alias) else e
    return inner.name if isinstance(inner, Column) else None


def _decoded_field(f: pa.Field) -> pa.Field:
    return f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f


def _decoded(schema: pa.Schema) -> pa.Schema:
    """The schema with dictionary columns as their values: what the operators that gather rows
    (sort, top_k, distinct, join, aggregate) return. Filter, limit, a projection of a plain
    column and union keep a dictionary column encoded (docs/plan-format.md)."""
    if not any(pa.types.is_dictionary(t) for t in schema.types):
        return schema
    return pa.schema([_decoded_field(f) for f in schema], metadata=schema.metadata)
