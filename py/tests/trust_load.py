"""Bounded load test of the Flight server: N concurrent clients mixing DoGet, DoPut,
DoExchange, GetFlightInfo and actions for a fixed duration, loopback only; it stops by itself.

Reports requests served, errors (target 0), p50/p99 latency per kind, and the server's RSS and
allocator figures at start and at the end (target: allocator back at its idle figure).

    PYTHONPATH=py:py/tests .venv/bin/python py/tests/trust_load.py --duration 20
    PYTHONPATH=py:py/tests .venv/bin/python py/tests/trust_load.py --duration 600 --write-docs

``test_trust_load.py`` runs a short version in CI (``QUIVER_LOAD_SECONDS``, default 15);
``make soak`` runs the 10-minute one and regenerates ``docs/reliability.md``.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.flight as flight

from flight_server import REPO, ServerProcess, action_json, idle_bytes, wait_idle
from trust_paths import IDENTITY_PLAN

DOC = REPO / "docs" / "reliability.md"
KINDS = ("DoGet", "DoPut", "DoExchange", "GetFlightInfo", "Action")


def _table(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({
        "id": np.arange(rows, dtype=np.int64),
        "v": rng.random(rows),
        "s": pa.array([f"s{i % 97}" for i in range(rows)]),
    })


@dataclass
class ClientStats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: list[str] = field(default_factory=list)


def _server_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def _client_loop(location: str, idx: int, deadline: float, resident: dict[str, pa.Table],
                 out: ClientStats) -> None:
    rng = random.Random(idx)
    c = flight.connect(location)
    mine = f"load_client_{idx}"
    small = _table(5_000 + 1_000 * (idx % 5), idx)
    names = list(resident)
    try:
        while time.monotonic() < deadline:
            kind = rng.choices(KINDS, weights=(4, 2, 2, 1, 1))[0]
            t0 = time.perf_counter()
            try:
                if kind == "DoGet":
                    name = rng.choice(names)
                    got = c.do_get(flight.Ticket(name.encode())).read_all()
                    if got.num_rows != resident[name].num_rows:
                        raise AssertionError(f"{name}: {got.num_rows} rows")
                elif kind == "DoPut":
                    w, r = c.do_put(flight.FlightDescriptor.for_path(mine), small.schema)
                    w.write_table(small, max_chunksize=2_000)
                    w.done_writing()
                    r.read()
                    w.close()
                elif kind == "DoExchange":
                    w, r = c.do_exchange(flight.FlightDescriptor.for_command(IDENTITY_PLAN))
                    w.begin(small.schema)
                    w.write_table(small, max_chunksize=2_000)
                    w.done_writing()
                    back = r.read_all()
                    w.close()
                    if not back.equals(small):
                        raise AssertionError("exchange changed the data")
                elif kind == "GetFlightInfo":
                    info = c.get_flight_info(flight.FlightDescriptor.for_path(rng.choice(names)))
                    if info.total_records <= 0:
                        raise AssertionError("empty flight info")
                else:
                    action = rng.choice(["stats", "health", "list"])
                    if action == "list":
                        list(c.list_flights())
                    else:
                        list(c.do_action(flight.Action(action, b"")))
            except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
                out.errors.append(f"{kind}: {type(exc).__name__}: {exc}"[:300])
                continue
            out.latencies[kind].append(time.perf_counter() - t0)
    finally:
        c.close()


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q) * 1000) if values else float("nan")


def run_load(duration: float, clients: int = 32, server: ServerProcess | None = None) -> dict:
    """Runs the load against ``server`` (or a fresh one) and returns the figures."""
    own = server is None
    srv = server or ServerProcess.start("--memory-limit", "2g")
    try:
        c = srv.client()
        resident = {"load_small": _table(10_000, 1), "load_medium": _table(200_000, 2)}
        for name, t in resident.items():
            w, r = c.do_put(flight.FlightDescriptor.for_path(name), t.schema)
            w.write_table(t, max_chunksize=50_000)
            w.done_writing()
            r.read()
            w.close()
        idle = idle_bytes(c)
        rss_start = _server_rss_kib(srv.proc.pid)
        stats = [ClientStats() for _ in range(clients)]
        deadline = time.monotonic() + duration
        threads = [threading.Thread(target=_client_loop,
                                    args=(srv.location, i, deadline, resident, stats[i]))
                   for i in range(clients)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(duration + 120)
        elapsed = time.monotonic() - t0
        rss_peak_end = _server_rss_kib(srv.proc.pid)
        for i in range(clients):
            list(c.do_action(flight.Action("drop", f"load_client_{i}".encode())))
        end_stats = wait_idle(c, idle, timeout=30)
        alive = srv.alive() and action_json(c, "health")["status"] == "serving"
        c.close()
    finally:
        if own:
            srv.stop()
    lat = {k: [x for s in stats for x in s.latencies[k]] for k in KINDS}
    all_lat = [x for v in lat.values() for x in v]
    errors = [e for s in stats for e in s.errors]
    return {
        "duration_s": round(elapsed, 1), "clients": clients,
        "requests": len(all_lat), "errors": len(errors), "error_samples": errors[:5],
        "per_kind": {k: {"requests": len(v), "p50_ms": _pct(v, 50), "p99_ms": _pct(v, 99)}
                     for k, v in lat.items()},
        "p50_ms": _pct(all_lat, 50), "p99_ms": _pct(all_lat, 99),
        "allocator_idle_start": idle, "allocator_idle_end": end_stats["allocated_bytes"],
        "rss_start_kib": rss_start, "rss_end_kib": rss_peak_end,
        "server_alive": alive, "hung_threads": sum(t.is_alive() for t in threads),
    }


def render(result: dict, command: str) -> str:
    r = result
    lines = [
        "# Reliability: load and soak figures",
        "",
        f"<!-- GENERATED by `{command}`; do not edit. -->",
        "",
        f"{r['clients']} concurrent Flight clients (threads, one connection each) on loopback "
        "mix DoGet (10k and 200k-row datasets), DoPut (5-9k rows, replacing their own "
        "dataset), DoExchange (identity plan), GetFlightInfo and actions (stats, health, "
        f"list) for {r['duration_s']} s against one server (`--memory-limit 2g`, JVM -Xmx512m). "
        f"Machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        "shared with other work.",
        "",
        "| figure | value |", "|---|---|",
        f"| requests served | {r['requests']} ({r['requests'] / r['duration_s']:.0f}/s) |",
        f"| errors | {r['errors']} |",
        f"| latency p50 / p99, all requests | {r['p50_ms']:.1f} ms / {r['p99_ms']:.1f} ms |",
        f"| server allocator, idle at start / idle at end | {r['allocator_idle_start']} B / "
        f"{r['allocator_idle_end']} B |",
        f"| server RSS at start / at end of the load | {r['rss_start_kib'] / 1024:.0f} MiB / "
        f"{r['rss_end_kib'] / 1024:.0f} MiB |",
        f"| server still serving afterwards | {'yes' if r['server_alive'] else 'NO'} |",
        "",
        "| request kind | requests | p50 | p99 |", "|---|---|---|---|",
    ]
    for k, v in r["per_kind"].items():
        lines.append(f"| {k} | {v['requests']} | {v['p50_ms']:.1f} ms | {v['p99_ms']:.1f} ms |")
    lines += ["", "The allocator figure is the server's `stats` action with no stream running "
              "and only the two resident datasets stored (each client's own dataset is dropped "
              "first): equal start and end figures mean nothing leaked. RSS is the JVM's "
              "resident set (heap and off-heap); the JVM does not return heap to the OS, so "
              "RSS growth up to the heap size is expected and is not a leak.", ""]
    if r["error_samples"]:
        lines += ["Error samples:", ""] + [f"- `{e}`" for e in r["error_samples"]] + [""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--write-docs", action="store_true", help=f"write {DOC}")
    args = ap.parse_args(argv)
    result = run_load(args.duration, args.clients)
    command = ("PYTHONPATH=py:py/tests .venv/bin/python py/tests/trust_load.py "
               f"--duration {args.duration:g} --clients {args.clients} --write-docs")
    text = render(result, command)
    print(text)
    if args.write_docs:
        DOC.write_text(text)
        print(f"wrote {DOC}")
    ok = (result["errors"] == 0 and result["allocator_idle_end"] == result["allocator_idle_start"]
          and result["server_alive"] and result["hung_threads"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
