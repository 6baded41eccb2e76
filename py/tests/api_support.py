"""Fixtures for the API scenario tests: the example UDF jar, a Flight server subprocess, and one
engine per mode (local, remote) holding the same TPC-H data.

Imported by the test_api_* modules (``from api_support import *``); conftest.py belongs to the
lead, so nothing here is global.
"""
from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path
from typing import Iterator

import pytest

import quiver as qv

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "java-udf"
EXAMPLE_JAR = EXAMPLE / "target" / "acme-udf.jar"
TPCH_SCALE = 0.01

__all__ = ["REPO", "EXAMPLE", "EXAMPLE_JAR", "TPCH_SCALE", "example_jar", "start_server", "local_engine", "remote_engine", "engine", "MODES"]

MODES = ["local", "remote"]


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


class _Server:
    """The Flight suite's server fixture (py/tests/flight_server.py) with user-function jars on
    the server's class path (``--classpath``); ``uri`` is what ``qv.connect`` takes."""

    def __init__(self, proc) -> None:
        self.proc = proc
        self.uri = proc.location

    def stop(self) -> None:
        self.proc.__exit__(None, None, None)


def start_server(*args: str, classpath: list[Path] = ()) -> _Server:
    """``quiver-server`` in a subprocess on a free loopback port (stop it with ``.stop()``)."""
    from flight_server import ServerProcess

    cp = [a for jar in classpath for a in ("--classpath", str(jar))]
    return _Server(ServerProcess.start("--host", "127.0.0.1", "--log-level", "WARN",
                                       "--no-access-log", *cp, *args))


TPCH_TABLES = ("customer", "lineitem", "nation", "orders", "part", "partsupp", "region",
               "supplier")


def _load_tpch_local(eng, scale: float) -> list[str]:
    """Loads TPC-H into the process's local engine; returns the names it added."""
    import jpype

    before = set(eng.names())
    jpype.JClass("dev.quiver.engine.tpch.TpchGenerator")(scale).loadAll(eng.catalog)
    return [n for n in TPCH_TABLES if n not in before]


def _cleanup_local(eng, added: list[str]) -> None:
    """Drops what the tests added (the local engine is shared by the whole test process, and
    other suites check that its memory returns to zero)."""
    import gc

    gc.collect()
    for name in added:
        eng.drop(name, missing_ok=True)
    for info in eng.list():
        if info.name.startswith("_qv_tmp_") or info.name.startswith("api_"):
            eng.drop(info.name, missing_ok=True)


def _require(what: str, check) -> None:
    try:
        check()
    except (qv.JarNotFound, ImportError) as e:
        pytest.skip(f"{what} not available: {e}")


@pytest.fixture(scope="module")
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
    added = _load_tpch_local(eng, TPCH_SCALE)
    yield eng
    _cleanup_local(eng, added)


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



