"""Random Arrow tables for the property test of every Quiver path.

:func:`random_table` builds a table from a seed: random schemas (every Arrow type PyArrow can
build, nesting depth >= 3 in at least one column), nulls everywhere they are allowed, empty
batches, batches that are slices with a non-zero offset (dictionary columns included, so the
dictionaries are sliced too), schema and field metadata.

Reproduce a failure of ``test_trust_random.py``::

    QUIVER_TRUST_SEED=1234 QUIVER_TRUST_CASES=200 .venv/bin/python -m pytest py/tests/test_trust_random.py
    PYTHONPATH=py:py/tests .venv/bin/python py/tests/trust_random.py --seed 1234 --cases 200

(the standalone form prints each case's schema and the outcome on every path).
"""
from __future__ import annotations

import argparse
import datetime
import decimal
import random
import sys
from typing import Any

import numpy as np
import pyarrow as pa

DEFAULT_SEED = 20260525


# ---- types ------------------------------------------------------------------------------------

def _leaf_types() -> list[pa.DataType]:
    return [
        pa.null(), pa.bool_(),
        pa.int8(), pa.int16(), pa.int32(), pa.int64(),
        pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64(),
        pa.float16(), pa.float32(), pa.float64(),
        pa.string(), pa.large_string(), pa.string_view(),
        pa.binary(), pa.large_binary(), pa.binary_view(), pa.binary(5),
        pa.date32(), pa.date64(),
        pa.time32("s"), pa.time32("ms"), pa.time64("us"), pa.time64("ns"),
        pa.timestamp("s"), pa.timestamp("ms", "UTC"), pa.timestamp("us", "Europe/Paris"),
        pa.timestamp("ns"),
        pa.duration("s"), pa.duration("ms"), pa.duration("us"), pa.duration("ns"),
        pa.month_day_nano_interval(),
        pa.decimal128(18, 3), pa.decimal128(38, 10), pa.decimal256(50, 5),
    ]


def random_type(rng: random.Random, depth: int) -> pa.DataType:
    """A type nested ``depth`` levels deep (0 = a leaf or a dictionary)."""
    if depth <= 0:
        if rng.random() < 0.12:
            value = rng.choice([pa.string(), pa.int64(), pa.large_string(), pa.binary()])
            index = rng.choice([pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(),
                                pa.uint32()])
            return pa.dictionary(index, value, ordered=rng.random() < 0.2)
        return rng.choice(_leaf_types())
    kind = rng.choice(["list", "large_list", "fixed_list", "list_view", "struct", "struct",
                       "map", "sparse_union", "dense_union", "ree"])
    child = lambda: random_type(rng, depth - 1)  # noqa: E731
    if kind == "list":
        return pa.list_(pa.field("item", child()))
    if kind == "large_list":
        return pa.large_list(child())
    if kind == "fixed_list":
        return pa.list_(child(), rng.randint(1, 3))
    if kind == "list_view":
        return pa.list_view(child())
    if kind == "struct":
        n = rng.randint(1, 3)
        return pa.struct([pa.field(f"s{i}", child() if i == 0 else random_type(rng, rng.randint(
            0, depth - 1)), nullable=True, metadata=_maybe_metadata(rng)) for i in range(n)])
    if kind == "map":
        key = rng.choice([pa.string(), pa.int32(), pa.int64()])
        return pa.map_(key, child())
    if kind in ("sparse_union", "dense_union"):
        n = rng.randint(1, 3)
        fields = [pa.field(f"u{i}", child() if i == 0 else rng.choice(_leaf_types()))
                  for i in range(n)]
        codes = sorted(rng.sample(range(0, 20), n))
        return (pa.sparse_union if kind == "sparse_union" else pa.dense_union)(fields, codes)
    # run-end encoded: the values may not be a REE themselves; keep them simple.
    return pa.run_end_encoded(rng.choice([pa.int16(), pa.int32(), pa.int64()]),
                              rng.choice([pa.int32(), pa.string(), pa.float64(), pa.bool_()]))


def _maybe_metadata(rng: random.Random) -> dict[bytes, bytes] | None:
    if rng.random() < 0.2:
        return {f"k{rng.randint(0, 9)}".encode(): f"v{rng.random():.4f}".encode()}
    return None


def random_schema(rng: random.Random) -> pa.Schema:
    ncols = rng.randint(1, 5)
    deep = rng.randrange(ncols)  # this column is nested at least 3 levels
    fields = []
    for i in range(ncols):
        depth = rng.randint(3, 4) if i == deep else rng.randint(0, 2)
        fields.append(pa.field(f"c{i}", random_type(rng, depth), nullable=True,
                               metadata=_maybe_metadata(rng)))
    meta = {b"trust_seed_case": str(rng.random()).encode()} if rng.random() < 0.5 else None
    return pa.schema(fields, metadata=meta)


# ---- values -----------------------------------------------------------------------------------

def _leaf_value(rng: random.Random, t: pa.DataType) -> Any:
    if pa.types.is_boolean(t):
        return rng.random() < 0.5
    if pa.types.is_integer(t):
        bits = t.bit_width
        lo, hi = (0, 2 ** bits - 1) if pa.types.is_unsigned_integer(t) else (
            -(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        return rng.choice([lo, hi, 0, rng.randint(lo, hi)])
    if pa.types.is_floating(t):
        return rng.choice([0.0, -0.0, 1.5, -2.25, rng.uniform(-1e3, 1e3), float("inf")])
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return rng.choice(["", "a", "héllo", "x" * rng.randint(0, 40), "\u2603🎉"])
    if pa.types.is_fixed_size_binary(t):
        return bytes(rng.randrange(256) for _ in range(t.byte_width))
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 30)))
    if pa.types.is_date32(t):
        return datetime.date(1970, 1, 1) + datetime.timedelta(days=rng.randint(-30000, 30000))
    if pa.types.is_date64(t):
        return datetime.date(1970, 1, 1) + datetime.timedelta(days=rng.randint(-30000, 30000))
    if pa.types.is_time32(t) or pa.types.is_time64(t):
        per_day = {"s": 86400, "ms": 86400_000, "us": 86400_000_000,
                   "ns": 86400_000_000_000}[t.unit]
        return rng.randrange(per_day)
    if pa.types.is_timestamp(t) or pa.types.is_duration(t):
        return rng.randint(-(2 ** 40), 2 ** 40)
    if pa.types.is_interval(t):
        return pa.MonthDayNano([rng.randint(-100, 100), rng.randint(-1000, 1000),
                                rng.randint(-(2 ** 50), 2 ** 50)])
    if pa.types.is_decimal(t):
        digits = t.precision
        unscaled = rng.randint(-(10 ** digits) + 1, 10 ** digits - 1)
        return decimal.Decimal(unscaled).scaleb(-t.scale)
    raise AssertionError(f"no value generator for {t}")


def random_array(rng: random.Random, t: pa.DataType, n: int, null_p: float) -> pa.Array:
    """An array of ``t`` with ``n`` slots, about ``null_p`` of them null."""
    nulls = [rng.random() < null_p for _ in range(n)]
    if pa.types.is_null(t):
        return pa.nulls(n)
    if pa.types.is_float16(t):
        values = np.array([rng.uniform(-100, 100) for _ in range(n)], dtype=np.float16)
        return pa.array(values, mask=np.array(nulls, dtype=bool), type=t)
    if pa.types.is_dictionary(t):
        ndict = rng.randint(1, 6)
        dictionary = random_array(rng, t.value_type, ndict, 0.0)
        if len(set(dictionary.to_pylist())) < ndict:  # dictionaries hold distinct values
            dictionary = pa.array(list(dict.fromkeys(dictionary.to_pylist())), t.value_type)
        max_index = min(len(dictionary), 2 ** (t.index_type.bit_width - 1)) - 1
        idx = [None if nulls[i] else rng.randint(0, max_index) for i in range(n)]
        return pa.DictionaryArray.from_arrays(pa.array(idx, t.index_type), dictionary,
                                              ordered=t.ordered)
    if pa.types.is_struct(t):
        children = [random_array(rng, t.field(i).type, n, null_p) for i in range(t.num_fields)]
        return pa.StructArray.from_arrays(children, fields=list(t),
                                          mask=pa.array(nulls, pa.bool_()))
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        lengths = [0 if nulls[i] else rng.randint(0, 3) for i in range(n)]
        offsets = [0]
        for length in lengths:
            offsets.append(offsets[-1] + length)
        values = random_array(rng, t.value_type, offsets[-1], null_p)
        off_type = pa.int64() if pa.types.is_large_list(t) else pa.int32()
        mask = pa.array(nulls, pa.bool_())
        if pa.types.is_list_view(t):
            return pa.ListViewArray.from_arrays(pa.array(offsets[:-1], off_type),
                                                pa.array(lengths, off_type), values,
                                                type=t, mask=mask)
        cls = pa.LargeListArray if pa.types.is_large_list(t) else pa.ListArray
        return cls.from_arrays(pa.array(offsets, off_type), values, type=t, mask=mask)
    if pa.types.is_fixed_size_list(t):
        values = random_array(rng, t.value_type, n * t.list_size, null_p)
        return pa.FixedSizeListArray.from_arrays(values, type=t,
                                                 mask=pa.array(nulls, pa.bool_()))
    if pa.types.is_map(t):
        lengths = [0 if nulls[i] else rng.randint(0, 3) for i in range(n)]
        offsets = [0]
        for length in lengths:
            offsets.append(offsets[-1] + length)
        keys = random_array(rng, t.key_type, offsets[-1], 0.0)
        items = random_array(rng, t.item_type, offsets[-1], null_p)
        return pa.MapArray.from_arrays(pa.array(offsets, pa.int32()), keys, items, type=t,
                                       mask=pa.array(nulls, pa.bool_()))
    if pa.types.is_union(t):
        codes = list(t.type_codes)
        which = [rng.randrange(len(codes)) for _ in range(n)]
        type_ids = pa.array([codes[w] for w in which], pa.int8())
        fields = list(t)
        if t.mode == "sparse":
            children = [random_array(rng, f.type, n, null_p) for f in fields]
            return pa.UnionArray.from_sparse(type_ids, children, [f.name for f in fields], codes)
        counts = [which.count(k) for k in range(len(codes))]
        children = [random_array(rng, f.type, counts[k], null_p) for k, f in enumerate(fields)]
        seen = [0] * len(codes)
        offs = []
        for w in which:
            offs.append(seen[w])
            seen[w] += 1
        return pa.UnionArray.from_dense(type_ids, pa.array(offs, pa.int32()), children,
                                        [f.name for f in fields], codes)
    if pa.types.is_run_end_encoded(t):
        runs, ends, total = [], [], 0
        while total < n:
            total += rng.randint(1, 4)
            ends.append(min(total, n))
            runs.append(None if rng.random() < null_p else _leaf_value(rng, t.value_type))
        if n == 0:
            ends, runs = [], []
        return pa.RunEndEncodedArray.from_arrays(pa.array(ends, t.run_end_type),
                                                 pa.array(runs, t.value_type), type=t)
    values = [None if nulls[i] else _leaf_value(rng, t) for i in range(n)]
    return pa.array(values, type=t)


def random_table(seed: int) -> pa.Table:
    """The table for ``seed``: 0-4 batches of 0-40 rows, some empty, some sliced at an offset."""
    rng = random.Random(seed)
    schema = random_schema(rng)
    null_p = rng.choice([0.0, 0.1, 0.5, 1.0])
    batches = []
    for _ in range(rng.choice([0, 1, 1, 2, 3, 4])):
        rows = rng.choice([0, 1, rng.randint(2, 40)])
        offset = rng.choice([0, 0, rng.randint(1, 7)])
        total = rows + offset + rng.randint(0, 3)
        arrays = [random_array(rng, f.type, total, null_p) for f in schema]
        batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
        batches.append(batch.slice(offset, rows))
    return pa.Table.from_batches(batches, schema=schema)


def features(table: pa.Table) -> set[str]:
    """Type features present anywhere in ``table``'s schema (for known-limitation routing)."""
    found: set[str] = set()
    for f in table.schema:
        if f.metadata:
            found.add("metadata")
        found |= type_features(f.type)
    if table.schema.metadata:
        found.add("metadata")
    return found


def type_features(t: pa.DataType) -> set[str]:
    found: set[str] = set()

    def walk(t: pa.DataType) -> None:
        if pa.types.is_dictionary(t):
            found.add("dictionary")
            walk(t.value_type)
        elif pa.types.is_null(t):
            found.add("null")
        elif pa.types.is_union(t):
            found.add("union")
        elif pa.types.is_run_end_encoded(t):
            found.add("ree")
            walk(t.value_type)
        for i in range(getattr(t, "num_fields", 0)):
            walk(t.field(i).type)

    walk(t)
    return found


def main(argv: list[str] | None = None) -> int:
    from trust_paths import PATHS, TrustEnv, run_path
    import test_trust_random as tr

    ap = argparse.ArgumentParser(description="random round trips through every Quiver path")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--cases", type=int, default=40)
    args = ap.parse_args(argv)
    failures = 0
    with TrustEnv.start() as env:
        for case in range(args.cases):
            seed = args.seed + case
            table = random_table(seed)
            print(f"case seed={seed}: {table.num_rows} rows, {len(table.to_batches())} batches, "
                  f"{table.schema.types}")
            for path in PATHS:
                problem = tr.judge(env, path, table, seed)
                if problem:
                    failures += 1
                print(f"  {path}: {problem or 'ok'}")
    print(f"{failures} failing cells")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
