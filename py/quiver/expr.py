"""Expressions for Quiver frames: columns, literals, operators and every engine function.

An expression is a small immutable tree that compiles to the ``expr`` objects of the JSON plan
format (docs/plan-format.md). Python operators build calls to the engine's functions::

    >>> import quiver as qv
    >>> e = (qv.col("x") * 2 > 5) & qv.col("name").str.starts_with("a")
    >>> e.to_json()["function"]
    'and'
    >>> qv.col("price").cast("float64").to_json()
    {'expr': 'cast', 'input': {'expr': 'column', 'name': 'price'}, 'type': 'float64'}

Every scalar function of the engine has a Python spelling: operators (``+ - * / % -x``,
``== != < <= > >=``, ``& | ~``), methods (``.is_null()``, ``.is_in([...])``,
``.between(lo, hi)``, ``.fill_null(v)``, ``.str.lower()``, ``.dt.year()``, ``.hash()``),
and module functions named exactly as in the engine (``qv.coalesce``, ``qv.case_when``,
``qv.hash_xxh64``, ...). Functions registered in Java are called with ``qv.call(name, ...)``.

Aggregates (``qv.sum``, ``qv.count``, ``qv.mean``, ..., or ``col.sum()``) are used in
``Frame.group_by(...).agg(...)``.

Type checking happens when an expression meets a schema (``Frame.filter`` etc.): an unknown
column raises :class:`~quiver.errors.ColumnNotFound`, an unknown built-in function
:class:`~quiver.errors.FunctionNotFound`, a wrong argument count or type
:class:`~quiver.errors.TypeMismatch` (arity errors are PlanError), naming the column or function.
"""
from __future__ import annotations

import base64
import builtins
import datetime as _dt
import decimal as _decimal
import math
from typing import Any, Callable, Iterable, Sequence

import pyarrow as pa

from . import _types as T
from .errors import ColumnNotFound, FunctionNotFound, PlanError, TypeMismatch, UnsupportedType

__all__ = [
    "Expr", "Column", "Literal", "Call", "Cast", "Agg", "col", "lit", "call", "when",
    "IntoExpr", "SCALAR_FUNCTIONS", "AGGREGATE_FUNCTIONS",
    # engine functions
    "add", "subtract", "multiply", "divide", "modulo", "negate", "eq", "neq", "lt", "lte", "gt",
    "gte", "and_", "or_", "not_", "is_null", "is_not_null", "coalesce", "case_when", "in_list",
    "between", "length", "lower", "upper", "substring", "starts_with", "ends_with", "contains",
    "like", "year", "month", "day", "hash_xxh64", "sha256",
    # aggregates
    "count", "count_distinct", "sum", "min", "max", "mean", "var", "stddev", "var_pop",
    "stddev_pop",
]

IntoExpr = Any
"""An :class:`Expr`, or a Python value turned into a literal by :func:`lit`."""


class ArityError(PlanError):
    """A function got the wrong number of arguments (plan kind ``ARITY``)."""


# ---------------------------------------------------------------------------------------------
# Expression nodes


class Expr:
    """Base class of expressions. Build them with :func:`col`, :func:`lit` and operators."""

    __slots__ = ()

    # --- compilation -------------------------------------------------------------------------
    def to_json(self) -> dict:
        """The plan-format JSON object of this expression."""
        raise NotImplementedError

    def type_in(self, schema: pa.Schema | None) -> pa.DataType | None:
        """The type this expression has over ``schema`` (None when unknown, e.g. a user
        function); raises a :class:`~quiver.errors.PlanError` subclass if it cannot be typed."""
        raise NotImplementedError

    def output_name(self) -> str | None:
        """The default output column name: the alias, else the first column it reads."""
        for c in self.columns():
            return c
        return None

    def columns(self) -> list[str]:
        """Column names read by this expression, in first-use order."""
        return []

    def alias(self, name: str) -> "Alias":
        """Names the output column: ``(qv.col("a") * 2).alias("a2")``."""
        return Alias(self, name)

    # --- operators ---------------------------------------------------------------------------
    def __add__(self, o: IntoExpr) -> "Call":
        return Call("add", [self, _e(o)])

    def __radd__(self, o: IntoExpr) -> "Call":
        return Call("add", [_e(o), self])

    def __sub__(self, o: IntoExpr) -> "Call":
        return Call("subtract", [self, _e(o)])

    def __rsub__(self, o: IntoExpr) -> "Call":
        return Call("subtract", [_e(o), self])

    def __mul__(self, o: IntoExpr) -> "Call":
        return Call("multiply", [self, _e(o)])

    def __rmul__(self, o: IntoExpr) -> "Call":
        return Call("multiply", [_e(o), self])

    def __truediv__(self, o: IntoExpr) -> "Call":
        return Call("divide", [self, _e(o)])

    def __rtruediv__(self, o: IntoExpr) -> "Call":
        return Call("divide", [_e(o), self])

    __floordiv__ = __truediv__  # integer division truncates in the engine
    __rfloordiv__ = __rtruediv__

    def __mod__(self, o: IntoExpr) -> "Call":
        return Call("modulo", [self, _e(o)])

    def __rmod__(self, o: IntoExpr) -> "Call":
        return Call("modulo", [_e(o), self])

    def __neg__(self) -> "Call":
        return Call("negate", [self])

    def __pos__(self) -> "Expr":
        return self

    def __eq__(self, o: IntoExpr) -> "Call":  # type: ignore[override]
        return Call("eq", [self, _e(o)])

    def __ne__(self, o: IntoExpr) -> "Call":  # type: ignore[override]
        return Call("neq", [self, _e(o)])

    def __lt__(self, o: IntoExpr) -> "Call":
        return Call("lt", [self, _e(o)])

    def __le__(self, o: IntoExpr) -> "Call":
        return Call("lte", [self, _e(o)])

    def __gt__(self, o: IntoExpr) -> "Call":
        return Call("gt", [self, _e(o)])

    def __ge__(self, o: IntoExpr) -> "Call":
        return Call("gte", [self, _e(o)])

    def __and__(self, o: IntoExpr) -> "Call":
        return Call("and", [self, _e(o)])

    def __rand__(self, o: IntoExpr) -> "Call":
        return Call("and", [_e(o), self])

    def __or__(self, o: IntoExpr) -> "Call":
        return Call("or", [self, _e(o)])

    def __ror__(self, o: IntoExpr) -> "Call":
        return Call("or", [_e(o), self])

    def __invert__(self) -> "Call":
        return Call("not", [self])

    def __bool__(self) -> bool:
        raise TypeError("an expression has no truth value; use & | ~ instead of and/or/not, "
                        "and a == b builds a comparison")

    __hash__ = object.__hash__

    # --- methods for functions ---------------------------------------------------------------
    def is_null(self) -> "Call":
        return Call("is_null", [self])

    def is_not_null(self) -> "Call":
        return Call("is_not_null", [self])

    def fill_null(self, value: IntoExpr) -> "Call":
        """``coalesce(self, value)``."""
        return Call("coalesce", [self, _e(value)])

    def is_in(self, values: Iterable[IntoExpr]) -> "Call":
        """``in_list(self, *values)``: ``qv.col("flag").is_in(["A", "R"])``."""
        vals = [_e(v) for v in values]
        if not vals:
            raise ArityError("is_in needs at least one value")
        return Call("in_list", [self, *vals])

    def between(self, low: IntoExpr, high: IntoExpr) -> "Call":
        """Inclusive range test ``low <= self <= high``."""
        return Call("between", [self, _e(low), _e(high)])

    def cast(self, type: T.TypeLike) -> "Cast":
        """Converts to ``type`` (a pyarrow type or its JSON name, e.g. ``"float64"``)."""
        return Cast(self, T.as_arrow(type))

    def hash(self) -> "Call":
        """``hash_xxh64(self)`` (uint64, never null)."""
        return Call("hash_xxh64", [self])

    @property
    def str(self) -> "_StrNamespace":
        """String functions: ``.str.lower()``, ``.str.contains("x")``, ``.str.like("a%")``..."""
        return _StrNamespace(self)

    @property
    def dt(self) -> "_DtNamespace":
        """Date parts: ``.dt.year()``, ``.dt.month()``, ``.dt.day()``."""
        return _DtNamespace(self)

    # --- aggregates --------------------------------------------------------------------------
    def sum(self) -> "Agg":
        return Agg("sum", [self])

    def min(self) -> "Agg":
        return Agg("min", [self])

    def max(self) -> "Agg":
        return Agg("max", [self])

    def mean(self) -> "Agg":
        return Agg("mean", [self])

    def count(self) -> "Agg":
        """Count of non-null values."""
        return Agg("count", [self])

    def n_unique(self) -> "Agg":
        """Count of distinct non-null values (``count_distinct``)."""
        return Agg("count_distinct", [self])

    def var(self) -> "Agg":
        return Agg("var", [self])

    def std(self) -> "Agg":
        return Agg("stddev", [self])

    def __repr__(self) -> str:
        return f"<Expr {_render(self)}>"


class _StrNamespace:
    __slots__ = ("_e",)

    def __init__(self, e: Expr) -> None:
        self._e = e

    def lower(self) -> "Call":
        return Call("lower", [self._e])

    def upper(self) -> "Call":
        return Call("upper", [self._e])

    def len(self) -> "Call":
        """Length in characters (``length``)."""
        return Call("length", [self._e])

    length = len

    def slice(self, start: IntoExpr, length: IntoExpr | None = None) -> "Call":
        """``substring`` with a 1-based ``start`` (SQL semantics)."""
        args = [self._e, _e(start)] + ([] if length is None else [_e(length)])
        return Call("substring", args)

    substring = slice

    def starts_with(self, prefix: IntoExpr) -> "Call":
        return Call("starts_with", [self._e, _e(prefix)])

    def ends_with(self, suffix: IntoExpr) -> "Call":
        return Call("ends_with", [self._e, _e(suffix)])

    def contains(self, pattern: IntoExpr) -> "Call":
        """Plain substring test (not a regex)."""
        return Call("contains", [self._e, _e(pattern)])

    def like(self, pattern: IntoExpr) -> "Call":
        """SQL LIKE: ``%`` any sequence, ``_`` one character, ``\\`` escapes."""
        return Call("like", [self._e, _e(pattern)])

    def sha256(self) -> "Call":
        return Call("sha256", [self._e])


class _DtNamespace:
    __slots__ = ("_e",)

    def __init__(self, e: Expr) -> None:
        self._e = e

    def year(self) -> "Call":
        return Call("year", [self._e])

    def month(self) -> "Call":
        return Call("month", [self._e])

    def day(self) -> "Call":
        return Call("day", [self._e])


class Column(Expr):
    """A reference to an input column by name (case-sensitive)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if not isinstance(name, builtins.str) or not name:
            raise PlanError(f"a column name must be a non-empty string, got {name!r}")
        self.name = name

    def to_json(self) -> dict:
        return {"expr": "column", "name": self.name}

    def type_in(self, schema: pa.Schema | None) -> pa.DataType | None:
        if schema is None:
            return None
        idx = schema.get_field_index(self.name)
        if idx < 0:
            raise ColumnNotFound(_missing_column_message(self.name, schema))
        t = schema.field(idx).type
        return t.value_type if pa.types.is_dictionary(t) else t

    def columns(self) -> list[str]:
        return [self.name]


class Literal(Expr):
    """A typed constant. Build with :func:`lit`."""

    __slots__ = ("value", "type")

    def __init__(self, value: Any, type: pa.DataType) -> None:
        self.value = value
        self.type = type

    def to_json(self) -> dict:
        return {"expr": "literal", "type": T.to_json(self.type),
                "value": _encode_value(self.value, self.type)}

    def type_in(self, schema: pa.Schema | None) -> pa.DataType:
        return self.type


class Alias(Expr):
    """An expression with an output name; transparent inside other expressions."""

    __slots__ = ("expr", "name")

    def __init__(self, expr: Expr, name: str) -> None:
        if not isinstance(name, builtins.str) or not name:
            raise PlanError(f"an alias must be a non-empty string, got {name!r}")
        self.expr = expr
        self.name = name

    def to_json(self) -> dict:
        return self.expr.to_json()

    def type_in(self, schema: pa.Schema | None) -> pa.DataType | None:
        return self.expr.type_in(schema)

    def output_name(self) -> str:
        return self.name

    def columns(self) -> list[str]:
        return self.expr.columns()

    def __getattr__(self, item: str) -> Any:  # aggregates on an alias keep the alias' name
        raise AttributeError(item)


class Call(Expr):
    """A call of a scalar function by name (built-in or registered in Java)."""

    __slots__ = ("function", "args", "user")

    def __init__(self, function: str, args: Sequence[Expr], user: bool = False) -> None:
        self.function = function
        self.args = list(args)
        self.user = user

    def to_json(self) -> dict:
        return {"expr": "call", "function": self.function,
                "args": [a.to_json() for a in self.args]}

    def type_in(self, schema: pa.Schema | None) -> pa.DataType | None:
        arg_types = [a.type_in(schema) for a in self.args]
        sig = SCALAR_FUNCTIONS.get(self.function)
        if sig is None:
            if self.user:
                return None  # a Java function: the engine types it
            raise FunctionNotFound(
                f"unknown function '{self.function}'; built-in functions: "
                f"{', '.join(sorted(SCALAR_FUNCTIONS))}; use qv.call(name, ...) for functions "
                "registered in Java")
        lo, hi, rule = sig
        n = len(self.args)
        if n < lo or (hi is not None and n > hi):
            expected = (str(lo) if lo == hi else f"at least {lo}" if hi is None
                        else f"{lo} to {hi}")
            raise ArityError(f"function '{self.function}' takes {expected} argument(s), got {n}")
        if builtins.any(t is None for t in arg_types):
            return _UNKNOWN_RESULT.get(self.function)
        return rule(self.function, arg_types)

    def columns(self) -> list[str]:
        out: list[str] = []
        for a in self.args:
            for c in a.columns():
                if c not in out:
                    out.append(c)
        return out


class Cast(Expr):
    """Conversion to another type (``expr.cast(type)``)."""

    __slots__ = ("input", "type")

    def __init__(self, input: Expr, type: pa.DataType) -> None:
        self.input = input
        self.type = type

    def to_json(self) -> dict:
        return {"expr": "cast", "input": self.input.to_json(), "type": T.to_json(self.type)}

    def type_in(self, schema: pa.Schema | None) -> pa.DataType:
        src = self.input.type_in(schema)
        if src is not None:
            ks, kt = T.kind(src), T.kind(self.type)
            ok = (ks == kt or ks == "NULL"
                  or (ks in T.NUMERIC and kt in T.NUMERIC)
                  or (ks in T.NUMERIC | {"STRING"} and kt in T.NUMERIC | {"STRING"})
                  or ({ks, kt} <= {"DATE32", "TIMESTAMP", "STRING"})
                  or ({ks, kt} <= {"BOOL", "INT", "UINT"}))
            if not ok:
                raise TypeMismatch(f"cannot cast {T.describe(src)} to {T.describe(self.type)}"
                                   f" (in cast of {_render(self.input)})")
        return self.type

    def columns(self) -> list[str]:
        return self.input.columns()


class Agg:
    """An aggregate (``qv.sum(x)``, ``qv.count()``), used in ``group_by(...).agg(...)``.

    The default output name is ``"<function>_<column>"`` (``"count"`` for ``qv.count()``);
    rename with ``.alias(name)``.
    """

    __slots__ = ("function", "args", "name")

    def __init__(self, function: str, args: Sequence[Expr], name: str | None = None) -> None:
        if function not in AGGREGATE_FUNCTIONS:
            raise FunctionNotFound(f"unknown aggregate function '{function}'; known: "
                                   f"{', '.join(sorted(AGGREGATE_FUNCTIONS))}")
        self.function = function
        self.args = [a.expr if isinstance(a, Alias) else a for a in args]
        self.name = name

    def alias(self, name: str) -> "Agg":
        return Agg(self.function, self.args, name)

    def output_name(self) -> str:
        if self.name:
            return self.name
        cols = [c for a in self.args for c in a.columns()]
        return f"{self.function}_{cols[0]}" if cols else self.function

    def to_json(self, name: str | None = None) -> dict:
        return {"name": name or self.output_name(), "function": self.function,
                "args": [a.to_json() for a in self.args]}

    def type_in(self, schema: pa.Schema | None) -> pa.DataType | None:
        arg_types = [a.type_in(schema) for a in self.args]
        fn = self.function
        n = len(self.args)
        if fn == "count":
            if n > 1:
                raise ArityError(f"aggregate 'count' takes 0 or 1 argument(s), got {n}")
            return pa.int64()
        if n != 1:
            raise ArityError(f"aggregate '{fn}' takes 1 argument, got {n}")
        t = arg_types[0]
        if fn == "count_distinct":
            return pa.int64()
        if t is None:
            return pa.float64() if fn in _FLOAT_AGGS else None
        k = T.kind(t)
        if fn == "sum":
            out = {"INT": pa.int64(), "UINT": pa.uint64(), "FLOAT": pa.float64()}.get(k)
            if k == "DECIMAL":
                out = pa.decimal128(38, t.scale)
            if out is None:
                raise TypeMismatch(f"aggregate 'sum' got ({T.describe(t)}) in "
                                   f"sum({_render(self.args[0])}); expected a numeric argument")
            return out
        if fn in ("min", "max"):
            if k in ("OTHER", "BINARY"):
                raise TypeMismatch(f"aggregate '{fn}' got ({T.describe(t)}); expected numeric, "
                                   "decimal, string, date, timestamp or bool")
            return t
        if k not in T.NUMERIC:
            raise TypeMismatch(f"aggregate '{fn}' got ({T.describe(t)}) in "
                               f"{fn}({_render(self.args[0])}); expected a numeric argument")
        return pa.float64()

    def __repr__(self) -> str:
        return f"<Agg {self.function}({', '.join(_render(a) for a in self.args)})" + (
            f" as {self.name}>" if self.name else ">")


_FLOAT_AGGS = {"mean", "var", "stddev", "var_pop", "stddev_pop"}
AGGREGATE_FUNCTIONS = frozenset(
    {"count", "count_distinct", "sum", "min", "max", "mean", "var", "stddev", "var_pop",
     "stddev_pop"})


# ---------------------------------------------------------------------------------------------
# Constructors


def col(name: str) -> Column:
    """A column by name: ``qv.col("l_quantity")``."""
    return Column(name)


def lit(value: Any, type: T.TypeLike | None = None) -> Literal:
    """A literal, typed from the Python value unless ``type`` is given.

    int → int64, float → float64, bool → bool, str → utf8, bytes → binary, None → null,
    ``datetime.date`` → date32, ``datetime.datetime`` → timestamp(us[, tz]),
    ``decimal.Decimal`` → decimal128 with the value's own scale (precision at least 15).

    >>> lit(5).to_json()
    {'expr': 'literal', 'type': 'int64', 'value': 5}
    >>> import decimal
    >>> lit(decimal.Decimal("0.05")).to_json()["type"]
    {'name': 'decimal128', 'precision': 15, 'scale': 2}
    >>> lit("0.05", "decimal128(15,2)").to_json()["value"]
    '0.05'
    """
    if isinstance(value, Expr):
        raise PlanError(f"lit() of an expression ({_render(value)}); pass a Python value")
    if type is not None:
        t = T.as_arrow(type)
        if isinstance(value, str) and pa.types.is_decimal(t):
            value = _decimal.Decimal(value)
        if isinstance(value, str) and pa.types.is_date32(t):
            value = _dt.date.fromisoformat(value)
        return Literal(value, t)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalar
        try:
            value = value.item()
        except (TypeError, ValueError):
            pass
    if value is None:
        return Literal(None, pa.null())
    if isinstance(value, bool):
        return Literal(value, pa.bool_())
    if isinstance(value, int):
        return Literal(value, pa.int64() if -(2**63) <= value < 2**63 else pa.uint64())
    if isinstance(value, float):
        return Literal(value, pa.float64())
    if isinstance(value, builtins.str):
        return Literal(value, pa.utf8())
    if isinstance(value, (bytes, bytearray)):
        return Literal(bytes(value), pa.binary())
    if isinstance(value, _dt.datetime):
        return Literal(value, pa.timestamp("us", tz="UTC" if value.tzinfo else None))
    if isinstance(value, _dt.date):
        return Literal(value, pa.date32())
    if isinstance(value, _decimal.Decimal):
        sign, digits, exp = value.as_tuple()
        scale = builtins.max(0, -int(exp))
        precision = builtins.max(15, len(digits), scale + 1)
        if precision > 38:
            raise UnsupportedType(f"decimal literal {value} needs more than 38 digits")
        return Literal(value, pa.decimal128(precision, scale))
    raise UnsupportedType(f"cannot make a literal of {type_name(value)} {value!r}; "
                          "pass type= explicitly")


def type_name(v: Any) -> builtins.str:
    return builtins.type(v).__name__


def call(function: str, *args: IntoExpr) -> Call:
    """Calls a scalar function by name, typically one registered in Java
    (see docs/java-functions.md): ``qv.call("score", qv.col("x"))``.

    Built-in names are type-checked in Python; other names are checked by the engine when the
    plan runs (an unknown one raises :class:`~quiver.errors.FunctionNotFound`).
    """
    return Call(function, [_e(a) for a in args], user=function not in SCALAR_FUNCTIONS)


class _When:
    def __init__(self, pairs: list[tuple[Expr, Expr]], pending: Expr | None) -> None:
        self._pairs = pairs
        self._pending = pending

    def then(self, value: IntoExpr) -> "_Then":
        assert self._pending is not None
        return _Then(self._pairs + [(self._pending, _e(value))])


class _Then(Call):
    """``qv.when(c1).then(v1).when(c2).then(v2).otherwise(v3)`` → ``case_when``."""

    __slots__ = ("_pairs",)

    def __init__(self, pairs: list[tuple[Expr, Expr]]) -> None:
        self._pairs = pairs
        super().__init__("case_when", [x for p in pairs for x in p])

    def when(self, cond: IntoExpr) -> _When:
        return _When(self._pairs, _e(cond))

    def otherwise(self, value: IntoExpr) -> Call:
        return Call("case_when", [*self.args, _e(value)])


def when(condition: IntoExpr) -> _When:
    """Starts a ``case_when``: ``qv.when(qv.col("x") > 0).then("pos").otherwise("neg")``."""
    return _When([], _e(condition))


# ---------------------------------------------------------------------------------------------
# Engine functions under their engine names


def _fn(name: str, doc: str) -> Callable[..., Call]:
    def f(*args: IntoExpr) -> Call:
        return Call(name, [_e(a) for a in args])

    f.__name__ = name if name not in ("and", "or", "not") else name + "_"
    f.__qualname__ = f.__name__
    f.__doc__ = doc
    return f


add = _fn("add", "``a + b``")
subtract = _fn("subtract", "``a - b``")
multiply = _fn("multiply", "``a * b``")
divide = _fn("divide", "``a / b`` (integers truncate toward zero; by zero → null)")
modulo = _fn("modulo", "``a % b`` (sign of the dividend)")
negate = _fn("negate", "``-a``")
eq = _fn("eq", "``a == b``")
neq = _fn("neq", "``a != b``")
lt = _fn("lt", "``a < b``")
lte = _fn("lte", "``a <= b``")
gt = _fn("gt", "``a > b``")
gte = _fn("gte", "``a >= b``")
and_ = _fn("and", "``a & b & ...`` (SQL three-valued logic)")
or_ = _fn("or", "``a | b | ...`` (SQL three-valued logic)")
not_ = _fn("not", "``~a``")
is_null = _fn("is_null", "true where x is null (never null)")
is_not_null = _fn("is_not_null", "true where x is not null (never null)")
coalesce = _fn("coalesce", "the first non-null argument")
case_when = _fn("case_when", "``case_when(c1, v1, c2, v2, ..., [else])``; see also :func:`when`")
in_list = _fn("in_list", "``in_list(x, v1, v2, ...)``; see also ``Expr.is_in``")
between = _fn("between", "``between(x, low, high)``, inclusive")
length = _fn("length", "number of characters of a string")
lower = _fn("lower", "lower-case string")
upper = _fn("upper", "upper-case string")
substring = _fn("substring", "``substring(s, start[, length])``, 1-based (SQL)")
starts_with = _fn("starts_with", "``starts_with(s, prefix)``")
ends_with = _fn("ends_with", "``ends_with(s, suffix)``")
contains = _fn("contains", "``contains(s, pattern)`` (plain substring)")
like = _fn("like", "``like(s, pattern)`` with ``%`` and ``_``")
year = _fn("year", "year of a date or timestamp (int32)")
month = _fn("month", "month 1..12 of a date or timestamp (int32)")
day = _fn("day", "day of month 1..31 of a date or timestamp (int32)")
hash_xxh64 = _fn("hash_xxh64", "XXH64 of one or more values (uint64, never null)")
sha256 = _fn("sha256", "SHA-256 digest of a string or binary (binary)")


def count(x: IntoExpr | None = None) -> Agg:
    """``count()`` counts rows; ``count(x)`` counts non-null ``x``."""
    return Agg("count", [] if x is None else [_e_col(x)])


def _agg(name: str) -> Callable[[IntoExpr], Agg]:
    def f(x: IntoExpr) -> Agg:
        return Agg(name, [_e_col(x)])

    f.__name__ = name
    f.__doc__ = f"Aggregate ``{name}`` of an expression or column name."
    return f


count_distinct = _agg("count_distinct")
sum = _agg("sum")  # noqa: A001 - deliberate: qv.sum like pl.sum
min = _agg("min")  # noqa: A001
max = _agg("max")  # noqa: A001
mean = _agg("mean")
var = _agg("var")
stddev = _agg("stddev")
var_pop = _agg("var_pop")
stddev_pop = _agg("stddev_pop")


# ---------------------------------------------------------------------------------------------
# Signatures of the built-in scalar functions: name -> (min args, max args or None, rule)


def _numeric2(fn: str, ts: list[pa.DataType]) -> pa.DataType:
    out = T.arithmetic_result(fn, ts[0], ts[1])
    if out is None:
        raise _mismatch(fn, ts, "two numeric arguments (integer, float, decimal), or "
                                "date32 ± integer")
    return out


def _negate(fn: str, ts: list[pa.DataType]) -> pa.DataType:
    k = T.kind(ts[0])
    if k not in ("INT", "FLOAT", "DECIMAL", "NULL"):
        raise _mismatch(fn, ts, "one signed numeric argument")
    return ts[0]


def _compare(fn: str, ts: list[pa.DataType]) -> pa.DataType:
    a, b = ts
    ka, kb = T.kind(a), T.kind(b)
    if "OTHER" in (ka, kb) or (T.unify(a, b) is None and not (ka == kb)):
        raise _mismatch(fn, ts, "two comparable arguments (numbers, strings, dates, "
                                "timestamps of one unit, booleans)")
    return pa.bool_()


def _logic(fn: str, ts: list[pa.DataType]) -> pa.DataType:
    if builtins.any(T.kind(t) not in ("BOOL", "NULL") for t in ts):
        raise _mismatch(fn, ts, "bool arguments")
    return pa.bool_()


def _null_test(fn: str, ts: list[pa.DataType]) -> pa.DataType:
    return pa.bool_()


def _unify_all(fn: str, ts: list[pa.DataType], what: str) -> pa.DataType:
    out = ts[0]
    for t in ts[1:]:
        u = T.unify(out, t)
        if u is None:
            raise _mismatch(fn, ts, what)
        out = u
    if T.kind(out) == "OTHER":
        raise _mismatch(fn, ts, what)
    return out


def _coalesce(fn: str, ts: list[pa.DataType]) -> pa.DataType:
    return _unify_all(fn, ts, "arguments of one type family (numbers unify)")


def _case_when(fn: str, ts: list[pa.DataType]) -> pa.DataType:
    conds = ts[0:len(ts) - (len(ts) % 2):2]
    values = ts[1::2] + ([ts[-1]] if len(ts) % 2 else [])
    if builtins.any(T.kind(c) not in ("BOOL", "NULL") for c in conds):
        raise _mismatch(fn, ts, "bool conditions at even positions (cond, value, ...)")
    return _unify_all(fn, values, "values of one type family")


def _in_list(fn: str, ts: list[pa.DataType]) -> pa.DataType:
    _unify_all(fn, ts, "values comparable with the first argument")
    return pa.bool_()


def _between(fn: str, ts: list[pa.DataType]) -> pa.DataType:
    _compare(fn, [ts[0], ts[1]])
    _compare(fn, [ts[0], ts[2]])
    return pa.bool_()


def _string_in(fn: str, ts: list[pa.DataType], n_strings: int = 1) -> None:
    for i, t in enumerate(ts):
        k = T.kind(t)
        want = "STRING" if i < n_strings else "INT"
        if k not in (want, "NULL") and not (want == "INT" and k == "UINT"):
            raise _mismatch(fn, ts, "a string" + (" and a string pattern" if n_strings == 2
                                                  else "" if len(ts) == 1
                                                  else " and integer start[, length]"))


def _length(fn: str, ts: list[pa.DataType]) -> pa.DataType:
    _string_in(fn, ts)
    return pa.int64() if pa.types.is_large_string(ts[0]) else pa.int32()


def _same_string(fn: str, ts: list[pa.DataType]) -> pa.DataType:
    _string_in(fn, ts)
    return ts[0]


def _substring(fn: str, ts: list[pa.DataType]) -> pa.DataType:
    _string_in(fn, ts)
    return ts[0]


def _pattern(fn: str, ts: list[pa.DataType]) -> pa.DataType:
    _string_in(fn, ts, 2)
    return pa.bool_()


def _date_part(fn: str, ts: list[pa.DataType]) -> pa.DataType:
    if T.kind(ts[0]) not in ("DATE32", "DATE64", "TIMESTAMP", "NULL"):
        raise _mismatch(fn, ts, "a date32, date64 or timestamp")
    return pa.int32()


def _hash(fn: str, ts: list[pa.DataType]) -> pa.DataType:
    if builtins.any(T.kind(t) == "OTHER" for t in ts):
        raise _mismatch(fn, ts, "computable types")
    return pa.uint64()


def _sha(fn: str, ts: list[pa.DataType]) -> pa.DataType:
    if T.kind(ts[0]) not in ("STRING", "BINARY", "NULL") or pa.types.is_string_view(ts[0]):
        raise _mismatch(fn, ts, "utf8, large_utf8 or binary")
    return pa.binary()


SCALAR_FUNCTIONS: dict[str, tuple[int, int | None, Callable[[str, list], pa.DataType]]] = {
    **{f: (2, 2, _numeric2) for f in ("add", "subtract", "multiply", "divide", "modulo")},
    "negate": (1, 1, _negate),
    **{f: (2, 2, _compare) for f in ("eq", "neq", "lt", "lte", "gt", "gte")},
    "and": (2, None, _logic), "or": (2, None, _logic), "not": (1, 1, _logic),
    "is_null": (1, 1, _null_test), "is_not_null": (1, 1, _null_test),
    "coalesce": (1, None, _coalesce), "case_when": (2, None, _case_when),
    "in_list": (2, None, _in_list), "between": (3, 3, _between),
    "length": (1, 1, _length), "lower": (1, 1, _same_string), "upper": (1, 1, _same_string),
    "substring": (2, 3, _substring),
    "starts_with": (2, 2, _pattern), "ends_with": (2, 2, _pattern),
    "contains": (2, 2, _pattern), "like": (2, 2, _pattern),
    "year": (1, 1, _date_part), "month": (1, 1, _date_part), "day": (1, 1, _date_part),
    "hash_xxh64": (1, None, _hash), "sha256": (1, 1, _sha),
}
"""Built-in scalar functions of plan format v1: name → (min args, max args, typing rule)."""

_UNKNOWN_RESULT: dict[str, pa.DataType] = {
    **{f: pa.bool_() for f in ("eq", "neq", "lt", "lte", "gt", "gte", "and", "or", "not",
                               "is_null", "is_not_null", "in_list", "between", "starts_with",
                               "ends_with", "contains", "like")},
    "year": pa.int32(), "month": pa.int32(), "day": pa.int32(), "hash_xxh64": pa.uint64(),
    "sha256": pa.binary(),
}


def _mismatch(fn: str, ts: list[pa.DataType], expected: str) -> TypeMismatch:
    got = ", ".join(T.describe(t) for t in ts)
    return TypeMismatch(f"function '{fn}' got ({got}); expected {expected}")


# ---------------------------------------------------------------------------------------------
# Helpers


def _e(v: IntoExpr) -> Expr:
    """Values become literals; expressions pass through. Strings are literals, not columns."""
    if isinstance(v, Expr):
        return v
    if isinstance(v, Agg):
        raise PlanError(f"aggregate {v!r} cannot be used inside a scalar expression")
    return lit(v)


def _e_col(v: IntoExpr) -> Expr:
    """Like :func:`_e`, but a bare string names a column (``qv.sum("x")``)."""
    return Column(v) if isinstance(v, builtins.str) else _e(v)


def into_expr(v: IntoExpr) -> Expr:
    """Where a column is expected (select, sort keys): a string is a column name."""
    return _e_col(v)


def _missing_column_message(name: str, schema: pa.Schema) -> str:
    import difflib

    names = schema.names
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"column '{name}' not found; available: {', '.join(names)}{hint}"


def _encode_value(v: Any, t: pa.DataType) -> Any:
    if v is None:
        return None
    k = T.kind(t)
    if k == "BOOL":
        return bool(v)
    if k in ("INT", "UINT"):
        v = int(v)
        return v if -(2**53) <= v <= 2**53 else builtins.str(v)
    if k == "FLOAT":
        v = float(v)
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    if k == "DECIMAL":
        d = v if isinstance(v, _decimal.Decimal) else _decimal.Decimal(builtins.str(v))
        exp = d.as_tuple().exponent
        if not isinstance(exp, int):
            raise TypeMismatch(f"decimal literal {d} is not a finite number")
        if -exp > t.scale and d != d.quantize(_decimal.Decimal(1).scaleb(-t.scale)):
            raise TypeMismatch(f"decimal literal {d} has more digits than scale {t.scale}")
        return format(d, "f")
    if k == "STRING":
        return builtins.str(v)
    if k == "BINARY":
        return base64.b64encode(bytes(v)).decode("ascii")
    if k == "DATE32":
        if isinstance(v, _dt.datetime):
            v = v.date()
        if isinstance(v, _dt.date):
            return v.isoformat()
        return int(v)
    if k == "DATE64":
        if isinstance(v, _dt.date):
            if not isinstance(v, _dt.datetime):
                v = _dt.datetime(v.year, v.month, v.day, tzinfo=_dt.timezone.utc)
            return int(v.timestamp() * 1000)
        return int(v)
    if k == "TIMESTAMP":
        if isinstance(v, _dt.datetime):
            if v.tzinfo is None:
                v = v.replace(tzinfo=_dt.timezone.utc)
            epoch = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
            delta = v - epoch
            micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
            per = {"s": 1_000_000, "ms": 1000, "us": 1}.get(t.unit)
            return micros // per if per else micros * 1000
        return int(v)
    if k == "NULL":
        return None
    raise UnsupportedType(f"cannot write a literal of type {t}")


def _render(e: Any) -> builtins.str:
    """A short, readable form of an expression for messages and ``explain``."""
    if isinstance(e, Alias):
        return f"{_render(e.expr)} AS {e.name}"
    if isinstance(e, Column):
        return e.name
    if isinstance(e, Literal):
        if e.value is None:
            return f"null::{T.describe(e.type)}"
        if isinstance(e.value, (builtins.str, _dt.date)):
            return f"'{e.value}'" + ("" if T.kind(e.type) == "STRING" else f"::{T.describe(e.type)}")
        return f"{e.value}" if T.kind(e.type) in ("INT", "FLOAT", "BOOL") else (
            f"{e.value}::{T.describe(e.type)}")
    if isinstance(e, Cast):
        return f"cast({_render(e.input)} as {T.describe(e.type)})"
    if isinstance(e, Call):
        ops = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "modulo": "%",
               "eq": "=", "neq": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
        if e.function in ops and len(e.args) == 2:
            return f"({_render(e.args[0])} {ops[e.function]} {_render(e.args[1])})"
        if e.function in ("and", "or"):
            return "(" + f" {e.function.upper()} ".join(_render(a) for a in e.args) + ")"
        return f"{e.function}({', '.join(_render(a) for a in e.args)})"
    if isinstance(e, Agg):
        return f"{e.function}({', '.join(_render(a) for a in e.args)})"
    return repr(e)


def _render_json(j: dict) -> builtins.str:
    """Renders a plan-format expression object like :func:`_render` renders an Expr."""
    return _render(_from_json(j))


def _from_json(j: dict) -> Expr:
    kind = j.get("expr")
    if kind == "column":
        return Column(j["name"])
    if kind == "literal":
        return Literal(j.get("value"), T.from_json(j["type"]))
    if kind == "cast":
        return Cast(_from_json(j["input"]), T.from_json(j["type"]))
    if kind == "call":
        return Call(j["function"], [_from_json(a) for a in j.get("args", [])])
    raise PlanError(f"not an expression: {j!r}")
