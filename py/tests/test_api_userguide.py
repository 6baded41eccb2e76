"""The Python snippets of README.md, docs/user-guide.md and docs/java-functions.md run as written.

Each document's ``python`` blocks run top to bottom in one fresh interpreter (a new JVM, so the
documented ``qv.local(...)`` options apply), from the repository root. Blocks whose first line is
``# not-run: <reason>`` are skipped (they need a running server)."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from api_support import REPO, example_jar, local_engine  # noqa: F401


def snippets(doc: str) -> str:
    text = (REPO / doc).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, doc
    return "\n".join(b for b in blocks if not b.lstrip().startswith("# not-run"))


def run(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "py"), "QUIVER_PROGRESS": "0"}
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.parametrize("doc", ["README.md", "docs/user-guide.md", "docs/java-functions.md"])
def test_doc_snippets_run_as_written(doc, local_engine):
    # local_engine: skips (with the reason) where the in-process engine is not available
    if doc == "docs/java-functions.md":
        example_jar()
    proc = run(snippets(doc))
    assert proc.returncode == 0, f"{doc} snippets failed:\n{proc.stdout[-3000:]}\n" \
                                 f"{proc.stderr[-5000:]}"


def test_the_not_run_block_is_only_the_server_one():
    text = (REPO / "docs" / "user-guide.md").read_text()
    skipped = [b for b in re.findall(r"```python\n(.*?)```", text, re.S)
               if b.lstrip().startswith("# not-run")]
    assert len(skipped) == 1 and "qv.connect" in skipped[0]
