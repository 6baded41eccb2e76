"""The PyCapsule protocol both ways: Quiver results feed PyArrow, Polars, DuckDB and pandas
directly; their objects (and NumPy dicts) go to Java."""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import quiver as qv

T = pa.table({"k": pa.array([3, 1, 2, None], pa.int64()), "v": [0.5, 1.5, 2.5, 3.5],
              "s": ["c", "a", "b", None]})


@pytest.fixture(scope="module")
def eng():
    e = qv.local()
    e.put("cap_t", T)
    yield e
    e.drop("cap_t", missing_ok=True)


def test_result_implements_the_capsule_protocol(eng):
    r = eng.get("cap_t")
    assert type(r.__arrow_c_schema__()).__name__ == "PyCapsule"
    assert pa.table(r).equals(T)
    assert pa.schema(r) == T.schema
    assert pa.RecordBatchReader.from_stream(r).read_all().equals(T)


def test_polars_reads_a_result(eng):
    df = pl.DataFrame(eng.get("cap_t"))
    assert df.to_dict(as_series=False) == T.to_pydict()
    assert pl.from_arrow(eng.get("cap_t").to_arrow()).shape == (4, 3)


def test_duckdb_queries_a_result(eng):
    r = eng.get("cap_t")  # noqa: F841 - DuckDB finds it by name
    got = duckdb.sql("select sum(v) as sv, count(k) as ck from r").fetchall()
    expect = duckdb.sql("select sum(v), count(k) from T").fetchall()
    assert got == expect == [(8.0, 3)]


def test_pandas_from_a_result(eng):
    df = eng.get("cap_t").to_pandas()
    pd.testing.assert_frame_equal(df, T.to_pandas())


@pytest.mark.parametrize("producer", ["pyarrow_table", "record_batch", "reader", "polars",
                                      "pandas", "duckdb", "array_only", "result"])
def test_producers_reach_java_unchanged(eng, producer):
    if producer == "pyarrow_table":
        data = T
    elif producer == "record_batch":
        data = T.to_batches()[0]
    elif producer == "reader":
        data = pa.RecordBatchReader.from_batches(T.schema, T.to_batches())
    elif producer == "polars":
        data = pl.from_arrow(T)
    elif producer == "pandas":
        data = T.to_pandas()
    elif producer == "duckdb":
        data = duckdb.sql("select * from T")
    elif producer == "array_only":
        class OnlyArray:  # speaks __arrow_c_array__ but not __arrow_c_stream__
            def __arrow_c_array__(self, requested_schema=None):
                return T.to_batches()[0].__arrow_c_array__(requested_schema)
        data = OnlyArray()
    else:
        data = eng.get("cap_t")
    back = eng.to_python(eng.to_java(data)).to_arrow()
    # Producers may choose their own string/int layouts (Polars: string_view, pandas: object
    # round trips); values are what must not change.
    assert back.num_rows == 4
    assert back.to_pydict() == T.to_pydict()


def test_numpy_dict_columns_must_be_named_by_strings(eng):
    with pytest.raises(TypeError, match="column names must be str"):
        eng.to_java({1: np.arange(3)})


def test_to_numpy_rules(eng):
    eng.put("cap_np", {"f": np.arange(5.0), "i": np.arange(5, dtype=np.int32)})
    r = eng.get("cap_np")
    both = r.to_numpy()
    assert set(both) == {"f", "i"} and both["i"].dtype == np.int32
    assert not both["f"].flags.writeable  # a view of Java memory
    # nulls: a copy, with NaN for floats
    eng.put("cap_nulls", pa.table({"f": pa.array([1.0, None, 3.0])}))
    out = eng.get("cap_nulls").to_numpy()
    assert np.isnan(out[1]) and out.flags.writeable
    # several chunks: a copy that concatenates
    two = pa.Table.from_batches([pa.record_batch({"x": [1, 2]}), pa.record_batch({"x": [3]})])
    eng.put("cap_chunks", two)
    assert eng.get("cap_chunks").to_numpy().tolist() == [1, 2, 3]
    # strings: an object array
    assert eng.get("cap_t").to_numpy("s").dtype == object
    for n in ("cap_np", "cap_nulls", "cap_chunks"):
        eng.drop(n)


def _java_data_address(eng, name: str, column: str) -> int:
    ds = eng.catalog.get(name)
    try:
        return int(ds.batches().get(0).getVector(column).getDataBuffer().memoryAddress())
    finally:
        ds.close()


def test_polars_and_pandas_numbers_reach_java_in_place(eng):
    df = pl.DataFrame({"x": np.arange(1000.0), "s": ["a"] * 1000})
    eng.put("cap_pl", df)
    assert _java_data_address(eng, "cap_pl", "x") == df["x"].to_arrow().buffers()[1].address
    pdf = df.to_pandas()
    eng.put("cap_pd", pdf)
    assert _java_data_address(eng, "cap_pd", "x") == pdf["x"].to_numpy().ctypes.data
    eng.drop("cap_pl")
    eng.drop("cap_pd")
