"""Short load test (CI): 32 concurrent clients mixing every RPC for QUIVER_LOAD_SECONDS
(default 15); zero errors, the allocator back at its idle figure, the server still serving.
The 10-minute soak is `make soak` (see trust_load.py), which regenerates docs/reliability.md."""
from __future__ import annotations

import os

from trust_load import render, run_load

SECONDS = float(os.environ.get("QUIVER_LOAD_SECONDS", "15"))


def test_short_load_32_clients():
    result = run_load(SECONDS, clients=32)
    print(render(result, f"test_trust_load.py ({SECONDS:g} s)"))
    assert result["errors"] == 0, result["error_samples"]
    assert result["hung_threads"] == 0
    assert result["server_alive"]
    assert result["allocator_idle_end"] == result["allocator_idle_start"]
    assert result["requests"] > 100 * SECONDS / 15, result["requests"]
    for kind, figures in result["per_kind"].items():
        assert figures["requests"] > 0, kind
