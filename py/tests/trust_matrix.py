"""The fidelity matrix: every golden Arrow IPC stream x every Quiver path.

``test_trust_matrix.py`` runs each cell as a test; this module also regenerates the table in
``docs/compatibility.md``::

    PYTHONPATH=py:py/tests .venv/bin/python py/tests/trust_matrix.py --write-docs

A cell is ``equal`` or a refusal listed in :data:`DOCUMENTED_REFUSALS` (the message must match);
anything else fails the test. The test also fails when the committed document no longer matches
what the suite observed, so the document cannot go stale.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path as FsPath

import pyarrow as pa

from flight_server import REPO, SHARED
from trust_paths import PATHS, Outcome, TrustEnv, run_path

GOLDEN_DIR = SHARED / "arrow-ipc-stream" / "integration" / "cpp-21.0.0"
GOLDEN_FILES = sorted(GOLDEN_DIR.glob("*.stream"))
DOC = REPO / "docs" / "compatibility.md"

_DEC = "Arrow Java 19 only supports 128-bit and 256-bit decimal"
_DUP = "Arrow Java keys struct children by name; two children with one name would collapse"

# (golden stem, path) -> (regex the refusal must match, why). Stem "*" matches every file.
DOCUMENTED_REFUSALS: dict[tuple[str, str], tuple[str, str]] = {}
for _path in ("flight_put_get", "flight_exchange"):
    for _stem in ("generated_decimal32", "generated_decimal64"):
        DOCUMENTED_REFUSALS[(_stem, _path)] = ("only supports 128-bit and 256-bit decimal", _DEC)
    DOCUMENTED_REFUSALS[("generated_duplicate_fieldnames", _path)] = ("two children named", _DUP)
for _path in ("cdata_dataset", "cstream_reader", "capsule_pyarrow", "capsule_polars",
              "capsule_duckdb"):
    DOCUMENTED_REFUSALS[("generated_duplicate_fieldnames", _path)] = ("two children named", _DUP)
DOCUMENTED_REFUSALS[("generated_nested_dictionary", "flight_exchange")] = (
    "dictionary-encoded with nested values",
    "the engine decodes dictionary columns on input (plan format v1) and expands dictionaries of "
    "flat values only; a dictionary of lists or structs is refused by name (docs/plan-format.md)")


# Cells where Quiver is wrong today: reported bugs, each test is a strict xfail (it fails once
# the bug is fixed, so the entry must then be removed and the document regenerated).
KNOWN_BUGS: dict[tuple[str, str], str] = {}


JAVA_PATHS = ("flight_put_get", "flight_exchange", "cdata_dataset", "cstream_reader",
              "capsule_pyarrow", "capsule_polars", "capsule_duckdb")
DATASET_PATHS = ("cdata_dataset", "capsule_pyarrow", "capsule_polars", "capsule_duckdb")

# Refusals the random round trips (test_trust_random.py) may meet: (paths, regex, why).
RANDOM_REFUSALS: list[tuple[tuple[str, ...], str, str]] = [
    (JAVA_PATHS[2:], r"is a slice",
     "Arrow Java's stock C Data importer ignores offsets for some layouts (unions, ...): the "
     "bridge refuses a sliced batch of such a column instead of misreading it"),
    (DATASET_PATHS, r"different dictionary in a later batch",
     "a dataset keeps one dictionary per column; put() unifies top-level dictionary columns "
     "but not dictionaries nested in struct/list/map/union"),
    (("flight_put_get",), r"was replaced after batch",
     "a Quiver dataset keeps one dictionary per column; an upload that replaces a dictionary "
     "mid-stream is refused (unify first)"),
    (JAVA_PATHS, r"Inner vector type mismatch.*Union",
     "Arrow Java 19 cannot build a union nested in a fixed_size_list (it loses the type codes); "
     "the error text is Arrow Java's"),
    (JAVA_PATHS, r"Run-end encoded vectors must have two child Fields",
     "Arrow Java 19 cannot build a run-end encoded child of a union; the error text is Arrow "
     "Java's"),
]


def random_refusal_documented(path_name: str, detail: str) -> bool:
    return any(path_name in paths and re.search(rx, detail)
               for paths, rx, _ in RANDOM_REFUSALS)


def read_golden(path: FsPath) -> pa.Table:
    with pa.ipc.open_stream(path) as reader:
        return reader.read_all()


def check(stem: str, path_name: str, outcome: Outcome) -> str | None:
    """None if ``outcome`` is acceptable for this cell, else why not."""
    if (stem, path_name) in KNOWN_BUGS:
        return f"known bug: {KNOWN_BUGS[(stem, path_name)]}"
    if outcome.status in ("equal", "consumer-refuses"):
        return None
    if outcome.status == "refused":
        documented = DOCUMENTED_REFUSALS.get((stem, path_name))
        if documented and re.search(documented[0], outcome.detail):
            return None
        return f"undocumented refusal: {outcome.detail}"
    return f"SILENT CHANGE: {outcome.detail}"


def run_matrix(env: TrustEnv) -> dict[tuple[str, str], Outcome]:
    results = {}
    for file in GOLDEN_FILES:
        table = read_golden(file)
        for path_name in PATHS:
            results[(file.stem, path_name)] = run_path(env, path_name, table, file.stem)
    return results


def _symbol(outcome: Outcome, known_bug: bool = False) -> str:
    if known_bug and outcome.status != "equal":
        return "🐞"
    return {"equal": "✅", "refused": "⛔", "consumer-refuses": "➖",
            "changed": "❌"}[outcome.status] + (
        "¹" if outcome.status == "equal" and outcome.detail else "")


def render(results: dict[tuple[str, str], Outcome]) -> str:
    stems = sorted({s for s, _ in results})
    paths = [p for p in PATHS if any((s, p) in results for s in stems)]
    counts: dict[str, int] = {}
    for o in results.values():
        counts[o.status] = counts.get(o.status, 0) + 1
    n_bugs = sum(1 for k, o in results.items() if k in KNOWN_BUGS and o.status != "equal")
    lines = [
        "# Compatibility: the fidelity matrix",
        "",
        "<!-- GENERATED by `PYTHONPATH=py:py/tests .venv/bin/python py/tests/trust_matrix.py "
        "--write-docs`; do not edit. `py/tests/test_trust_matrix.py` fails when this file no "
        "longer matches what the suite observes. -->",
        "",
        "Every golden stream of `arrow-testing/data/arrow-ipc-stream/integration/cpp-21.0.0/` "
        "travels every Quiver path. A cell is **equal** (schema with schema- and field-level "
        "metadata, and every value, identical to what PyArrow reads from the file) or a "
        "**documented refusal** with a clear error. For the consumer columns (Polars, DuckDB) "
        "the oracle is the same consumer reading the original PyArrow table: ➖ means the "
        "consumer itself cannot read that type, with or without Quiver.",
        "",
        f"**Summary:** {len(stems)} files x {len(paths)} paths = {len(results)} cells: "
        + ", ".join(f"{counts.get(k, 0)} {k}" for k in
                    ("equal", "refused", "consumer-refuses", "changed"))
        + f"; {n_bugs} of these cells are known Quiver bugs (listed below).",
        "",
        "Legend: ✅ equal, ✅¹ equal values with dictionaries unified across batches "
        "(documented in docs/in-process.md), ⛔ documented refusal, ➖ the consumer cannot "
        "read the type even from PyArrow (or misreads it from PyArrow too), 🐞 known Quiver bug "
        "(reported; its test is a strict xfail), ❌ silent change (a bug; never committed).",
        "",
        "| file | " + " | ".join(PATHS[p].title for p in paths) + " |",
        "|---|" + "---|" * len(paths),
    ]
    for s in stems:
        lines.append(f"| {s.removeprefix('generated_')} | "
                     + " | ".join(_symbol(results[(s, p)], (s, p) in KNOWN_BUGS) for p in paths) + " |")
    lines += ["", "## Refusals and notes", "",
              "| file | path | outcome | why |", "|---|---|---|---|"]
    for (s, p), o in sorted(results.items()):
        if o.status == "equal" and not o.detail:
            continue
        why = DOCUMENTED_REFUSALS.get((s, p), ("", ""))[1]
        if (s, p) in KNOWN_BUGS:
            why = "KNOWN BUG: " + KNOWN_BUGS[(s, p)]
        if o.status == "consumer-refuses":
            why = "the consumer refuses the PyArrow table the same way"
        detail = o.cell()
        detail = re.sub(r" gRPC client debug context: .*", "", detail)
        # A consumer's stack trace and install paths differ per machine and checkout.
        detail = re.sub(r"\s*Stack Trace:.*", "", detail, flags=re.S)
        detail = re.sub(r"/\S*/site-packages/", "site-packages/", detail)
        detail = (detail[:200] + "…" if len(detail) > 200 else detail).replace("|", "\\|")
        # Drop process-specific noise (addresses, temp names) so the file is reproducible.
        detail = re.sub(r"trust_[A-Za-z0-9_]+_\d+", "<name>", detail)
        detail = re.sub(r"0x[0-9a-f]+", "0x…", detail)
        lines.append(f"| {s.removeprefix('generated_')} | {PATHS[p].title} | {detail} | {why} |")
    lines += ["", "## Refusals the randomized round trips may meet", "",
              "`py/tests/test_trust_random.py` sends random tables (nesting depth >= 3, every "
              "type above, nulls, empty batches, slices at non-zero offsets, sliced "
              "dictionaries) through every path. Besides the cells above, these refusals are "
              "accepted there; any other refusal or any difference fails the test.", "",
              "| paths | error matches | why |", "|---|---|---|"]
    for paths, rx, why in RANDOM_REFUSALS:
        names = "all Java paths" if paths == JAVA_PATHS else ", ".join(PATHS[p].title
                                                                       for p in paths)
        lines.append(f"| {names} | `{rx}` | {why} |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write-docs", action="store_true", help=f"write {DOC}")
    args = ap.parse_args(argv)
    with TrustEnv.start() as env:
        results = run_matrix(env)
    text = render(results)
    bad = [(k, check(*k, o)) for k, o in results.items()
           if check(*k, o) and k not in KNOWN_BUGS]
    if args.write_docs:
        DOC.write_text(text)
        print(f"wrote {DOC}")
    else:
        print(text)
    for k, why in bad:
        print(f"FAIL {k}: {why}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
