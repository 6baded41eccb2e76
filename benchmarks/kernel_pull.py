"""Where the time of the two kernel queries goes: pure Java pulling of the QueryResult versus the
export to PyArrow, over 10M rows (x*2 on float64; sum of int64 grouped by 1,000 int64 keys).

Prints min/median of 8 runs, wall clock and process CPU (CPU time is the steadier figure on a
shared machine). Run from the repo root after ``mvn -B -q -pl engine -am package -DskipTests``:

    PYTHONPATH=py .venv/bin/python benchmarks/kernel_pull.py
"""
import time, json, numpy as np, pyarrow as pa, quiver as qv, jpype
eng = qv.local()
rng = np.random.default_rng(7)
x = rng.standard_normal(10_000_000)
eng.put("k", pa.table({"x": x}))
eng.put("g", pa.table({"k": rng.integers(0, 1000, 10_000_000), "v": rng.integers(0, 100, 10_000_000)}))
col = {"expr": "column", "name": "x"}
proj = {"version": 1, "plan": {"node": "project", "input": {"node": "scan", "dataset": "k"},
  "columns": [{"name": "y", "expr": {"expr": "call", "function": "multiply", "args": [col, {"expr": "literal", "type": "float64", "value": 2}]}}]}}
grp = {"version": 1, "plan": {"node": "aggregate", "input": {"node": "scan", "dataset": "g"},
  "group_by": [{"name": "k", "expr": {"expr": "column", "name": "k"}}],
  "aggregates": [{"name": "s", "function": "sum", "args": [{"expr": "column", "name": "v"}]}]}}
PlanJson = jpype.JClass("dev.quiver.engine.plan.PlanJson"); QE = jpype.JClass("dev.quiver.engine.exec.QueryEngine")
EO = jpype.JClass("dev.quiver.engine.exec.ExecOptions"); Map = jpype.JClass("java.util.Map")
for threads in (1, 2):
    qe = QE(eng.catalog, EO.defaults().withThreads(threads))
    for name, plan in (("x*2", proj), ("groupby", grp)):
        jw, jc, pw = [], [], []
        for i in range(8):
            w0, c0 = time.perf_counter(), time.process_time()
            r = qe.execute(PlanJson.parse(json.dumps(plan)), Map.of(), eng.memory.root())
            while r.loadNextBatch(): pass
            r.close()
            jw.append(time.perf_counter() - w0); jc.append(time.process_time() - c0)
            w0 = time.perf_counter()
            eng.to_python(qe.execute(PlanJson.parse(json.dumps(plan)), Map.of(), eng.memory.root())).to_arrow()
            pw.append(time.perf_counter() - w0)
        f = lambda v: f"{1e3*min(v):6.1f}/{1e3*sorted(v)[len(v)//2]:6.1f}"
        print(f"threads={threads} {name:8s} java pull wall min/med {f(jw)} ms, cpu {f(jc)} ms; via python wall {f(pw)} ms")
    qe.close()
