"""The fidelity matrix (see ``trust_matrix.py``): every golden stream x every path is equal or a
documented refusal; the generated docs/compatibility.md matches what this run observed."""
from __future__ import annotations

import pytest

import trust_matrix as tm
from trust_paths import PATHS, TrustEnv, local_idle, run_path, wait_idle, idle_bytes

OBSERVED: dict = {}


@pytest.fixture(scope="module")
def env():
    with TrustEnv.start() as e:
        e.server_idle = idle_bytes(e.client)
        e.local_idle = local_idle(e.engine)
        yield e


def test_golden_files_present():
    assert len(tm.GOLDEN_FILES) >= 30, tm.GOLDEN_DIR


@pytest.mark.parametrize("path_name", list(PATHS))
@pytest.mark.parametrize("golden", tm.GOLDEN_FILES, ids=lambda p: p.stem.removeprefix("generated_"))
def test_cell(env, golden, path_name):
    outcome = run_path(env, path_name, tm.read_golden(golden), golden.stem)
    OBSERVED[(golden.stem, path_name)] = outcome
    key = (golden.stem, path_name)
    if key in tm.KNOWN_BUGS:
        assert outcome.status != "equal", (
            f"known bug {tm.KNOWN_BUGS[key]!r} is fixed: remove it from KNOWN_BUGS and run "
            f"trust_matrix.py --write-docs")
        pytest.xfail(tm.KNOWN_BUGS[key])
    problem = tm.check(golden.stem, path_name, outcome)
    assert problem is None, problem


def test_nothing_leaks_after_the_matrix(env):
    assert action_ok(env)
    wait_idle(env.client, env.server_idle)
    assert local_idle(env.engine) == env.local_idle, env.engine.describe_memory()


def action_ok(env) -> bool:
    from trust_paths import action_json
    return action_json(env.client, "health")["status"] == "serving"


def test_compatibility_doc_is_current():
    expected = len(tm.GOLDEN_FILES) * len(PATHS)
    if len(OBSERVED) != expected:
        pytest.skip("run the whole matrix to compare it with docs/compatibility.md")
    generated = tm.render(OBSERVED)
    current = tm.DOC.read_text() if tm.DOC.exists() else ""
    assert current == generated, (
        "docs/compatibility.md is stale: run "
        "`PYTHONPATH=py:py/tests .venv/bin/python py/tests/trust_matrix.py --write-docs`")
