"""Calls the ACME Java functions from Python, in-process or against a server.

    mvn -q -f examples/java-udf/pom.xml package
    python examples/java-udf/example.py                         # in-process
    python examples/java-udf/example.py --remote grpc://127.0.0.1:8815
        (server started with the jar on its class path, see docs/java-functions.md)
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

import quiver as qv

JAR = Path(__file__).resolve().parent / "target" / "acme-udf.jar"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--remote", help="grpc://host:port of a Quiver server (default: in-process)")
    p.add_argument("--token", help="bearer token for the server")
    args = p.parse_args()
    if args.remote:
        eng = qv.connect(args.remote, token=args.token)
    else:
        if not JAR.is_file():
            raise SystemExit(f"build the example first: mvn -q -f {JAR.parent.parent}/pom.xml "
                             "package")
        eng = qv.local(classpath=[str(JAR)])
        eng.load_jar(JAR)
    print(f"engine: {eng!r}")

    rng = np.random.default_rng(1)
    df = pd.DataFrame({"x": rng.normal(0, 2, 100_000), "k": rng.integers(0, 10, 100_000)})

    # (1) a scalar Java function inside a lazy query
    f = eng.from_arrow(df)
    hot = (f.with_columns(s=qv.call("score", qv.col("x")))
           .filter(qv.col("s") > 0.95)
           .group_by("k").agg(n=qv.count(), mean_s=qv.mean("s"))
           .sort("k"))
    print(hot.explain())
    print(hot.to_pandas())

    # (2) the same kernel as a batch operator over a DataFrame, and in a pandas pipeline
    score = eng.function("com.acme.Score")
    print(score(df, column="x", center=1.0).describe())
    print(df.pipe(qv.stage("com.acme.Score", engine=eng, column="x")).head(3))

    # a group-by written in Java
    print(eng.function("group_sum")(df.assign(v=df.x), key="k", value="v").sort_values("k"))

    # (3) a stateful object built from a model file
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "model.txt"
        path.write_text("x\n3.0\n-1.0\n")
        with eng.new("com.acme.Model", path=str(path)) as model:
            pred = model.predict(pa.table({"x": df.x.to_numpy()}))
            print(pred.slice(0, 3).to_pandas())
            print(model.stats(pa.table({"any": [0]})).to_pandas())


if __name__ == "__main__":
    main()
