"""Fixtures for the API scenario tests: the example UDF jar, a Flight server subprocess, and one
engine per mode (local, remote) holding the same TPC-H data.

Imported by the test_api_* modules (``from api_support import *``); conftest.py belongs to the
lead, so nothing here is global.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess

import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

import quiver as qv

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "java-udf"
EXAMPLE_JAR = EXAMPLE / "target" / "acme-udf.jar"
TPCH_SCALE = 0.01

__all__ = ["REPO", "EXAMPLE", "EXAMPLE_JAR", "TPCH_SCALE", "example_jar", "ServerProcess",
           "start_server", "local_engine", "remote_engine", "engine", "MODES", "java_bin"]

MODES = ["local", "remote"]


def java_bin() -> str:
    return str(qv.find_java_home(17) / "bin" / "java")


def _newest(path: Path) -> float:
    return max((p.stat().st_mtime for p in path.rglob("*") if p.is_file()), default=0.0)


_build_lock = threading.Lock()


def example_jar() -> Path:
    """Builds examples/java-udf (its own Maven project) when its jar is missing or stale."""
    with _build_lock:
        engine_jar = qv.engine_jar()
        stale = (not EXAMPLE_JAR.is_file()
                 or EXAMPLE_JAR.stat().st_mtime < _newest(EXAMPLE / "src")
                 or EXAMPLE_JAR.stat().st_mtime < engine_jar.stat().st_mtime)
        if stale:
            mvn = shutil.which("mvn")
            if mvn is None:
                pytest.skip("mvn is needed to build examples/java-udf")
            subprocess.run([mvn, "-B", "-q", "-f", str(EXAMPLE / "pom.xml"), "package",
                            f"-Dquiver.engine.jar={engine_jar}"], check=True, timeout=600)
        return EXAMPLE_JAR


class ServerProcess:
    """``quiver-server`` in a subprocess on a free loopback port; stopped by :meth:`stop`."""

    def __init__(self, *args: str, classpath: list[Path] = (), env: dict | None = None) -> None:
        jar = qv.server_jar()
        cp = os.pathsep.join([str(jar), *map(str, classpath)])
        cmd = [java_bin(), "--add-opens=java.base/java.nio=org.apache.arrow.memory.core,ALL-UNNAMED",
               "-Xmx1g", "-cp", cp, "dev.quiver.server.Main", "--host", "127.0.0.1",
               "--port", "0", "--log-level", "WARN", "--no-access-log", *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env={**os.environ, **(env or {})})
        self.uri = self._await_listening()

    def _await_listening(self, timeout: float = 90) -> str:
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                if self.proc.poll() is not None:
                    err = self.proc.stderr.read() if self.proc.stderr else ""
                    raise RuntimeError(f"server exited with {self.proc.returncode}: {err}")
                continue
            m = re.search(r"listening on \S+://([\d.]+):(\d+)", line)
            if m:
                return f"grpc://{m.group(1)}:{m.group(2)}"
        self.stop()
        raise RuntimeError("server did not report its port in time")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()


def start_server(*args: str, classpath: list[Path] = ()) -> ServerProcess:
    return ServerProcess(*args, classpath=classpath)


def _load_tpch_local(eng, scale: float) -> None:
    import jpype

    Tpch = jpype.JClass("dev.quiver.engine.tpch.TpchGenerator")
    if "lineitem" not in eng:
        Tpch(scale).loadAll(eng.catalog)


def _require(what: str, check) -> None:
    try:
        check()
    except (qv.JarNotFound, ImportError) as e:
        pytest.skip(f"{what} not available: {e}")


@pytest.fixture(scope="session")
def local_engine():
    from quiver._engine import Engine

    _require("engine jar", qv.engine_jar)
    _require("in-process engine", lambda: __import__("quiver._local"))
    from quiver._local import LocalEngine

    if not issubclass(LocalEngine, Engine):
        pytest.skip("the in-process engine does not implement quiver.Engine on this branch yet")
    jar = example_jar()
    try:
        eng = qv.local(classpath=(str(jar),))
    except ValueError:  # the JVM already runs with other options in this process
        eng = qv.local()
    eng.load_jar(jar)  # no-op when the jar is already on the JVM class path
    _load_tpch_local(eng, TPCH_SCALE)
    return eng


@pytest.fixture(scope="session")
def remote_engine() -> Iterator:
    _require("server jar", qv.server_jar)
    jar = example_jar()
    server = start_server("--tpch-scale", str(TPCH_SCALE), classpath=[jar])
    eng = qv.connect(server.uri)
    try:
        yield eng
    finally:
        eng.close()
        server.stop()


@pytest.fixture(params=MODES)
def engine(request):
    return request.getfixturevalue(f"{request.param}_engine")



