"""Java functions called from Python in-process vs the same work in plain Python, NumPy, pandas.

The seed use case of docs/java-functions.md: a numeric kernel (the logistic ``score`` of
examples/java-udf) and a group-by (``group_sum``), each written once in Java, called from
Python on in-memory data. Quiver's figures include crossing into Java and back (zero-copy
C Data Interface) and returning a ``pyarrow.Table``.

    python benchmarks/java_functions.py [--rows N] [--repeat R] [--quick]

Targets (issue 6): >= 50x faster than plain Python, >= 1x NumPy on the same kernel.
"""
from __future__ import annotations

import argparse
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "py"))

from harness import measure, ratio_line, warm_up, write_result  # noqa: E402

import quiver as qv  # noqa: E402

EXAMPLE = REPO / "examples" / "java-udf"
JVM_ARGS = ("--add-modules=jdk.incubator.vector",)
# Warm-up rounds before timing (every system gets them).
WARMUP = 3
# Extra untimed calls of the Quiver systems alone first: the JVM compiles a function's loops
# (and the Vector API kernel) after some thousand loop iterations, which three calls interleaved
# with the other systems did not reach; the figures are meant for a JVM in steady state, as in a
# long-running pipeline. The first-call cost is reported separately (first_call_ms).
JIT_WARMUP = 20
JAR = EXAMPLE / "target" / "acme-udf.jar"


def ensure_jar() -> Path:
    if not JAR.is_file():
        subprocess.run(["mvn", "-B", "-q", "-f", str(EXAMPLE / "pom.xml"), "package"],
                       check=True)
    return JAR


def python_score(xs: list) -> list:
    exp = math.exp
    return [1.0 / (1.0 + exp(-v)) for v in xs]


def python_group_sum(keys: list, values: list) -> dict:
    sums: dict = {}
    counts: dict = {}
    for k, v in zip(keys, values):
        sums[k] = sums.get(k, 0.0) + v
        counts[k] = counts.get(k, 0) + 1
    return {k: (sums[k], counts[k]) for k in sums}


def numpy_group_sum(keys: np.ndarray, values: np.ndarray):
    uniq, inv = np.unique(keys, return_inverse=True)
    return uniq, np.bincount(inv, weights=values), np.bincount(inv)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--groups", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--jit-warmup", type=int, default=JIT_WARMUP,
                    help="untimed calls of each Quiver system before the rounds")
    ap.add_argument("--quick", action="store_true", help="200k rows, 3 repeats")
    a = ap.parse_args()
    if a.quick:
        a.rows, a.repeat = 200_000, 3

    # The Vector API module lets the example's Score kernel run exp() on SIMD registers
    # (com.acme.SimdScore); without it Score uses its scalar loop (docs/java-functions.md).
    eng = qv.local(classpath=[str(ensure_jar())], jvm_args=JVM_ARGS)
    eng.load_jar(JAR)
    rng = np.random.default_rng(0)
    x = rng.normal(0, 3, a.rows)
    keys = rng.integers(0, a.groups, a.rows)
    table = pa.table({"x": x})
    kv = pa.table({"k": keys, "v": x})
    x_list, k_list = x.tolist(), keys.tolist()
    series = pd.Series(x)
    frame = pd.DataFrame({"k": keys, "v": x})
    score = eng.function("com.acme.Score")
    group_sum = eng.function("com.acme.GroupSum")
    eng.put("bench_x", table)
    in_plan = eng.table("bench_x").select(s=qv.call("score", qv.col("x")))

    reference = 1.0 / (1.0 + np.exp(-x))

    def check_score(name, out):
        if isinstance(out, pa.Table):
            got = out.column(0).to_numpy()
        elif isinstance(out, list):
            got = np.asarray(out)
        else:
            got = np.asarray(out)
        np.testing.assert_allclose(got, reference, rtol=1e-12, err_msg=name)

    import time

    def first_and_warm(fn):
        t0 = time.perf_counter()
        fn()
        first = (time.perf_counter() - t0) * 1e3
        # Then at least --jit-warmup calls, and on until the JIT compiler is nearly idle.
        warm_up([fn], min_rounds=a.jit_warmup, budget_s=0.0 if a.quick else 20.0)
        return first

    first_call = {"kernel": first_and_warm(lambda: score(table, column="x"))}
    first_and_warm(lambda: in_plan.collect())
    first_call["group-by"] = first_and_warm(lambda: group_sum(kv, key="k", value="v"))

    cases = []
    kernel = measure({
        "quiver": lambda: score(table, column="x"),
        "quiver_plan": lambda: in_plan.collect(),
        "numpy": lambda: 1.0 / (1.0 + np.exp(-x)),
        "pandas": lambda: 1.0 / (1.0 + np.exp(-series)),
        "python": lambda: python_score(x_list),
    }, repeat=a.repeat, warmup=WARMUP, check=check_score)
    cases.append({"case": "numeric kernel (logistic score)", "params": {"rows": a.rows},
                  "first_call_ms": round(first_call["kernel"], 2),
                  "results": {k: v.to_json() for k, v in kernel.items()}})

    ref_uniq, ref_sum, ref_cnt = numpy_group_sum(keys, x)

    def check_group(name, out):
        if isinstance(out, pa.Table):
            t = out.sort_by("k")
            k, s, c = (t.column(i).to_numpy() for i in range(3))
        elif isinstance(out, tuple):
            k, s, c = out
        elif isinstance(out, dict):
            k = np.array(sorted(out))
            s = np.array([out[i][0] for i in k])
            c = np.array([out[i][1] for i in k])
        else:
            k, s, c = out.index.to_numpy(), out["sum"].to_numpy(), out["count"].to_numpy()
        assert np.array_equal(k, ref_uniq), name
        np.testing.assert_allclose(s, ref_sum, rtol=1e-9, err_msg=name)
        assert np.array_equal(c, ref_cnt), name

    grouping = measure({
        "quiver": lambda: group_sum(kv, key="k", value="v"),
        "numpy": lambda: numpy_group_sum(keys, x),
        "pandas": lambda: frame.groupby("k")["v"].agg(["sum", "count"]),
        "python": lambda: python_group_sum(k_list, x_list),
    }, repeat=a.repeat, warmup=WARMUP, check=check_group)
    cases.append({"case": "group-by sum (int64 key)",
                  "params": {"rows": a.rows, "groups": a.groups},
                  "first_call_ms": round(first_call["group-by"], 2),
                  "results": {k: v.to_json() for k, v in grouping.items()}})

    print(f"rows={a.rows} groups={a.groups} repeat={a.repeat} (median wall-clock; ratio = "
          "system / quiver, > 1 means Quiver is faster)")
    print(ratio_line("numeric kernel", kernel))
    print(ratio_line("group-by sum", grouping))
    for case, t in (("kernel", kernel), ("group-by", grouping)):
        q = t["quiver"].median
        print(f"{case}: {t['python'].median / q:.1f}x plain Python (target >= 50x), "
              f"{t['numpy'].median / q:.2f}x NumPy (target >= 1x), "
              f"{t['pandas'].median / q:.2f}x pandas")
    out = write_result("java_functions", "Java functions called from Python (in-process)",
                       cases, notes="JVM flags: " + " ".join(JVM_ARGS) + " (Vector API for "
                                    "the Score kernel). "
                                    "quiver = Java batch operator via eng.function(...)(table); "
                                    "quiver_plan = the same kernel as a scalar function in a "
                                    "plan (qv.call). Inputs are in memory before timing; "
                                    f"each Quiver system ran at least {a.jit_warmup} untimed "
                                    "calls first, then until the JIT compiler was nearly idle "
                                    "(JIT warm-up; first-call times in first_call_ms).")
    print(f"wrote {out}")
    eng.drop("bench_x")


if __name__ == "__main__":
    main()
