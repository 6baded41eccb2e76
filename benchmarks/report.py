"""Turns ``benchmarks/results/*.json`` into ``docs/benchmarks.md`` and ``docs/img/*.png``.

Run after the benchmarks (``make bench`` does): ``python benchmarks/report.py``.

The page opens with the run conditions (from ``run_all.json``: mode, duration, load average
around every suite) and a table of every published target with its measured ratio, then has one
section per result file: a table of medians (min–max spread) and ratios against the baseline
system, memory figures where the benchmark recorded them, the command and versions, and charts:

* bars of ratios against each peer (log scale; above 1 Quiver wins);
* a log-log line chart of time against rows when the cases vary ``rows`` (handoff), one panel
  per series (direction);
* throughput against batch size when the cases vary ``batch_rows`` (Flight), one panel per
  operation;
* bars of peak RSS rise and Java allocator high-water mark per system when memory was probed.

A hand-written reading of the figures (``benchmarks/reading.md``, optional) is included after
the targets: the generator cannot say *why* Quiver loses where it does.
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs"
IMG = DOCS / "img"
READING = ROOT / "benchmarks" / "reading.md"

ORDER = ["tpch", "kernels", "operators", "operators_views", "handoff", "flight", "flight_throughput", "java_functions", "jmh"]
SKIP = {"run_all", "jmh-raw"}
# Marks a table cell as a target miss in the markdown.
MISS = "✗"
MET = "✓"


# ---- formatting ---------------------------------------------------------------------------------

def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        if value < 1e-3:
            return f"{value * 1e6:.1f} µs"
        if value < 1:
            return f"{value * 1e3:.2f} ms"
        return f"{value:.3f} s"
    return f"{value:,.1f} {unit}"


def _mb(b: float | None) -> str:
    return "—" if b is None else f"{b / 1e6:,.0f} MB"


def _x(r: float) -> str:
    """A ratio for a table: 2 decimals when small, thousands separators when large."""
    if r != r:
        return "—"
    return f"{r:,.0f}x" if r >= 100 else f"{r:.1f}x" if r >= 10 else f"{r:.2f}x"


def _higher_is_better(unit: str) -> bool:
    return unit.endswith("/s") or unit in ("ops/s", "ops/ms", "ops/us", "ops/ns")


def _ratio(peer: float, base: float, unit: str) -> float:
    """How many times better the baseline is than the peer (>1: baseline wins)."""
    if not base or not peer:
        return float("nan")
    return base / peer if _higher_is_better(unit) else peer / base


def _systems(res: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for c in res["cases"]:
        for s in c["results"]:
            if s not in out:
                out.append(s)
    return out


def _median(res: dict[str, Any], case_pred, system: str) -> float | None:
    for c in res["cases"]:
        if case_pred(c) and system in c["results"]:
            return c["results"][system]["median"]
    return None


# ---- charts --------------------------------------------------------------------------------------

def _quartiles(t: dict[str, Any]) -> tuple[float, float]:
    """25th and 75th percentiles of a system's runs (charts use them: with hundreds of runs on a
    shared machine the min–max whiskers show the scheduler, not the system)."""
    import statistics

    runs = t.get("runs") or [t["median"]]
    if len(runs) < 4:
        return t["min"], t["max"]
    q = statistics.quantiles(runs, n=4)
    return q[0], q[2]


def _plt():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        return plt
    except ImportError:
        return None


def _save(fig, img: Path, name: str, bottom: float = 0.0) -> str:
    img.mkdir(parents=True, exist_ok=True)
    fig.tight_layout(rect=(0, bottom, 1, 1))
    fig.savefig(img / name, dpi=100)
    return name


def _short(y: float) -> str:
    if y != y:  # nan
        return ""
    if y >= 100:
        return f"{y:,.0f}"
    return f"{y:.2g}" if y < 10 else f"{y:.0f}"


def _ratio_chart(res: dict[str, Any], img: Path) -> str | None:
    plt = _plt()
    base, unit = res["baseline"], res["unit"]
    peers = [s for s in _systems(res) if s != base]
    cases = [c for c in res["cases"] if base in c["results"]]
    if plt is None or not peers or not cases:
        return None
    fig, ax = plt.subplots(figsize=(max(7, 1.2 * len(cases) + 3), 4.6))
    width = 0.8 / len(peers)
    top = 1.0
    for i, peer in enumerate(peers):
        xs, ys = [], []
        for j, c in enumerate(cases):
            if peer in c["results"]:
                r = _ratio(c["results"][peer]["median"], c["results"][base]["median"], unit)
                xs.append(j + (i - (len(peers) - 1) / 2) * width)
                ys.append(r)
                top = max(top, r)
        bars = ax.bar(xs, ys, width=width * 0.95, label=peer)
        if len(cases) * len(peers) <= 40:
            ax.bar_label(bars, labels=[_short(y) for y in ys], fontsize=7, padding=1)
    ax.axhline(1.0, color="black", linewidth=1)
    long_labels = len(cases) > 4 or max(len(c["case"]) for c in cases) * len(cases) > 80
    ax.set_xticks(range(len(cases)))
    ax.set_xticklabels([c["case"] for c in cases], rotation=20 if long_labels else 0,
                       ha="right" if long_labels else "center", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel((f"{base} throughput ÷ peer throughput" if _higher_is_better(unit) else
                   f"peer time ÷ {base} time") + f"\n(>1: {base} faster, <1: peer faster)")
    ax.set_title(f"{res['title']}\nhow many times faster {base} is than each peer", fontsize=10)
    ax.legend(fontsize=8, ncol=min(len(peers), 4), loc="upper left")
    ax.set_ylim(top=top * 10 if top > 1.5 else 2.5)
    ax.grid(axis="y", which="both", alpha=0.25)
    name = _save(fig, img, f"{res['benchmark']}_ratios.png")
    plt.close(fig)
    return name


def _param_varies(res: dict[str, Any], param: str) -> bool:
    vals = {c.get("params", {}).get(param) for c in res["cases"]}
    return None not in vals and len(vals) > 1


def _rows_chart(res: dict[str, Any], img: Path) -> str | None:
    """Time (or value) against rows on log-log axes, one panel per series."""
    plt = _plt()
    if plt is None:
        return None
    series = list(dict.fromkeys(c.get("params", {}).get("series", "") for c in res["cases"]))
    fig, axes = plt.subplots(1, len(series), figsize=(6 * len(series), 4.6), squeeze=False)
    for ax, ser in zip(axes[0], series):
        cases = [c for c in res["cases"] if c.get("params", {}).get("series", "") == ser]
        for system in _systems(res):
            pts = sorted((c["params"]["rows"], c["results"][system]["median"],
                          *_quartiles(c["results"][system]))
                         for c in cases if system in c["results"])
            if not pts:
                continue
            xs = [p[0] for p in pts]
            ys = [p[1] for p in pts]
            err = [[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]]
            ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=system,
                        linewidth=2.5 if system == res["baseline"] else 1.2)
        if res["benchmark"] == "handoff":
            ax.axhline(100e-6, color="red", linestyle="--", linewidth=1)
            ax.text(min(c["params"]["rows"] for c in cases), 110e-6,
                    "target 100 µs", color="red", fontsize=8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("rows")
        ax.set_ylabel("median seconds (bars: 25th–75th percentile)" if res["unit"] == "s"
                      else res["unit"])
        ax.set_title(ser or res["title"], fontsize=10)
        ax.grid(which="both", alpha=0.25)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=8)
    fig.suptitle(res["title"], fontsize=11)
    name = _save(fig, img, f"{res['benchmark']}_rows.png", bottom=0.07)
    plt.close(fig)
    return name


def _batch_chart(res: dict[str, Any], img: Path) -> str | None:
    """Throughput against batch size, one panel per operation."""
    plt = _plt()
    if plt is None:
        return None
    ops = list(dict.fromkeys(c["params"].get("op", c["case"]) for c in res["cases"]))
    cols = min(2, len(ops))
    rows = math.ceil(len(ops) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 3.8 * rows), squeeze=False)
    for k, op in enumerate(ops):
        ax = axes[k // cols][k % cols]
        cases = [c for c in res["cases"] if c["params"].get("op", c["case"]) == op]
        for system in _systems(res):
            pts = sorted((c["params"]["batch_rows"], c["results"][system]["median"],
                          *_quartiles(c["results"][system]))
                         for c in cases if system in c["results"])
            ax.errorbar([p[0] for p in pts], [p[1] for p in pts],
                        yerr=[[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]],
                        marker="o", capsize=3, label=system,
                        linewidth=2.5 if system == res["baseline"] else 1.2)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("rows per batch")
        ax.set_ylabel(res["unit"])
        ax.set_ylim(bottom=0)
        ax.set_title(op, fontsize=10)
        ax.grid(alpha=0.25)
        ax.legend(fontsize=8)
    for k in range(len(ops), rows * cols):
        axes[k // cols][k % cols].axis("off")
    fig.suptitle(f"{res['title']}: throughput against batch size (median, bars 25th–75th percentile)",
                 fontsize=11)
    name = _save(fig, img, f"{res['benchmark']}_batch.png")
    plt.close(fig)
    return name


def _memory_chart(res: dict[str, Any], img: Path) -> str | None:
    plt = _plt()
    cases = [c for c in res["cases"] if c.get("memory")]
    if plt is None or not cases:
        return None
    systems = list(dict.fromkeys(s for c in cases for s in c["memory"]))
    has_java = any("java_peak_bytes" in m for c in cases for m in c["memory"].values())
    fig, axes = plt.subplots(1, 2 if has_java else 1, figsize=(13 if has_java else 8, 4.4),
                             squeeze=False)
    ax = axes[0][0]
    width = 0.8 / len(systems)
    for i, s in enumerate(systems):
        xs = [j + (i - (len(systems) - 1) / 2) * width for j, c in enumerate(cases)
              if s in c["memory"]]
        ys = [c["memory"][s]["peak_rss_delta_bytes"] / 1e6 for c in cases if s in c["memory"]]
        ax.bar(xs, ys, width=width * 0.95, label=s)
    ax.set_xticks(range(len(cases)))
    ax.set_xticklabels([c["case"] for c in cases], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("peak RSS rise during one run (MB)")
    ax.set_title("process peak RSS above its level before the run", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.25)
    if has_java:
        ax = axes[0][1]
        java = [s for s in systems if any("java_peak_bytes" in c["memory"].get(s, {})
                                          for c in cases)]
        width = 0.8 / len(java)
        for i, s in enumerate(java):
            xs = [j + (i - (len(java) - 1) / 2) * width for j, c in enumerate(cases)
                  if "java_peak_bytes" in c["memory"].get(s, {})]
            ys = [c["memory"][s]["java_peak_bytes"] / 1e6 for c in cases
                  if "java_peak_bytes" in c["memory"].get(s, {})]
            ax.bar(xs, ys, width=width * 0.95, label=f"{s} allocator high-water")
        ds = [(j, c["memory"][java[0]].get("java_dataset_bytes")) for j, c in enumerate(cases)]
        if any(v for _, v in ds):
            ax.plot([j for j, v in ds if v], [v / 1e6 for _, v in ds if v], "k_", markersize=30,
                    label="dataset held")
        ax.set_xticks(range(len(cases)))
        ax.set_xticklabels([c["case"] for c in cases], rotation=20, ha="right", fontsize=8)
        ax.set_ylabel("MB")
        ax.set_title("Java allocator high-water mark", fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(axis="y", alpha=0.25)
    fig.suptitle(f"{res['title']}: memory", fontsize=11)
    name = _save(fig, img, f"{res['benchmark']}_memory.png")
    plt.close(fig)
    return name


def _single_chart(res: dict[str, Any], img: Path) -> str | None:
    """Horizontal bars of medians when there is one system only (JMH)."""
    plt = _plt()
    if plt is None or not res["cases"]:
        return None
    cases = res["cases"]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(cases) + 1.5))
    sys0 = _systems(res)[0]
    vals = [c["results"][sys0]["median"] for c in cases]
    errs = [[v - c["results"][sys0]["min"] for v, c in zip(vals, cases)],
            [c["results"][sys0]["max"] - v for v, c in zip(vals, cases)]]
    ax.barh(range(len(cases)), vals, xerr=errs, capsize=2)
    ax.set_yticks(range(len(cases)))
    ax.set_yticklabels([c["case"] for c in cases], fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel(f"median ({res['unit']}), bars min–max")
    ax.set_title(res["title"], fontsize=10)
    name = _save(fig, img, f"{res['benchmark']}.png")
    plt.close(fig)
    return name


def charts(res: dict[str, Any], img: Path) -> list[str]:
    out: list[str | None] = []
    if len(_systems(res)) == 1:
        out.append(_single_chart(res, img))
    else:
        if _param_varies(res, "rows"):
            out.append(_rows_chart(res, img))
        if _param_varies(res, "batch_rows"):
            out.append(_batch_chart(res, img))
        out.append(_ratio_chart(res, img))
    out.append(_memory_chart(res, img))
    return [x for x in out if x]


# ---- targets -------------------------------------------------------------------------------------

def targets(results: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    """Every published target with the measured figure (empty where a benchmark is missing)."""
    rows: list[dict[str, str]] = []

    def add(target: str, measured: str, ok: bool | None, source: str) -> None:
        rows.append({"target": target, "measured": measured,
                     "status": "—" if ok is None else (MET if ok else MISS), "source": source})

    h = results.get("handoff")
    if h:
        for direction in ("Python -> Java", "Java -> Python"):
            pts = sorted((c["params"]["rows"], c["results"]["quiver"]["median"])
                         for c in h["cases"] if c["params"].get("series") == direction)
            if pts:
                (r0, t0), (r1, t1) = pts[0], pts[-1]
                add(f"handoff {direction} ≤ 100 µs at the largest size",
                    f"{_fmt(t1, 's')} at {r1:,} rows", t1 <= 100e-6, "handoff")
                add(f"handoff {direction} flat: largest ≤ 1.5x smallest",
                    f"{t1 / t0:.2f}x ({r1:,} vs {r0:,} rows)", t1 / t0 <= 1.5, "handoff")
    f = results.get("flight") or results.get("flight_throughput")
    if f:
        for op, goal in (("doget", 1.2), ("doput", 1.0), ("doexchange", 1.0)):
            cs = [c for c in f["cases"] if c["params"].get("op", c["case"]) == op
                  and "quiver" in c["results"] and "pyarrow_cpp" in c["results"]]
            if not cs:
                continue
            default = [c for c in cs if c["params"].get("batch_rows") == 131072] or cs
            c = default[0]
            r = c["results"]["quiver"]["median"] / c["results"]["pyarrow_cpp"]["median"]
            best = max(cs, key=lambda c: c["results"]["quiver"]["median"]
                       / c["results"]["pyarrow_cpp"]["median"])
            rb = best["results"]["quiver"]["median"] / best["results"]["pyarrow_cpp"]["median"]
            add(f"Flight {op} ≥ {goal}x PyArrow C++ server",
                f"{r:.2f}x at {c['params'].get('batch_rows', '?'):,}-row batches "
                f"(best {rb:.2f}x at {best['params'].get('batch_rows', '?'):,})", r >= goal,
                f["benchmark"])
    t = results.get("tpch")
    if t:
        for c in t["cases"]:
            q, d = c["results"].get("quiver"), c["results"].get("duckdb")
            if q and d:
                r = q["median"] / d["median"]
                # TPC-H's own queries are Q<n>; the suite's extra cases are named by what they do.
                what = f"TPC-H {c['case']}" if c["case"].startswith("Q") else \
                    f"{c['case'].replace('_', '-').lower()} aggregate (not TPC-H)"
                add(f"{what} ≤ 1.0x DuckDB time", f"{r:.2f}x "
                    f"({_fmt(q['median'], 's')} vs {_fmt(d['median'], 's')})", r <= 1.0, "tpch")
        q1 = next((c for c in t["cases"] if c["case"] == "Q1"), None)
        if q1 and "quiver_1t" in q1["results"]:
            s = q1["results"]["quiver_1t"]["median"] / q1["results"]["quiver"]["median"]
            add("TPC-H Q1 2 threads ≥ 1.8x faster than 1", f"{s:.2f}x", s >= 1.8, "tpch")
    for name, goals in (("kernels", (("python", 50.0), ("numpy", None))),
                        ("java_functions", (("python", 50.0), ("numpy", 1.0)))):
        k = results.get(name)
        if not k:
            continue
        for c in k["cases"]:
            for peer, goal in goals:
                if peer in c["results"] and "quiver" in c["results"]:
                    r = c["results"][peer]["median"] / c["results"]["quiver"]["median"]
                    add(f"{c['case']}: ≥ {goal:g}x {peer}" if goal else f"{c['case']}: vs {peer}",
                        f"{r:,.2f}x", None if goal is None else r >= goal, name)
    return rows


# ---- sections -------------------------------------------------------------------------------------

def _section(res: dict[str, Any], img: Path, img_rel: str) -> str:
    unit, base = res["unit"], res["baseline"]
    systems = _systems(res)
    lines = [f"## {res['title']}", ""]
    if res.get("quick"):
        lines += ["*Quick run (reduced sizes and repetitions): indicative only.*", ""]
    lines.append(f"Command: `{res['command'].strip()}`  ")
    sysinfo = res["system"]
    versions = ", ".join(f"{k} {v}" for k, v in sysinfo.get("versions", {}).items())
    mem = sysinfo.get("memory_bytes") or 0
    load = (res.get("load_average") or {}).get("end")
    lines.append(f"Machine: {sysinfo.get('cpus')} CPUs, {mem / 2**30:.0f} GiB, "
                 f"{sysinfo.get('platform')}; finished {sysinfo.get('date')}"
                 + (f", load average then {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}" if load
                    else "") + "  ")
    lines.append(f"Versions: {versions}")
    lines.append("")
    peers = [s for s in systems if s != base]
    head = ["case"] + [f"{s} median (min–max)" for s in systems] + [f"{base} vs {s}" for s in peers]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|---|" + "---:|" * (len(head) - 1))
    for c in res["cases"]:
        row = [c["case"]]
        for s in systems:
            t = c["results"].get(s)
            row.append("—" if t is None else
                       f"{_fmt(t['median'], unit)} ({_fmt(t['min'], unit)}–{_fmt(t['max'], unit)})")
        b = c["results"].get(base)
        for s in peers:
            t = c["results"].get(s)
            if t is None or b is None:
                row.append("—")
            else:
                r = _ratio(t["median"], b["median"], unit)
                row.append(f"**{_x(r)}**" if r < 1 else _x(r))
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    if peers:
        lines.append(f"Ratios: how many times faster {base} is (peer time ÷ {base} time, or "
                     f"{base} throughput ÷ peer throughput); above 1 {base} wins, **bold** below 1 "
                     f"where it loses.")
        losses = [(c["case"], s) for c in res["cases"] for s in peers
                  if s in c["results"] and base in c["results"]
                  and _ratio(c["results"][s]["median"], c["results"][base]["median"], unit) < 1]
        if losses:
            by_peer: dict[str, list[str]] = {}
            for case, s in losses:
                by_peer.setdefault(s, []).append(case)
            lines += ["", f"{base} loses to: " + "; ".join(
                f"{s} ({', '.join(cs)})" for s, cs in by_peer.items()) + "."]
    load = res.get("load_memory")
    if load:
        lines += ["", f"Memory to give each system the same {_mb(load['arrow_bytes'])} of Arrow "
                      "tables before any query (rise of this process's resident set; a zero-copy "
                      "import keeps the caller's buffers and adds ~0):", "",
                  "| system | resident after (kept) | peak during | Java allocator accounts |",
                  "|---|---:|---:|---:|"]
        for s, m in load["systems"].items():
            lines.append(f"| {s} | {_mb(m.get('rss_retained_bytes'))} | "
                         f"{_mb(m.get('peak_rss_delta_bytes'))} | "
                         f"{_mb(m.get('java_allocated_bytes'))} |")
    mem_cases = [c for c in res["cases"] if c.get("memory")]
    if mem_cases:
        msys = list(dict.fromkeys(s for c in mem_cases for s in c["memory"]))
        lines += ["", "Memory (one run per system outside the timed rounds; peak RSS rise = the "
                      "process's highest resident set during the run minus its level before; "
                      "Java high-water = the allocator's peak):", ""]
        head = ["case"] + [f"{s} peak RSS rise" for s in msys]
        java = [s for s in msys if any("java_peak_bytes" in c["memory"].get(s, {})
                                       for c in mem_cases)]
        head += [f"{s} Java high-water" for s in java]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|---|" + "---:|" * (len(head) - 1))
        for c in mem_cases:
            row = [c["case"]] + [_mb(c["memory"].get(s, {}).get("peak_rss_delta_bytes"))
                                 for s in msys]
            for s in java:
                m = c["memory"].get(s, {})
                cell = _mb(m.get("java_peak_bytes"))
                if m.get("java_dataset_bytes"):
                    cell += f" (dataset {_mb(m['java_dataset_bytes'])})"
                row.append(cell)
            lines.append("| " + " | ".join(row) + " |")
    for chart in charts(res, img):
        kind = chart.rsplit("_", 1)[-1].removesuffix(".png") if "_" in chart else "medians"
        alt = {"ratios": "ratios against each peer", "rows": "time against rows",
               "batch": "throughput against batch size", "memory": "memory"}.get(kind, kind)
        lines += ["", f"![{res['title']}: {alt}]({img_rel}/{chart})"]
    if res.get("notes"):
        lines += ["", res["notes"]]
    lines.append("")
    return "\n".join(lines)


def _conditions(results_dir: Path) -> list[str]:
    path = results_dir / "run_all.json"
    if not path.exists():
        return []
    run = json.loads(path.read_text())
    lines = ["## Run conditions", "",
             f"`{run.get('command')}` started {run.get('started')} on {run.get('cpus')} CPUs, "
             f"{'quick (reduced) mode' if run.get('quick') else 'full mode'}, "
             f"{run.get('seconds', 0) / 60:.1f} min in all. Load average (1/5/15 min) around each "
             "suite shows how busy the machine was: above 2 on this 2-core machine means other "
             "work competed with the benchmark and absolute figures are pessimistic (ratios less "
             "so, since systems alternate round by round).", "",
             "| suite | status | seconds | load before | load after | note |",
             "|---|---|---:|---|---|---|"]
    for s in run.get("suites", []):
        def la(v):
            return " / ".join(f"{x:.1f}" for x in v) if v else "—"
        note = "; ".join(([s["reason"]] if s.get("reason") else []) + s.get("problems", []))
        lines.append(f"| {s['suite']} | {s['status']} | {s.get('seconds', '—')} | "
                     f"{la(s.get('load_before'))} | {la(s.get('load_after'))} | {note} |")
    lines.append("")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--out", type=Path, default=DOCS / "benchmarks.md")
    ap.add_argument("--img", type=Path, default=IMG)
    args = ap.parse_args()
    files = sorted((p for p in args.results.glob("*.json") if p.stem not in SKIP),
                   key=lambda p: (ORDER.index(p.stem) if p.stem in ORDER else 99, p.stem))
    results = {f.stem: json.loads(f.read_text()) for f in files}
    try:
        img_rel = str(args.img.resolve().relative_to(args.out.resolve().parent))
    except ValueError:
        img_rel = str(args.img.resolve())
    for old in args.img.glob("*.png") if args.img.exists() else []:
        old.unlink()  # charts of benchmarks that no longer have results must not linger
    parts = [
        "# Benchmarks",
        "",
        "Generated by `benchmarks/report.py` from `benchmarks/results/*.json`; regenerate every "
        "figure and chart with `make bench` (about 10 minutes on 2 cores) or `make bench-quick` "
        "(reduced set, about 2 minutes). Each benchmark runs all systems on the same in-memory "
        "data in one process run, alternating systems round by round after a warm-up, and "
        "reports the median with the min–max spread: these are shared 2-core machines and "
        "single runs are noisy. Quiver's figures are the JVM's steady state: its warm-up runs "
        "until the JIT compiler threads are nearly idle (`harness.warm_up`); a fresh process's "
        "first calls are slower.",
        "",
    ]
    parts += _conditions(args.results)
    rows = targets(results)
    if rows:
        parts += ["## Targets", "",
                  "| target | measured | met | benchmark |", "|---|---|:---:|---|"]
        parts += [f"| {r['target']} | {r['measured']} | {r['status']} | {r['source']} |"
                  for r in rows]
        parts.append("")
    if READING.exists():
        parts += [READING.read_text().strip(), ""]
    for name, res in results.items():
        parts.append(_section(res, args.img, img_rel))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(parts))
    print(f"wrote {args.out} from {len(files)} result files")


if __name__ == "__main__":
    main()
