"""The Python API part of ``make demo``: one pandas pipeline with a Quiver stage and one Java
function called both ways, in-process and against a server, with identical results.

Run alone: ``python py/examples/demo_api.py`` (builds examples/java-udf if needed).
"""
from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "py"))

import quiver as qv  # noqa: E402

EXAMPLE = ROOT / "examples" / "java-udf"
JAR = EXAMPLE / "target" / "acme-udf.jar"


def example_jar() -> Path | None:
    if not JAR.is_file():
        mvn = shutil.which("mvn")
        if mvn is None:
            return None
        subprocess.run([mvn, "-B", "-q", "-f", str(EXAMPLE / "pom.xml"), "package",
                        f"-Dquiver.engine.jar={qv.engine_jar()}"], check=True)
    return JAR


def start_server(server_jar: Path, jar: Path | None, scale: float):
    cmd = [str(qv.find_java_home() / "bin" / "java"), "-jar", str(server_jar), "--host",
           "127.0.0.1", "--port", "0", "--tpch-scale", str(scale), "--log-level", "WARN",
           "--no-access-log"] + (["--classpath", str(jar)] if jar else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        m = re.search(r"listening on (\S+)", line)
        if m:
            return proc, m.group(1)
    raise SystemExit(f"server did not start: {' '.join(cmd)}")


def pipeline(eng) -> pd.DataFrame:
    """A pandas pipeline with a Quiver stage, then a Java scalar function inside a plan."""
    rng = np.random.default_rng(7)
    sales = pd.DataFrame({"store": rng.choice(["north", "south", "east"], 100_000),
                          "units": rng.integers(1, 20, 100_000),
                          "price": rng.uniform(1, 100, 100_000).round(2)})
    clean = qv.stage(lambda f: f.filter(qv.col("price") > 10)
                     .with_columns(revenue=qv.col("units") * qv.col("price")), engine=eng)
    return (sales.pipe(clean).groupby("store", as_index=False)["revenue"].sum()
            .sort_values("store").reset_index(drop=True))


def java_both_ways(eng) -> tuple[pd.DataFrame, pd.DataFrame]:
    xs = np.linspace(-4, 4, 9)
    in_plan = (eng.from_arrow({"x": xs})
               .with_columns(score=qv.call("score", qv.col("x"))).to_pandas())
    as_operator = eng.function("com.acme.Score")(pd.DataFrame({"x": xs}), column="x")
    return in_plan, as_operator


def api_part(server_jar: Path, scale: float = 0.01) -> None:
    jar = example_jar()
    print("\n== Python API: the same code in-process and against a server")
    eng_local = qv.local()
    if jar:
        eng_local.load_jar(jar)
    proc, location = start_server(server_jar, jar, scale)
    eng_remote = qv.connect(location)
    try:
        results = {}
        for name, eng in (("in-process", eng_local), ("remote", eng_remote)):
            t0 = time.perf_counter()
            report = pipeline(eng)
            dt = time.perf_counter() - t0
            results[name] = report
            print(f"\n{name}: sales.pipe(qv.stage(filter + with_columns)) -> pandas groupby "
                  f"({dt * 1e3:.0f} ms)\n{report.to_string(index=False)}")
        same = results["in-process"].equals(results["remote"])
        print(f"\nidentical results in both modes: {same}")
        if jar:
            for name, eng in (("in-process", eng_local), ("remote", eng_remote)):
                in_plan, as_op = java_both_ways(eng)
                print(f"\n{name}: Java com.acme.Score as qv.call('score', x) in a plan and as "
                      f"eng.function('com.acme.Score')(df, column='x')")
                print(pd.DataFrame({"x": in_plan["x"], "in_plan": in_plan["score"],
                                    "operator": as_op["score"]}).to_string(index=False))
        else:
            print("(mvn not found: skipped the Java function part; see docs/java-functions.md)")
    finally:
        eng_remote.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


if __name__ == "__main__":
    api_part(ROOT / "flight-server" / "target" / "quiver-server.jar")
