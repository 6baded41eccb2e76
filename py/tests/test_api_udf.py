"""The example Java functions (examples/java-udf) called from Python in both modes, both ways:
as scalar functions inside plans and as batch operators / stateful objects over data. Oracle:
NumPy / pandas on the same data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import quiver as qv
from api_support import engine, local_engine, remote_engine  # noqa: F401 - fixtures


def logistic(x, center=0.0, scale=1.0):
    return 1.0 / (1.0 + np.exp((center - x) / scale))


@pytest.fixture
def xs():
    return np.random.default_rng(3).normal(0, 3, 5000)


def test_scalar_function_in_a_plan(engine, xs):
    f = engine.from_arrow({"x": xs, "i": np.arange(len(xs))})
    out = (f.with_columns(s=qv.call("score", qv.col("x")),
                          t=qv.call("score", qv.col("x"), 0.5, 2.0))
           .filter(qv.col("s") > 0.5).sort("i").collect())
    keep = logistic(xs) > 0.5
    np.testing.assert_allclose(out.column("s").to_numpy(), logistic(xs)[keep], rtol=1e-12)
    np.testing.assert_allclose(out.column("t").to_numpy(), logistic(xs, 0.5, 2.0)[keep],
                               rtol=1e-12)
    # the class name works too, through eng.function(...)(expr)
    score = engine.function("com.acme.Score")
    out2 = f.select(s=score(qv.col("x"))).collect()
    np.testing.assert_allclose(out2.column("s").to_numpy(), logistic(xs), rtol=1e-12)
    assert out.schema.field("s").type == pa.float64()


def test_scalar_function_propagates_nulls(engine):
    f = engine.from_arrow(pa.table({"x": pa.array([1.0, None, -1.0])}))
    got = f.select(s=qv.call("score", qv.col("x"))).collect().column(0).to_pylist()
    assert got[1] is None
    assert got[0] == pytest.approx(logistic(1.0)) and got[2] == pytest.approx(logistic(-1.0))


def test_batch_operator_on_table_pandas_and_frame(engine, xs):
    score = engine.function("com.acme.Score")
    table = pa.table({"x": xs})
    out = score(table, column="x", center=0.5, scale=2.0)
    assert isinstance(out, pa.Table) and out.column_names == ["score"]
    np.testing.assert_allclose(out.column(0).to_numpy(), logistic(xs, 0.5, 2.0), rtol=1e-12)
    pdf = score(pd.DataFrame({"x": xs}), column="x")
    assert isinstance(pdf, pd.DataFrame)
    np.testing.assert_allclose(pdf["score"].to_numpy(), logistic(xs), rtol=1e-12)
    fr = score(engine.from_arrow(table).filter(qv.col("x") > 0), column="x")
    assert isinstance(fr, qv.Frame)
    np.testing.assert_allclose(np.sort(fr.collect().column(0).to_numpy()),
                               np.sort(logistic(xs[xs > 0])), rtol=1e-12)


def test_batch_operator_group_by_against_pandas(engine):
    rng = np.random.default_rng(11)
    df = pd.DataFrame({"k": rng.integers(0, 50, 20000), "v": rng.normal(size=20000)})
    out = engine.function("group_sum")(df, key="k", value="v")
    got = out.sort_values("k").reset_index(drop=True)
    ref = df.groupby("k").agg(sum=("v", "sum"), count=("v", "count")).reset_index()
    assert got["k"].tolist() == ref["k"].tolist()
    np.testing.assert_allclose(got["sum"], ref["sum"], rtol=1e-9)
    assert got["count"].tolist() == ref["count"].tolist()


def test_batch_operator_group_by_in_parallel_parts_with_nulls(engine):
    # Above 256K rows group_sum aggregates parts of a batch on several threads and merges them;
    # null keys are skipped and null values not counted, whichever part they fall in.
    n = 700_003
    rng = np.random.default_rng(12)
    k = pa.array(rng.integers(0, 3000, n), mask=rng.random(n) < 0.01)
    v = pa.array(rng.normal(size=n), mask=rng.random(n) < 0.02)
    out = engine.function("group_sum")(pa.table({"k": k, "v": v}), key="k", value="v")
    got = out.sort_by("k").to_pandas()
    df = pa.table({"k": k, "v": v}).to_pandas()
    ref = df.dropna(subset=["k"]).groupby("k").agg(sum=("v", "sum"), count=("v", "count"))
    ref = ref.reset_index()
    assert got["k"].astype("int64").tolist() == ref["k"].astype("int64").tolist()
    assert got["count"].tolist() == ref["count"].tolist()
    np.testing.assert_allclose(got["sum"].fillna(0.0), ref["sum"], rtol=1e-9, atol=1e-9)


def test_java_operator_as_a_pipeline_stage(engine, xs):
    st = qv.stage("com.acme.Score", engine=engine, column="x")
    out = pd.DataFrame({"x": xs}).pipe(st)
    np.testing.assert_allclose(out["score"].to_numpy(), logistic(xs), rtol=1e-12)


def test_stateful_object(engine, tmp_path):
    model_file = tmp_path / "model.txt"
    model_file.write_text("a, b\n2.0, -0.5\n1.0\n")
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=1000), rng.normal(size=1000)
    with engine.new("com.acme.Model", path=str(model_file)) as model:
        pred = model.predict(pa.table({"a": a, "b": b, "other": np.zeros(1000)}))
        np.testing.assert_allclose(pred.column("prediction").to_numpy(), 2 * a - 0.5 * b + 1,
                                   rtol=1e-12)
        model.predict(pd.DataFrame({"a": [1.0], "b": [1.0]}))
        stats = model.stats(pa.table({"x": [0]}))
        assert stats.column(0).to_pylist() == [1001]  # the object kept its state
        with pytest.raises(qv.PlanError, match="needs column 'b'"):
            model.predict(pa.table({"a": [1.0]}))


def test_unknown_java_function_and_bad_arguments(engine):
    with pytest.raises(qv.FunctionNotFound, match="com.acme.Nope"):
        engine.function("com.acme.Nope")(pa.table({"x": [1.0]}))
    with pytest.raises(qv.PlanError, match="missing argument 'column'"):
        engine.function("com.acme.Score")(pa.table({"x": [1.0]}))
    with pytest.raises(qv.PlanError, match="model file not found"):
        engine.new("com.acme.Model", path="/nonexistent/model.txt")


def test_in_process_operators_read_python_memory_in_place_and_load_jar_works(
        local_engine):  # noqa: F811
    """The engine's test jar (not on the JVM class path) is added at run time; its
    ``data_address`` operator reports where Java sees column x: NumPy's own buffer."""
    from api_support import REPO

    tests_jar = next((REPO / "engine" / "target").glob("quiver-engine-*-tests.jar"), None)
    if tests_jar is None:
        pytest.skip("engine test jar not built (mvn package)")
    local_engine.load_jar(tests_jar)
    xs = np.arange(100_000, dtype=np.float64)
    out = local_engine.function("data_address")({"x": xs})
    assert out["address"].tolist() == [xs.ctypes.data]  # a dict in, a dict of arrays out
    # the same jar's scalar function joined the running query engine's registry
    got = local_engine.from_arrow({"x": xs[:3]}).select(y=qv.call("twice", qv.col("x")))
    assert got.collect().column(0).to_pylist() == [0.0, 2.0, 4.0]


def test_batch_operator_splits_a_large_batch_across_threads(engine):
    # Above 256K rows Score scores parts of the batch on the common pool's threads: every row
    # must still land in its own place (a part writing another's range would show here).
    x = np.random.default_rng(5).normal(0, 3, 700_001)
    out = engine.function("com.acme.Score")(pa.table({"x": x}), column="x", center=0.25,
                                            scale=1.5)
    np.testing.assert_allclose(out.column("score").to_numpy(), logistic(x, 0.25, 1.5),
                               rtol=1e-12)


_SIMD_SCRIPT = """
import sys, numpy as np, pyarrow as pa, quiver as qv
eng = qv.local(classpath=[sys.argv[1]], jvm_args=("--add-modules=jdk.incubator.vector",))
import jpype
assert jpype.java.lang.ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
score = eng.function("com.acme.Score")
for n in (7, 1000, 700_001):  # tail loop only, one thread, several threads
    x = np.random.default_rng(n).normal(0, 3, n)
    got = score(pa.table({"x": x}), column="x", center=0.25, scale=1.5).column(0).to_numpy()
    np.testing.assert_allclose(got, 1.0 / (1.0 + np.exp((0.25 - x) / 1.5)), rtol=1e-12)
    s = eng.from_arrow({"x": x}).select(s=qv.call("score", qv.col("x"))).collect()
    np.testing.assert_allclose(s.column(0).to_numpy(), 1.0 / (1.0 + np.exp(-x)), rtol=1e-12)
print("simd ok")
"""


def test_score_with_the_vector_api_matches_numpy():
    # The SIMD kernel (com.acme.SimdScore) runs only in a JVM with the Vector API module; this
    # process's JVM has none, so a child process starts one.
    import subprocess
    import sys
    from api_support import example_jar

    r = subprocess.run([sys.executable, "-c", _SIMD_SCRIPT, str(example_jar())],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "simd ok" in r.stdout, r.stdout + r.stderr
