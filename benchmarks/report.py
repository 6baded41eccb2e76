"""Turns ``benchmarks/results/*.json`` into ``docs/benchmarks.md`` and ``docs/img/*.png``.

Run after the benchmarks (``make bench`` does): ``python benchmarks/report.py``.
Each result file gets a table of medians (with min-max spread) and ratios against the baseline
system, the command and versions that produced it, and a chart: a log-log line chart when the
cases vary a numeric ``rows`` or ``batch_rows`` parameter, bars of ratios otherwise.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs"
IMG = DOCS / "img"

ORDER = ["tpch", "kernels", "handoff", "flight_throughput", "java_functions", "jmh"]


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        if value < 1e-3:
            return f"{value * 1e6:.1f} µs"
        if value < 1:
            return f"{value * 1e3:.2f} ms"
        return f"{value:.3f} s"
    return f"{value:,.1f} {unit}"


def _higher_is_better(unit: str) -> bool:
    return unit.endswith("/s")


def _ratio(peer: float, base: float, unit: str) -> float:
    """How many times better the baseline is than the peer (>1: baseline wins)."""
    if base == 0 or peer == 0:
        return float("nan")
    return base / peer if _higher_is_better(unit) else peer / base


def _chart(res: dict[str, Any]) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    cases = res["cases"]
    unit = res["unit"]
    base = res["baseline"]
    IMG.mkdir(parents=True, exist_ok=True)
    out = IMG / f"{res['benchmark']}.png"
    axis_param = next(
        (p for p in ("rows", "batch_rows") if cases and all(p in c.get("params", {}) for c in cases)),
        None,
    )
    fig, ax = plt.subplots(figsize=(8, 4.5))
    if axis_param:
        groups: dict[str, dict[str, list[tuple[float, float]]]] = {}
        for c in cases:
            label = c.get("params", {}).get("series", "")
            for system, t in c["results"].items():
                key = f"{system} {label}".strip()
                groups.setdefault(key, {}).setdefault("pts", []).append(
                    (c["params"][axis_param], t["median"]))
        for key, g in sorted(groups.items()):
            pts = sorted(g["pts"])
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=key)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(axis_param)
        ax.set_ylabel(f"median ({unit})")
    else:
        peers = sorted({s for c in cases for s in c["results"] if s != base})
        width = 0.8 / max(1, len(peers))
        for i, peer in enumerate(peers):
            xs, ys = [], []
            for j, c in enumerate(cases):
                if peer in c["results"] and base in c["results"]:
                    xs.append(j + i * width)
                    ys.append(_ratio(c["results"][peer]["median"], c["results"][base]["median"], unit))
            ax.bar(xs, ys, width=width, label=peer)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_xticks([j + width * (len(peers) - 1) / 2 for j in range(len(cases))])
        ax.set_xticklabels([c["case"] for c in cases], rotation=20, ha="right")
        ax.set_ylabel(f"how many times {base} is better (>1: {base} wins)")
        ax.set_yscale("log")
    ax.set_title(res["title"])
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return f"img/{out.name}"


def _section(res: dict[str, Any]) -> str:
    unit = res["unit"]
    base = res["baseline"]
    systems: list[str] = []
    for c in res["cases"]:
        for s in c["results"]:
            if s not in systems:
                systems.append(s)
    lines = [f"## {res['title']}", ""]
    lines.append(f"Command: `{res['command']}`  ")
    sysinfo = res["system"]
    versions = ", ".join(f"{k} {v}" for k, v in sysinfo.get("versions", {}).items())
    mem = sysinfo.get("memory_bytes") or 0
    lines.append(f"Machine: {sysinfo.get('cpus')} CPUs, {mem / 2**30:.0f} GiB, {sysinfo.get('platform')}; "
                 f"run {sysinfo.get('date')}  ")
    lines.append(f"Versions: {versions}")
    lines.append("")
    head = ["case"] + [f"{s} median (min–max)" for s in systems] + [
        f"{s} vs {base}" for s in systems if s != base]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for c in res["cases"]:
        row = [c["case"]]
        for s in systems:
            t = c["results"].get(s)
            row.append("—" if t is None else
                       f"{_fmt(t['median'], unit)} ({_fmt(t['min'], unit)}–{_fmt(t['max'], unit)})")
        b = c["results"].get(base)
        for s in systems:
            if s == base:
                continue
            t = c["results"].get(s)
            row.append("—" if t is None or b is None else f"{_ratio(t['median'], b['median'], unit):.2f}x")
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append(f"Ratios read \"{base} is N times better\" (peer time / {base} time, or "
                 f"{base} throughput / peer throughput): above 1 {base} wins, below 1 it loses.")
    chart = _chart(res)
    if chart:
        lines += ["", f"![{res['title']}]({chart})"]
    if res.get("notes"):
        lines += ["", res["notes"]]
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=DOCS / "benchmarks.md")
    args = ap.parse_args()
    files = sorted(RESULTS.glob("*.json"),
                   key=lambda p: (ORDER.index(p.stem) if p.stem in ORDER else 99, p.stem))
    parts = [
        "# Benchmarks",
        "",
        "Generated by `benchmarks/report.py` from `benchmarks/results/*.json`; regenerate every "
        "figure with `make bench` (or `make bench-quick` for the reduced set). Each benchmark "
        "runs all systems on the same in-memory data in one process, alternating systems round "
        "by round after a warm-up, and reports the median with the min–max spread: these are "
        "shared 2-core machines and single runs are noisy.",
        "",
    ]
    for f in files:
        parts.append(_section(json.loads(f.read_text())))
    args.out.write_text("\n".join(parts))
    print(f"wrote {args.out} from {len(files)} result files")


if __name__ == "__main__":
    main()
