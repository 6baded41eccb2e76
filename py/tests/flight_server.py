"""Test fixtures for the Quiver Flight server: run the server jar as a subprocess.

The server is started with ``--port 0`` on 127.0.0.1 and prints the address it bound as its
first stdout line, so tests never race for a "free" port. :class:`ServerProcess` stops it with
SIGTERM (the server drains, then exits) and kills it only if it does not exit in time.

Example::

    with ServerProcess.start("--tpch-scale", "0.01") as srv:
        client = srv.client()
        print([f.descriptor.path for f in client.list_flights()])
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pyarrow.flight as flight
import pytest

from quiver._jar import find_java_home, server_jar

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "arrow-testing" / "data"
if not SHARED.is_dir():  # worktrees live beside the main checkout, next to /work/shared
    SHARED = Path("/work/shared/arrow-testing/data")


def java_exe() -> str:
    return str(find_java_home() / "bin" / "java")


class ServerProcess:
    """A running ``quiver-server.jar``; use as a context manager or call :meth:`stop`."""

    def __init__(self, proc: subprocess.Popen, location: str, log_path: Path):
        self.proc = proc
        self.location = location
        self.log_path = log_path
        self.port = int(location.rsplit(":", 1)[1])
        self._clients: list[flight.FlightClient] = []

    @classmethod
    def start(cls, *args: str, env: dict[str, str] | None = None, timeout: float = 60.0,
              jvm_args: tuple[str, ...] = ()) -> "ServerProcess":
        log = tempfile.NamedTemporaryFile(prefix="quiver-server-", suffix=".log", delete=False)
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("QUIVER_")}
        full_env.update(env or {})
        # A later -Xmx in jvm_args wins over the default here.
        cmd = [java_exe(), "-Xmx512m", *jvm_args, "-jar", str(server_jar()), "--port", "0", *args]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, env=full_env,
                                text=True)
        deadline = time.monotonic() + timeout
        line = proc.stdout.readline()  # blocks until the server has bound (or died)
        if not line.startswith("quiver-server listening on "):
            proc.kill()
            proc.wait()
            raise RuntimeError(
                f"server did not start (exit {proc.returncode}): {line!r}\n"
                + Path(log.name).read_text(errors="replace")[-4000:])
        if time.monotonic() > deadline:
            raise RuntimeError("server start timed out")
        return cls(proc, line.strip().rsplit(" ", 1)[1], Path(log.name))

    def uri(self, scheme: str | None = None) -> str:
        if scheme is None:
            return self.location
        return f"{scheme}://127.0.0.1:{self.port}"

    def client(self, **kwargs) -> flight.FlightClient:
        """A client of this server; the ``with`` block's end closes it if the test did not.

        A failed test's traceback keeps its client alive until the interpreter exits. A CI run
        with a failed Flight test ended in a segmentation fault after pytest's summary (not
        reproduced since); a gRPC client destroyed that late is the suspect, so none outlives
        its server.
        """
        c = flight.connect(self.location, **kwargs)
        self._clients.append(c)
        return c

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, wait for the drain, kill if it hangs; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.proc.returncode

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        for c in self._clients:
            try:
                c.close()
            except Exception:  # a client of a dead server may fail to close; it is gone anyway
                pass
        self._clients.clear()
        try:
            self.log_path.unlink()
        except OSError:
            pass


def action_json(client: flight.FlightClient, name: str, body: bytes = b"",
                options: flight.FlightCallOptions | None = None) -> dict:
    results = list(client.do_action(flight.Action(name, body), options=options))
    assert len(results) == 1
    return json.loads(results[0].body.to_pybytes())


def wait_idle(client: flight.FlightClient, baseline: int, timeout: float = 10.0) -> dict:
    """Polls ``stats`` until the allocator is back at ``baseline`` bytes and no stream runs.

    The server frees a stream's buffers once gRPC has closed the call, a moment after the client
    saw the end, hence the polling.
    """
    deadline = time.monotonic() + timeout
    while True:
        stats = action_json(client, "stats")
        if stats["allocated_bytes"] == baseline and stats["active_streams"] == 0:
            return stats
        if time.monotonic() > deadline:
            raise AssertionError(f"server did not return to {baseline} bytes idle: {stats}")
        time.sleep(0.05)


def idle_bytes(client: flight.FlightClient) -> int:
    """The allocator figure with no stream running (polls until two readings agree)."""
    prev = None
    for _ in range(100):
        s = action_json(client, "stats")
        if s["active_streams"] == 0 and s["allocated_bytes"] == prev:
            return prev
        prev = s["allocated_bytes"]
        time.sleep(0.05)
    raise AssertionError("server never settled")


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    """One plain loopback server per test module (small partitions to exercise endpoints)."""
    with ServerProcess.start("--partition-size", "256k", "--memory-limit", "1g") as srv:
        yield srv


@pytest.fixture()
def client(server: ServerProcess) -> Iterator[flight.FlightClient]:
    c = server.client()
    yield c
    c.close()
