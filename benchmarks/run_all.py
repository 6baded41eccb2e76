"""Runs every Quiver benchmark, checks that each wrote its JSON, then regenerates the report.

    make bench          # = .venv/bin/python benchmarks/run_all.py          (< 30 min, 2 cores)
    make bench-quick    # = .venv/bin/python benchmarks/run_all.py --quick  (< 5 min)

Suites (each in its own process, so one JVM per suite, memory figures per suite, and a crash or
a timeout in one does not stop the others):

- ``jmh``: the JMH jar (``benchmarks/src``, engine kernels in ns per row) -> ``jmh.json``
- ``tpch``: ``tpch_compare.py``, TPC-H Q1/Q3/Q5/Q6/Q10 vs DuckDB, polars, pandas, PyArrow
  -> ``tpch.json``; kernels vs a plain Python loop and NumPy -> ``kernels.json``
- ``operators``: ``operators_compare.py``, single operators (sorts, top-k, distinct, LIKE,
  decimal ranges, CASE, string functions, joins of each kind) on TPC-H SF1 vs DuckDB
  -> ``operators.json``
- ``operators_views``: the same with the strings as tpchgen-cli writes them (string_view)
  -> ``operators_views.json``
- ``flight``: ``flight_compare.py`` over ``flight_throughput.py``, DoGet/DoPut/DoExchange and
  parallel DoGet vs the PyArrow (C++) Flight server by batch size -> ``flight.json``
- ``handoff``: ``handoff_compare.py`` over ``handoff.py``, in-process handoff vs the stock
  exporter, IPC through a pipe and pickle, by rows -> ``handoff.json``
- ``java_functions``: ``java_functions.py``, Java functions vs plain Python, NumPy, pandas
  -> ``java_functions.json``

A suite whose script is not on this branch yet is reported as skipped (and fails ``--strict``).
``benchmarks/results/run_all.json`` records each suite's status, duration and the machine's load
average around it; ``report.py`` prints those run conditions in ``docs/benchmarks.md``.

Options: ``--only tpch,flight`` / ``--skip jmh``, ``--results-dir DIR`` (the CI smoke test
writes to a temporary directory), ``--no-report``, ``--strict`` (exit 1 unless every suite ran).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
JMH_JAR = HERE / "target" / "quiver-benchmarks.jar"


@dataclass
class Suite:
    """One benchmark run as a subprocess: ``argv(quick)`` gives its command line."""

    name: str
    argv: Callable[[bool], list[str]]
    produces: list[str]
    requires: list[str] = field(default_factory=list)
    timeout_quick: int = 180
    timeout_full: int = 900
    post: Callable[[Path, bool], None] | None = None


# ``--script NAME=PATH`` replaces a benchmark script (e.g. a branch's version not merged yet).
SCRIPT_OVERRIDES: dict[str, Path] = {}


def _py(script: str, *args: str) -> list[str]:
    return [sys.executable, str(SCRIPT_OVERRIDES.get(script, HERE / script)), *args]


def _find_module(name: str) -> bool:
    if name in SCRIPT_OVERRIDES:
        return SCRIPT_OVERRIDES[name].exists()
    paths = [HERE, *(Path(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)]
    return any((p / name).exists() for p in paths)


# ---- JMH --------------------------------------------------------------------------------------

def _java() -> str:
    sys.path.insert(0, str(ROOT / "py"))
    try:
        from quiver._jar import find_java_home

        return str(find_java_home() / "bin" / "java")
    except Exception:  # noqa: BLE001 - fall back to PATH
        return "java"


def _jmh_argv(quick: bool) -> list[str]:
    raw = Path(os.environ.get("QUIVER_BENCH_RESULTS", HERE / "results")) / "jmh-raw.json"
    timing = (["-f", "1", "-wi", "1", "-i", "2", "-w", "200ms", "-r", "300ms"] if quick else
              ["-f", "1", "-wi", "3", "-i", "5", "-w", "1s", "-r", "1s", "-p", "threads=1,2"])
    return [_java(), "--add-opens=java.base/java.nio=org.apache.arrow.memory.core,ALL-UNNAMED",
            "-jar", str(JMH_JAR), *timing, "-rf", "json", "-rff", str(raw)]


def _jmh_has_benchmarks() -> str | None:
    """None if the JMH jar lists benchmarks, else why the suite is skipped."""
    if not JMH_JAR.exists():
        return f"{JMH_JAR.relative_to(ROOT)} not built (make jars)"
    try:
        out = subprocess.run([_java(), "-jar", str(JMH_JAR), "-l"], capture_output=True,
                             text=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as e:
        return f"cannot list JMH benchmarks: {e}"
    listed = [ln for ln in out.stdout.splitlines()[1:] if ln.strip()]
    return None if out.returncode == 0 and listed else "no JMH benchmarks on this branch yet"


def jmh_to_result(results_dir: Path, quick: bool) -> None:
    """Turns JMH's own JSON into the harness schema (one case per benchmark and parameter set)."""
    sys.path.insert(0, str(HERE))
    import harness

    harness.RESULTS = results_dir
    raw_path = results_dir / "jmh-raw.json"
    raw = json.loads(raw_path.read_text())
    cases, units = [], set()
    for b in raw:
        pm = b["primaryMetric"]
        runs = [float(x) for fork in pm.get("rawData", [[pm["score"]]]) for x in fork]
        units.add(pm["scoreUnit"])
        params = {k: (int(v) if str(v).isdigit() else v) for k, v in (b.get("params") or {}).items()}
        name = b["benchmark"].rsplit(".", 2)
        label = ".".join(name[-2:]) + (
            " [" + ", ".join(f"{k}={v}" for k, v in params.items()) + "]" if params else "")
        t = harness.Timing(runs).to_json()
        t["score_error"] = pm.get("scoreError")
        cases.append({"case": label, "params": {**params, "mode": b["mode"],
                                                "unit": pm["scoreUnit"]},
                      "results": {"quiver": t}})
    unit = units.pop() if len(units) == 1 else "mixed (see case)"
    harness.write_result(
        "jmh", "JMH kernels (engine; KernelBench scores are ns per input row)", cases,
        unit=unit, baseline="quiver", quick=quick, notes="JMH score per benchmark (lower is better for time units); "
                           "runs = every measurement iteration. " +
                           ("Quick mode: 1 warm-up and 2 short iterations, indicative only."
                            if quick else "1 fork, 3 warm-up and 5 measured 1 s iterations."),
        command="java -jar benchmarks/target/quiver-benchmarks.jar "
                + " ".join(_jmh_argv(quick)[4:-2]) + " -rff benchmarks/results/jmh-raw.json")
    raw_path.unlink()


SUITES = [
    Suite("jmh", _jmh_argv, ["jmh"], timeout_quick=180, timeout_full=600, post=jmh_to_result),
    Suite("tpch", lambda q: _py("tpch_compare.py", *(["--quick"] if q else [])),
          ["tpch", "kernels"], timeout_quick=240, timeout_full=900),
    Suite("operators", lambda q: _py("operators_compare.py", *(["--quick"] if q else [])),
          ["operators"], timeout_quick=240, timeout_full=600),
    Suite("operators_views",
          lambda q: _py("operators_compare.py", "--views", *(["--quick"] if q else [])),
          ["operators_views"], timeout_quick=240, timeout_full=600),
    Suite("flight", lambda q: _py("flight_compare.py", *(["--quick"] if q else [])), ["flight"],
          requires=["flight_throughput.py"], timeout_quick=180, timeout_full=600),
    Suite("handoff", lambda q: _py("handoff_compare.py", *(["--quick"] if q else [])),
          ["handoff"], requires=["handoff.py"], timeout_quick=180, timeout_full=600),
    Suite("java_functions", lambda q: _py("java_functions.py", *(["--quick"] if q else [])),
          ["java_functions"], requires=["java_functions.py"], timeout_quick=180,
          timeout_full=300),
]


# ---- result validation ---------------------------------------------------------------------------

def validate_result(path: Path) -> list[str]:
    """Problems with one result file (empty list: it follows the harness schema)."""
    try:
        res = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        return [f"{path.name}: unreadable ({e})"]
    problems = []
    for key in ("benchmark", "title", "command", "unit", "baseline", "system", "cases"):
        if key not in res:
            problems.append(f"{path.name}: missing '{key}'")
    sysinfo = res.get("system", {})
    for key in ("cpus", "memory_bytes", "versions"):
        if key not in sysinfo:
            problems.append(f"{path.name}: system info lacks '{key}'")
    if not res.get("cases"):
        problems.append(f"{path.name}: no cases")
    for c in res.get("cases", []):
        if not c.get("results"):
            problems.append(f"{path.name}: case {c.get('case')!r} has no results")
        for system, t in c.get("results", {}).items():
            for key in ("runs", "median", "min", "max"):
                if key not in t:
                    problems.append(f"{path.name}: {c.get('case')!r}/{system} lacks '{key}'")
            if t.get("runs") and not (t["min"] <= t["median"] <= t["max"]):
                problems.append(f"{path.name}: {c.get('case')!r}/{system} median outside min-max")
    return problems


# ---- running ---------------------------------------------------------------------------------------

def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def run_suite(suite: Suite, quick: bool, results_dir: Path, env: dict[str, str]) -> dict[str, Any]:
    status: dict[str, Any] = {"suite": suite.name, "produces": suite.produces}
    overridden = [f"{k} from {v}" for k, v in SCRIPT_OVERRIDES.items()
                  if k in suite.requires or k in " ".join(suite.argv(quick))]
    if overridden:
        status["reason"] = "ran " + ", ".join(overridden)
    missing = [r for r in suite.requires if not _find_module(r)]
    reason = (f"{', '.join(missing)} not on this branch yet" if missing else
              _jmh_has_benchmarks() if suite.name == "jmh" else None)
    if reason:
        status.update(status="skipped", reason=reason)
        print(f"== {suite.name}: skipped ({reason})", flush=True)
        return status
    for name in suite.produces:
        (results_dir / f"{name}.json").unlink(missing_ok=True)
    argv = suite.argv(quick)
    timeout = suite.timeout_quick if quick else suite.timeout_full
    log_path = results_dir / "logs" / f"{suite.name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"== {suite.name}: {' '.join(argv)}", flush=True)
    status["load_before"] = _loadavg()
    t0 = time.monotonic()
    rc: int | str
    with open(log_path, "w") as log:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1)
        try:
            assert proc.stdout is not None
            deadline = t0 + timeout
            for line in proc.stdout:
                log.write(line)
                sys.stdout.write(f"   {line}")
                sys.stdout.flush()
                if time.monotonic() > deadline:
                    raise subprocess.TimeoutExpired(argv, timeout)
            rc = proc.wait(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            rc = "timeout"
    status["seconds"] = round(time.monotonic() - t0, 1)
    status["load_after"] = _loadavg()
    status["log"] = str(log_path)
    problems: list[str] = []
    if rc != 0:
        problems.append(f"exit status {rc} (see {log_path})")
    elif suite.post is not None:
        try:
            suite.post(results_dir, quick)
        except Exception as e:  # noqa: BLE001 - reported as the suite's failure
            problems.append(f"post-processing failed: {e!r}")
    for name in suite.produces:
        path = results_dir / f"{name}.json"
        if not path.exists():
            problems.append(f"{name}.json not written")
        else:
            problems += validate_result(path)
    status["status"] = "failed" if problems else "ok"
    if problems:
        status["problems"] = problems
    print(f"== {suite.name}: {status['status']} in {status['seconds']}s"
          + (f": {'; '.join(problems)}" if problems else ""), flush=True)
    return status


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="reduced sizes and repetitions")
    ap.add_argument("--only", help="comma-separated suites to run")
    ap.add_argument("--skip", default="", help="comma-separated suites to leave out")
    ap.add_argument("--results-dir", type=Path, default=HERE / "results")
    ap.add_argument("--no-report", action="store_true")
    ap.add_argument("--strict", action="store_true", help="exit 1 if any suite was skipped")
    ap.add_argument("--script", action="append", default=[], metavar="NAME=PATH",
                    help="run PATH instead of benchmarks/NAME (recorded in the report)")
    args = ap.parse_args(argv)
    for spec in args.script:
        name, _, path = spec.partition("=")
        SCRIPT_OVERRIDES[name] = Path(path).resolve()

    names = [s.name for s in SUITES]
    wanted = args.only.split(",") if args.only else names
    unknown = [n for n in wanted + [x for x in args.skip.split(",") if x] if n not in names]
    if unknown:
        ap.error(f"unknown suite(s) {unknown}; suites: {names}")
    results_dir = args.results_dir.resolve()
    results_dir.mkdir(parents=True, exist_ok=True)
    os.environ["QUIVER_BENCH_RESULTS"] = str(results_dir)  # JMH's raw output goes there too
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "py"), *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]])
    env.setdefault("PYTHONUNBUFFERED", "1")

    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    t0 = time.monotonic()
    statuses = [run_suite(s, args.quick, results_dir, env)
                for s in SUITES if s.name in wanted and s.name not in args.skip.split(",")]
    total = round(time.monotonic() - t0, 1)
    summary = {"quick": args.quick, "started": started, "seconds": total,
               "cpus": os.cpu_count(), "command": "make bench-quick" if args.quick else "make bench",
               "suites": statuses}
    (results_dir / "run_all.json").write_text(json.dumps(summary, indent=2))
    print(f"\nall suites in {total:.0f}s:")
    for s in statuses:
        print(f"  {s['suite']:<15} {s['status']:<8} {s.get('seconds', '')!s:>7}s "
              f"{s.get('reason', '') or '; '.join(s.get('problems', []))}")
    if not args.no_report:
        # The report always reads the same directory the suites wrote to.
        subprocess.run([sys.executable, str(HERE / "report.py"), "--results", str(results_dir),
                        *([] if results_dir == (HERE / "results").resolve() else
                          ["--out", str(results_dir / "benchmarks.md"),
                           "--img", str(results_dir / "img")])], check=True)
    failed = [s for s in statuses if s["status"] == "failed"]
    skipped = [s for s in statuses if s["status"] == "skipped"]
    return 1 if failed or (args.strict and skipped) else 0


if __name__ == "__main__":
    sys.exit(main())
