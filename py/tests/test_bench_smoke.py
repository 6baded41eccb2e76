"""CI smoke check of the benchmarks: every suite of ``benchmarks/run_all.py`` still runs in its
reduced (``--quick``) form and writes a result file in the harness schema, and the report is
generated from them with its charts. No speed is asserted (shared CI machines are noisy).

It runs the same command as ``make bench-quick`` (about 1.5-3 minutes on 2 cores) but into a
temporary directory, so the committed ``benchmarks/results`` and ``docs/benchmarks.md`` stay as
the last full run left them. Set ``QUIVER_SKIP_BENCH_SMOKE=1`` to leave it out of a local loop.

The fast tests below it check the harness and report logic on synthetic data.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))

import harness  # noqa: E402
import report  # noqa: E402
import run_all  # noqa: E402

SUITES = [s.name for s in run_all.SUITES]

smoke = pytest.mark.skipif(os.environ.get("QUIVER_SKIP_BENCH_SMOKE") == "1",
                           reason="QUIVER_SKIP_BENCH_SMOKE=1")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "py"), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, str(BENCH / "run_all.py"), "--quick",
                           "--results-dir", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    summary_path = out / "run_all.json"
    assert summary_path.exists(), f"run_all wrote no summary:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    summary = json.loads(summary_path.read_text())
    return out, proc, {s["suite"]: s for s in summary["suites"]}


@smoke
@pytest.mark.parametrize("suite", SUITES)
def test_suite_runs_and_writes_its_json(quick_run, suite):
    out, proc, statuses = quick_run
    st = statuses[suite]
    if st["status"] == "skipped":
        pytest.skip(f"{suite}: {st['reason']}")
    log = Path(st["log"]).read_text()[-4000:] if st.get("log") else proc.stdout[-4000:]
    assert st["status"] == "ok", f"{suite}: {st.get('problems')}\n--- log tail ---\n{log}"
    for name in st["produces"]:
        path = out / f"{name}.json"
        assert run_all.validate_result(path) == []
        res = json.loads(path.read_text())
        assert all(t["runs"] for c in res["cases"] for t in c["results"].values())


@smoke
def test_report_is_generated_with_charts(quick_run):
    out, proc, statuses = quick_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    md = (out / "benchmarks.md").read_text()
    assert "## Run conditions" in md
    ran = [s for s in statuses.values() if s["status"] == "ok"]
    assert ran, "no benchmark ran"
    for s in ran:
        for name in s["produces"]:
            res = json.loads((out / f"{name}.json").read_text())
            assert f"## {res['title']}" in md
    images = [line.rsplit("](", 1)[1][:-1] for line in md.splitlines()
              if line.startswith("![") and line.endswith(".png)")]
    assert images
    for rel in images:
        png = out / rel
        assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", rel


# ---- fast checks of the harness and report logic ---------------------------------------------

def test_measure_alternates_systems_and_checks_warmup_results():
    order: list[str] = []
    checked: list[tuple[str, int]] = []

    def sys_(name, value):
        def run():
            order.append(name)
            return value
        return run

    t = harness.measure({"a": sys_("a", 1), "b": sys_("b", 2), "c": sys_("c", 3)}, repeat=3,
                        warmup=1, check=lambda n, out: checked.append((n, out)))
    assert checked == [("a", 1), ("b", 2), ("c", 3)]
    rounds = [order[i:i + 3] for i in range(3, 12, 3)]
    assert [r[0] for r in rounds] == ["a", "b", "c"]  # a different system starts each round
    assert all(sorted(r) == ["a", "b", "c"] for r in rounds)
    assert all(len(v.runs) == 3 for v in t.values())


def _fake_compiler(monkeypatch, busy_reads: int | None):
    """The JIT compiler's CPU seconds as warm_up reads them: growing by one second a read for
    the first ``busy_reads`` reads (for ever when None), then still."""
    reads = {"n": 0}

    def cpu():
        reads["n"] += 1
        return float(reads["n"] if busy_reads is None else min(reads["n"], busy_reads))

    monkeypatch.setattr(harness, "jit_compiler_cpu_seconds", cpu)


def test_warm_up_runs_past_its_minimum_while_the_compiler_works(monkeypatch):
    calls: list[str] = []
    _fake_compiler(monkeypatch, busy_reads=30)
    w = harness.warm_up([lambda: calls.append("a"), lambda: calls.append("b")], min_rounds=5,
                        budget_s=60, window_s=0.0)
    assert w.quiet
    # Busy until the 30th read (the first is before round 1), quiet for the 3 rounds after.
    assert w.rounds == 32
    assert calls == ["a", "b"] * 32
    assert w.compiler_seconds == 29.0


def test_warm_up_stops_at_its_minimum_or_its_budget(monkeypatch):
    monkeypatch.setattr(harness, "jit_compiler_cpu_seconds", lambda: None)
    w = harness.warm_up([lambda: None], min_rounds=7, budget_s=60)
    assert (w.rounds, w.quiet, w.compiler_seconds) == (7, False, None)
    _fake_compiler(monkeypatch, busy_reads=None)
    w = harness.warm_up([lambda: None], min_rounds=4, budget_s=0.0, window_s=0.0)
    assert (w.rounds, w.quiet) == (4, False)


def test_measure_rejects_a_wrong_answer_before_timing():
    def check(name, out):
        if out != 42:
            raise AssertionError(name)

    with pytest.raises(AssertionError, match="wrong"):
        harness.measure({"right": lambda: 42, "wrong": lambda: 41}, repeat=1, check=check)


def test_write_result_and_validation(tmp_path, monkeypatch):
    monkeypatch.setattr(harness, "RESULTS", tmp_path)
    t = harness.Timing([0.3, 0.1, 0.2])
    path = harness.write_result("demo", "Demo", [{"case": "c", "params": {},
                                                  "results": {"quiver": t.to_json()}}])
    assert run_all.validate_result(path) == []
    res = json.loads(path.read_text())
    assert res["cases"][0]["results"]["quiver"]["median"] == 0.2
    assert res["system"]["cpus"] == os.cpu_count()
    res["cases"][0]["results"]["quiver"]["median"] = 5.0
    del res["system"]["versions"]
    path.write_text(json.dumps(res))
    problems = run_all.validate_result(path)
    assert any("median outside" in p for p in problems)
    assert any("versions" in p for p in problems)


def test_memory_probe_sees_an_allocation():
    m = harness.memory_probe(lambda: bytearray(200 * 1024 * 1024))
    if not harness.reset_peak_rss():
        pytest.skip("kernel does not allow resetting the peak RSS")
    assert m["peak_rss_delta_bytes"] >= 150 * 1024 * 1024


def _res(name, unit, cases):
    return {"benchmark": name, "title": name, "unit": unit, "baseline": "quiver",
            "command": "x", "system": {}, "cases": cases}


def _case(case, params, **medians):
    return {"case": case, "params": params,
            "results": {k: {"runs": [v], "median": v, "min": v, "max": v}
                        for k, v in medians.items()}}


def test_targets_read_ratios_the_right_way_round():
    results = {
        "handoff": _res("handoff", "s", [
            _case("a", {"rows": 10**6, "series": "Python -> Java"}, quiver=40e-6, pickle=1.0),
            _case("b", {"rows": 10**8, "series": "Python -> Java"}, quiver=90e-6, pickle=90.0)]),
        "flight": _res("flight", "MB/s", [
            _case("g", {"op": "doget", "batch_rows": 131072}, quiver=1300.0, pyarrow_cpp=1000.0)]),
        "tpch": _res("tpch", "s", [_case("Q1", {}, quiver=2.0, quiver_1t=3.0, duckdb=1.0)]),
    }
    rows = {r["target"]: r for r in report.targets(results)}
    assert rows["handoff Python -> Java ≤ 100 µs at the largest size"]["status"] == report.MET
    flat = rows["handoff Python -> Java flat: largest ≤ 1.5x smallest"]
    assert flat["status"] == report.MISS and flat["measured"].startswith("2.25x")
    assert rows["Flight doget ≥ 1.2x PyArrow C++ server"]["measured"].startswith("1.30x")
    assert rows["TPC-H Q1 ≤ 1.0x DuckDB time"]["status"] == report.MISS
    assert rows["TPC-H Q1 2 threads ≥ 1.8x faster than 1"]["measured"] == "1.50x"


def test_measure_per_system_counts_spread_the_fewer_runs():
    log: list[str] = []
    t = harness.measure({"fast": lambda: log.append("f"), "slow": lambda: log.append("s")},
                        repeat={"fast": 6, "slow": 2}, warmup=0)
    assert len(t["fast"].runs) == 6 and len(t["slow"].runs) == 2
    assert log.index("s") < 2 and log.count("s") == 2
    assert "".join(log).rindex("s") > 2  # the second slow run is not bunched with the first


def test_report_draws_every_chart_kind(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    mem = {"quiver": {"peak_rss_delta_bytes": 1e6, "java_peak_bytes": 3e6,
                      "java_dataset_bytes": 2e6},
           "peer": {"peak_rss_delta_bytes": 5e6}}
    files = {
        "handoff": _res("handoff", "s", [
            _case(f"{d} {r}", {"rows": r, "series": d}, quiver=5e-5, peer=r * 1e-9)
            for d in ("Python -> Java", "Java -> Python") for r in (10**6, 10**7)]),
        "flight": _res("flight", "MB/s", [
            {**_case(f"{op} {b}", {"op": op, "batch_rows": b}, quiver=900.0, peer=1000.0),
             "memory": mem} for op in ("doget", "doput") for b in (16384, 131072)]),
        "jmh": _res("jmh", "ns/op", [_case("K.sum", {}, quiver=1.5)]),
    }
    for name, res in files.items():
        res["system"] = {"cpus": 2, "memory_bytes": 1 << 30, "versions": {}}
        (results / f"{name}.json").write_text(json.dumps(res))
    out = tmp_path / "docs" / "benchmarks.md"
    subprocess.run([sys.executable, str(BENCH / "report.py"), "--results", str(results),
                    "--out", str(out), "--img", str(tmp_path / "docs" / "img")], check=True)
    md = out.read_text()
    for png in ("handoff_rows.png", "handoff_ratios.png", "flight_batch.png", "flight_ratios.png",
                "flight_memory.png", "jmh.png"):
        assert f"(img/{png})" in md
        assert (tmp_path / "docs" / "img" / png).stat().st_size > 1000
    assert "quiver loses to: peer" in md
