"""Malformed-input corpus, PyArrow side: every file of arrow-testing's arrow-ipc-stream/ and
arrow-ipc-file/ fuzz corpora that PyArrow itself reads (and validates) must travel every Quiver
path exactly as PyArrow read it, or be refused clearly. The raw-bytes side (every file, valid or
not, as FlightData to DoPut and DoExchange, plus the mutation fuzzer) is the JUnit
MalformedIpcFuzzTest; test_flight_fidelity covers raw DoPut of the stream corpus too."""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from flight_server import SHARED
from trust_paths import PATHS, TrustEnv, idle_bytes, local_idle, run_path, wait_idle

STREAM_DIR = SHARED / "arrow-ipc-stream"
FILE_DIR = SHARED / "arrow-ipc-file"
CORPUS = sorted(p for d in (STREAM_DIR, FILE_DIR) for p in d.iterdir() if p.is_file())


def pyarrow_reading(path: Path) -> pa.Table | None:
    """What PyArrow reads from ``path`` (None when PyArrow refuses it)."""
    try:
        buf = pa.BufferReader(path.read_bytes())
        reader = pa.ipc.open_file(buf) if path.parent == FILE_DIR else pa.ipc.open_stream(buf)
        table = reader.read_all()
        table.validate(full=True)
        return table
    except Exception:  # noqa: BLE001 - PyArrow's refusal is the oracle's verdict
        return None


READABLE = [p for p in CORPUS if pyarrow_reading(p) is not None]


def test_corpus_present_and_mostly_refused_by_pyarrow():
    assert len(CORPUS) >= 130, len(CORPUS)
    assert 1 <= len(READABLE) < len(CORPUS) // 4, [p.name for p in READABLE]


@pytest.fixture(scope="module")
def env():
    with TrustEnv.start() as e:
        e.server_idle = idle_bytes(e.client)
        e.local_idle = local_idle(e.engine)
        yield e


@pytest.mark.parametrize("path_name", list(PATHS))
@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.name[-22:])
def test_files_pyarrow_reads_travel_unchanged(env, path, path_name):
    table = pyarrow_reading(path)
    outcome = run_path(env, path_name, table, "fuzzvalid")
    assert outcome.status in ("equal", "consumer-refuses", "refused"), outcome
    if outcome.status == "refused":
        # A refusal must say what is wrong, not be an internal error.
        assert "INTERNAL" not in outcome.detail and "NullPointer" not in outcome.detail, outcome


def test_server_and_engine_idle_afterwards(env):
    wait_idle(env.client, env.server_idle)
    assert local_idle(env.engine) == env.local_idle, env.engine.describe_memory()
