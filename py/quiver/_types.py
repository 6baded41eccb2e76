"""Arrow types in the JSON spelling of docs/plan-format.md, and the engine's typing rules.

The rules mirror ``dev.quiver.engine.types.TypeRules`` so that a frame's schema is known in
Python before anything runs, and type errors are raised where the expression was written.

>>> import pyarrow as pa
>>> to_json(pa.decimal128(15, 2))
{'name': 'decimal128', 'precision': 15, 'scale': 2}
>>> from_json("int64")
DataType(int64)
>>> unify(pa.int32(), pa.decimal128(15, 2))
Decimal128Type(decimal128(15, 2))
"""
from __future__ import annotations

from typing import Any, Union

import pyarrow as pa

from .errors import PlanError, UnsupportedType

__all__ = ["TypeLike", "to_json", "from_json", "as_arrow", "kind", "unify", "describe"]

#: Anything accepted where a type is expected: a pyarrow type, its JSON spelling
#: (``"int64"``, ``{"name": "decimal128", "precision": 15, "scale": 2}``).
TypeLike = Union[pa.DataType, str, dict]

_SIMPLE: dict[str, pa.DataType] = {
    "null": pa.null(), "bool": pa.bool_(),
    "int8": pa.int8(), "int16": pa.int16(), "int32": pa.int32(), "int64": pa.int64(),
    "uint8": pa.uint8(), "uint16": pa.uint16(), "uint32": pa.uint32(), "uint64": pa.uint64(),
    "float16": pa.float16(), "float32": pa.float32(), "float64": pa.float64(),
    "utf8": pa.utf8(), "large_utf8": pa.large_utf8(), "utf8_view": pa.string_view(),
    "binary": pa.binary(), "large_binary": pa.large_binary(), "binary_view": pa.binary_view(),
    "date32": pa.date32(), "date64": pa.date64(),
}
_ALIASES = {"string": "utf8", "str": "utf8", "boolean": "bool", "double": "float64",
            "float": "float64", "int": "int64", "large_string": "large_utf8",
            "string_view": "utf8_view", "halffloat": "float16"}
_SIMPLE_NAMES = {v: k for k, v in _SIMPLE.items()}


def to_json(t: pa.DataType) -> Any:
    """The JSON spelling of an Arrow type; raises :class:`UnsupportedType` for types a plan
    cannot name (lists, structs, ...)."""
    if pa.types.is_dictionary(t):
        return to_json(t.value_type)
    name = _SIMPLE_NAMES.get(t)
    if name is not None:
        return name
    if pa.types.is_decimal128(t):
        return {"name": "decimal128", "precision": t.precision, "scale": t.scale}
    if pa.types.is_timestamp(t):
        out: dict[str, Any] = {"name": "timestamp", "unit": t.unit}
        if t.tz is not None:
            out["tz"] = t.tz
        return out
    raise UnsupportedType(f"type {t} cannot be written in a plan (plan format v1)")


def from_json(j: Any) -> pa.DataType:
    """The Arrow type of a JSON type spelling (also accepts a few pyarrow-style aliases)."""
    if isinstance(j, str):
        key = _ALIASES.get(j, j)
        if key in _SIMPLE:
            return _SIMPLE[key]
        if key.startswith("decimal128(") and key.endswith(")"):
            p, s = key[len("decimal128("):-1].split(",")
            return pa.decimal128(int(p), int(s))
        raise PlanError(f"unknown type '{j}'; known: {', '.join(sorted(_SIMPLE))}, "
                        "decimal128, timestamp")
    if isinstance(j, dict):
        name = j.get("name")
        if name == "decimal128":
            return pa.decimal128(int(j["precision"]), int(j.get("scale", 0)))
        if name == "timestamp":
            return pa.timestamp(j.get("unit", "us"), tz=j.get("tz"))
        if isinstance(name, str) and len(j) == 1:
            return from_json(name)
    raise PlanError(f"not a type: {j!r}")


def as_arrow(t: TypeLike) -> pa.DataType:
    """Normalizes a :data:`TypeLike` to a pyarrow type."""
    if isinstance(t, pa.DataType):
        return t
    return from_json(t)


def describe(t: pa.DataType | None) -> str:
    """The short name used in error messages (the JSON spelling)."""
    if t is None:
        return "?"
    try:
        j = to_json(t)
    except UnsupportedType:
        return str(t)
    if isinstance(j, str):
        return j
    if j["name"] == "decimal128":
        return f"decimal128({j['precision']},{j['scale']})"
    return f"timestamp({j['unit']}{', ' + j['tz'] if j.get('tz') else ''})"


def kind(t: pa.DataType) -> str:
    """The engine's computation family (``TypeKind``): BOOL, INT, UINT, FLOAT, DECIMAL, STRING,
    BINARY, DATE32, DATE64, TIMESTAMP, NULL or OTHER."""
    if pa.types.is_dictionary(t):
        return kind(t.value_type)
    if pa.types.is_boolean(t):
        return "BOOL"
    if pa.types.is_signed_integer(t):
        return "INT"
    if pa.types.is_unsigned_integer(t):
        return "UINT"
    if pa.types.is_float32(t) or pa.types.is_float64(t):
        return "FLOAT"
    if pa.types.is_decimal128(t):
        return "DECIMAL"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or t == pa.string_view():
        return "STRING"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or t == pa.binary_view():
        return "BINARY"
    if pa.types.is_date32(t):
        return "DATE32"
    if pa.types.is_date64(t):
        return "DATE64"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP"
    if pa.types.is_null(t):
        return "NULL"
    return "OTHER"


NUMERIC = {"INT", "UINT", "FLOAT", "DECIMAL"}


def _precision(t: pa.DataType) -> int:
    if pa.types.is_decimal(t):
        return t.precision
    if pa.types.is_integer(t):
        return {8: 3, 16: 5, 32: 10}.get(t.bit_width, 19 if pa.types.is_signed_integer(t) else 20)
    return 38


def _scale(t: pa.DataType) -> int:
    return t.scale if pa.types.is_decimal(t) else 0


def _int(bits: int, signed: bool) -> pa.DataType:
    return getattr(pa, f"{'' if signed else 'u'}int{bits}")()


def unify(a: pa.DataType, b: pa.DataType) -> pa.DataType | None:
    """The common type of two operands (``TypeRules.unify``), or None if there is none."""
    if pa.types.is_dictionary(a):
        a = a.value_type
    if pa.types.is_dictionary(b):
        b = b.value_type
    ka, kb = kind(a), kind(b)
    if ka == "NULL":
        return b
    if kb == "NULL":
        return a
    if a == b:
        return a
    if ka in ("INT", "UINT") and kb in ("INT", "UINT"):
        if ka == kb:
            return _int(max(a.bit_width, b.bit_width), ka == "INT")
        signed, unsigned = (a, b) if ka == "INT" else (b, a)
        if signed.bit_width > unsigned.bit_width:
            return signed
        return _int(min(64, unsigned.bit_width * 2), True)
    if ka == "FLOAT" and kb == "FLOAT":
        return pa.float64()
    if ka in NUMERIC and kb in NUMERIC:
        if "FLOAT" in (ka, kb):
            return pa.float64()
        s = max(_scale(a), _scale(b))
        p = max(_precision(a) - _scale(a), _precision(b) - _scale(b)) + s
        return pa.decimal128(min(38, p), min(s, 38))
    if ka == kb and ka in ("STRING", "BINARY"):
        return a
    if ka == kb == "TIMESTAMP":
        return a if a.unit == b.unit else None
    return None


def arithmetic_result(fn: str, a: pa.DataType, b: pa.DataType) -> pa.DataType | None:
    """Result type of add/subtract/multiply/divide/modulo per the plan format table."""
    ka, kb = kind(a), kind(b)
    if fn in ("add", "subtract") and ka == "DATE32" and kb in ("INT", "UINT"):
        return pa.date32()
    if fn == "add" and kb == "DATE32" and ka in ("INT", "UINT"):
        return pa.date32()
    if fn == "subtract" and ka == kb == "DATE32":
        return pa.int32()
    if not (ka in NUMERIC or ka == "NULL") or not (kb in NUMERIC or kb == "NULL"):
        return None
    u = unify(a, b)
    if u is None or kind(u) != "DECIMAL":
        return u
    # decimal operands: each side as decimal (integers as decimal(prec, 0))
    p1, s1, p2, s2 = _precision(a), _scale(a), _precision(b), _scale(b)
    if fn in ("add", "subtract"):
        p, s = max(p1 - s1, p2 - s2) + max(s1, s2) + 1, max(s1, s2)
    elif fn == "multiply":
        p, s = p1 + p2 + 1, s1 + s2
    elif fn == "divide":
        p, s = 38, max(6, s1)
    else:  # modulo
        p, s = max(p1 - s1, p2 - s2) + max(s1, s2), max(s1, s2)
    return pa.decimal128(min(38, p), s)
