"""Shared timing and reporting for Quiver's Python benchmarks.

Every benchmark compares systems on the same in-memory data in one process run, alternating
between systems round by round (so drift on a noisy shared machine hits all of them alike),
after a warm-up, and records every run. Results go to ``benchmarks/results/<name>.json`` in one
schema that ``benchmarks/report.py`` turns into ``docs/benchmarks.md`` and charts.

>>> from harness import measure
>>> timings = measure({"a": lambda: sum(range(1000)), "b": lambda: 1}, repeat=3)
>>> sorted(timings)
['a', 'b']
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

RESULTS = Path(os.environ.get("QUIVER_BENCH_RESULTS")
               or Path(__file__).resolve().parent / "results")
"""Where result files go; ``QUIVER_BENCH_RESULTS`` redirects them (the CI smoke test does)."""


@dataclass
class Timing:
    """Wall-clock seconds of each measured run of one system on one case."""

    runs: list[float]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "median": self.median,
            "min": min(self.runs),
            "max": max(self.runs),
            **({"extra": self.extra} if self.extra else {}),
        }


def jit_compiler_cpu_seconds() -> float | None:
    """CPU seconds that this process's JIT compiler threads (HotSpot's ``C1 CompilerThread`` and
    ``C2 CompilerThread``) have used so far, read from ``/proc``; None where that cannot be read
    (not Linux, or no JVM in this process)."""
    tasks = Path("/proc/self/task")
    if not tasks.is_dir():
        return None
    ticks, found = 0, False
    for task in tasks.iterdir():
        try:
            if not (task / "comm").read_text().startswith(("C1 CompilerThre", "C2 CompilerThre")):
                continue
            # Fields after the parenthesised name: state is the first, utime the 12th, stime the 13th.
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended between listing and reading
        found = True
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK") if found else None


@dataclass
class WarmUp:
    """What :func:`warm_up` did: rounds run, seconds taken, the JIT compiler's CPU seconds in
    that time (None when unknown), and whether the compiler had gone quiet by the end."""

    rounds: int
    seconds: float
    compiler_seconds: float | None
    quiet: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def warm_up(fns: Sequence[Callable[[], Any]], min_rounds: int = 15, budget_s: float = 60.0,
            window_s: float = 2.0, quiet_share: float = 0.03) -> WarmUp:
    """Runs every callable once per round until the JVM's JIT compiler has gone quiet.

    At least ``min_rounds`` rounds; then rounds continue until, over the last ``window_s``
    seconds (and at least 3 rounds), the compiler threads used at most ``quiet_share`` of the
    wall time, or until ``budget_s`` seconds have passed. A fixed number of runs is not enough:
    a method called once per batch reaches the optimizing compiler only after thousands of
    calls, and compiling it can take a core for a third of a second. Timed runs that overlap it
    measure the compiler, and on two cores they take a core from two-thread runs only.
    Without a readable compiler (not Linux) it stops after ``min_rounds``.
    """
    start = time.perf_counter()
    first_cpu = jit_compiler_cpu_seconds()
    history: list[tuple[float, float]] = []
    rounds, quiet = 0, False
    while True:
        for fn in fns:
            out = fn()
            del out
        rounds += 1
        now, cpu = time.perf_counter(), jit_compiler_cpu_seconds()
        if cpu is None:
            if rounds >= min_rounds:
                break
            continue
        history.append((now, cpu))
        if rounds >= min_rounds:
            older = [h for h in history[:-3] if h[0] <= now - window_s]
            if older:
                t0, c0 = older[-1]
                if cpu - c0 <= quiet_share * (now - t0):
                    quiet = True
                    break
            if now - start >= budget_s:
                break
    last_cpu = jit_compiler_cpu_seconds()
    return WarmUp(rounds, time.perf_counter() - start,
                  None if first_cpu is None or last_cpu is None else last_cpu - first_cpu, quiet)


def measure(
    systems: Mapping[str, Callable[[], Any]],
    repeat: int | Mapping[str, int] = 5,
    warmup: int = 1,
    check: Callable[[str, Any], None] | None = None,
) -> dict[str, Timing]:
    """Times each callable ``repeat`` times, interleaving systems round by round.

    The order rotates every round so no system always runs first (cache, turbo and GC effects).
    ``repeat`` may map systems to their own counts (a constant-time path can afford hundreds of
    runs where a copying one gets five): rounds continue while any system still needs runs, and
    a system that has its count sits the remaining rounds out, so every system's runs are still
    spread over the same stretch of time as far as its count allows.
    ``check(name, result)`` runs on each warm-up result, outside the timed region, so a fast
    wrong answer cannot win.
    """
    names = list(systems)
    counts = {n: (repeat[n] if isinstance(repeat, Mapping) else repeat) for n in names}
    for _ in range(warmup):
        for name in names:
            out = systems[name]()
            if check is not None:
                check(name, out)
            del out
    runs: dict[str, list[float]] = {n: [] for n in names}
    most = max(counts.values(), default=0)
    for r in range(most):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            # Spread a system's fewer runs evenly over the rounds instead of bunching them first.
            if len(runs[name]) >= counts[name] or (r * counts[name]) // most < len(runs[name]):
                continue
            t0 = time.perf_counter()
            out = systems[name]()
            runs[name].append(time.perf_counter() - t0)
            del out
    return {n: Timing(runs[n]) for n in names}


def _java_version() -> str:
    try:
        out = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30)
        return out.stderr.splitlines()[0] if out.stderr else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _mem_total_bytes() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def system_info() -> dict[str, Any]:
    """Machine and library versions, recorded with every result file."""
    versions: dict[str, str] = {"python": platform.python_version(), "java": _java_version()}
    for mod in ("pyarrow", "numpy", "pandas", "polars", "duckdb", "jpype"):
        try:
            m = __import__(mod)
            versions[mod] = getattr(m, "__version__", "unknown")
        except ImportError:
            pass
    return {
        "machine": platform.machine(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_bytes": _mem_total_bytes(),
        "versions": versions,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def peak_rss_bytes() -> int:
    """This process's peak resident set size so far."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _proc_status(pid: int | str = "self") -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    return out


def rss_bytes(pid: int | str = "self") -> int:
    """Current resident set size of a process (this one by default), 0 where unknown."""
    return _proc_status(pid).get("VmRSS", 0)


def reset_peak_rss(pid: int | str = "self") -> bool:
    """Resets a process's peak RSS (``VmHWM``) to its current RSS (Linux >= 4.0,
    ``/proc/<pid>/clear_refs``); False where the kernel does not allow it."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_since_reset(pid: int | str = "self") -> int:
    """``VmHWM``: the highest RSS since the last :func:`reset_peak_rss` (or process start)."""
    st = _proc_status(pid)
    return st.get("VmHWM", st.get("VmRSS", 0))


def run_with_memory(fn: Callable[[], Any], pid: int | str = "self") -> tuple[Any, dict[str, int]]:
    """Runs ``fn`` once; returns its result and how far the RSS of ``pid`` rose above its level
    before: ``{"rss_before_bytes", "peak_rss_bytes", "peak_rss_delta_bytes",
    "rss_retained_bytes"}`` (retained: still resident while the result is alive, e.g. the copy
    a conversion made; a zero-copy import shows ~0 here)."""
    import gc

    gc.collect()
    reset_peak_rss(pid)
    before = rss_bytes(pid)
    out = fn()
    peak = peak_rss_since_reset(pid)
    after = rss_bytes(pid)
    return out, {"rss_before_bytes": before, "peak_rss_bytes": peak,
                 "peak_rss_delta_bytes": max(0, peak - before),
                 "rss_retained_bytes": max(0, after - before)}


def memory_probe(fn: Callable[[], Any], pid: int | str = "self") -> dict[str, int]:
    """Runs ``fn`` once and reports how far the RSS of ``pid`` rose above its level before
    (see :func:`run_with_memory`): the extra resident memory the run needed at its worst moment.
    Memory a zero-copy path does not spend shows up here. Run it outside the timed rounds, one
    system at a time. Allocators that keep freed memory (the JVM heap, DuckDB's buffer pool,
    jemalloc/mimalloc arenas) reuse what earlier runs left, so this is a lower bound for them.
    """
    import gc

    out, m = run_with_memory(fn, pid)
    del out
    gc.collect()
    return m


def load_average() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:
        return None


def write_result(
    name: str,
    title: str,
    cases: list[dict[str, Any]],
    unit: str = "s",
    baseline: str = "quiver",
    notes: str = "",
    command: str | None = None,
    **extra: Any,
) -> Path:
    """Writes ``results/<name>.json``.

    Each case is ``{"case": str, "params": {...}, "results": {system: Timing.to_json()}}``;
    ratios in the report are ``peer median / baseline median`` (> 1 means Quiver is faster for
    times, and the inverse is used for throughput units ending in ``/s``).

    Optional per case: ``"memory": {system: {"peak_rss_delta_bytes": ..., "java_peak_bytes":
    ...}}``. ``extra`` keys (e.g. ``quick=True``, ``load_average``) are stored at top level.
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "title": title,
        "command": command or _default_command(),
        "unit": unit,
        "baseline": baseline,
        "system": system_info(),
        "cases": cases,
        "notes": notes,
        "load_average": {"end": load_average()},
        **extra,
    }
    out = RESULTS / f"{name}.json"
    out.write_text(json.dumps(payload, indent=2, default=_jsonable))
    return out


def _default_command() -> str:
    """How this script was run, with paths relative to the repository so figures say the same
    command on every checkout."""
    root = Path(__file__).resolve().parent.parent
    args = []
    for a in sys.argv:
        try:
            args.append(str(Path(a).resolve().relative_to(root)) if Path(a).exists() else a)
        except ValueError:
            args.append(a)
    return " ".join(["PYTHONPATH=py .venv/bin/python", *args])


def _jsonable(o: Any) -> Any:
    if isinstance(o, Timing):
        return o.to_json()
    if hasattr(o, "__dataclass_fields__"):
        return asdict(o)
    return str(o)


def ratio_line(case: str, timings: Mapping[str, Timing], baseline: str = "quiver") -> str:
    """One printable line: every system's median and its ratio against the baseline."""
    base = timings[baseline].median
    parts = [f"{case:<28}"]
    for name, t in timings.items():
        parts.append(f"{name}={t.median * 1e3:9.2f} ms ({t.median / base:5.2f}x)")
    return "  ".join(parts)
