"""Randomized round trips: random tables (``trust_random.random_table``) through every path.

Fixed seed in CI; reproduce or extend with ``QUIVER_TRUST_SEED`` / ``QUIVER_TRUST_CASES`` (see
``trust_random.py``). Each cell must be equal or a documented refusal; a path with a known bug
(see ``trust_matrix.KNOWN_BUGS``) gets the table without the affected columns, so the rest of
the table is still checked strictly.
"""
from __future__ import annotations

import os
import pyarrow as pa
import pytest

import trust_matrix as tm
from trust_paths import PATHS, TrustEnv, idle_bytes, local_idle, run_path, wait_idle
from trust_random import DEFAULT_SEED, features, random_table, type_features

SEED = int(os.environ.get("QUIVER_TRUST_SEED", DEFAULT_SEED))
CASES = int(os.environ.get("QUIVER_TRUST_CASES", "30"))

# Features a path mishandles today (bugs reported with the matrix): dropped before that path.
KNOWN_BUG_FEATURES = {
    "flight_exchange": {"dictionary"},
}


def strip_features(table: pa.Table, bad: set[str]) -> pa.Table:
    keep = [i for i, f in enumerate(table.schema)
            if not (type_features(f.type) & bad)
            and not ("metadata" in bad and f.metadata)]
    out = table.select(keep)
    if "metadata" in bad:
        out = out.replace_schema_metadata(None)
    return out


def judge(env: TrustEnv, path: str, table: pa.Table, seed: int) -> str | None:
    """None when ``path`` carries ``table`` faithfully or refuses it as documented."""
    bad = KNOWN_BUG_FEATURES.get(path, set()) & features(table)
    if bad:
        table = strip_features(table, bad)
    outcome = run_path(env, path, table, f"rnd{seed}")
    if outcome.status in ("equal", "consumer-refuses"):
        return None
    if outcome.status == "refused" and tm.random_refusal_documented(path, outcome.detail):
        return None
    return f"{outcome.status}: {outcome.detail[:600]}"


@pytest.fixture(scope="module")
def env():
    with TrustEnv.start() as e:
        e.server_idle = idle_bytes(e.client)
        e.local_idle = local_idle(e.engine)
        yield e


def test_generator_makes_deep_valid_tables_with_offsets():
    seen = set()
    for case in range(CASES):
        t = random_table(SEED + case)
        t.validate(full=True)
        seen |= features(t)
        seen |= {"sliced"} if any(b.column(i).offset for b in t.to_batches()
                                  for i in range(b.num_columns)) else set()
        seen |= {"empty_batch"} if any(b.num_rows == 0 for b in t.to_batches()) else set()
    assert {"dictionary", "union", "metadata", "sliced", "empty_batch"} <= seen, seen


@pytest.mark.parametrize("case", range(CASES), ids=lambda c: f"seed{SEED + c}")
def test_random_round_trip(env, case):
    seed = SEED + case
    table = random_table(seed)
    problems = {p: judge(env, p, table, seed) for p in PATHS}
    problems = {p: why for p, why in problems.items() if why}
    assert not problems, (f"seed {seed} (reproduce: QUIVER_TRUST_SEED={seed} "
                          f"QUIVER_TRUST_CASES=1), schema:\n{table.schema}\n{problems}")


def test_nothing_leaks_after_random_round_trips(env):
    wait_idle(env.client, env.server_idle)
    assert local_idle(env.engine) == env.local_idle, env.engine.describe_memory()
