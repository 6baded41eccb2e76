"""Progress bars (tqdm) for long transfers and queries, only when attached to a terminal.

``QUIVER_PROGRESS=1`` forces bars on, ``QUIVER_PROGRESS=0`` off; otherwise they show when
stderr is a terminal and tqdm is installed. Bars count rows and appear after half a second, so
short calls stay quiet.
"""
from __future__ import annotations

import os
import sys
from typing import Any, Iterator

import pyarrow as pa

__all__ = ["enabled", "track_batches"]


def enabled() -> bool:
    flag = os.environ.get("QUIVER_PROGRESS")
    if flag is not None:
        return flag.strip().lower() not in ("0", "false", "no", "off", "")
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _bar(desc: str, total: int | None) -> Any:
    if not enabled():
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(desc=desc, total=total, unit=" rows", unit_scale=True, delay=0.5, leave=False)


def track_batches(batches: Iterator[pa.RecordBatch], desc: str,
                  total_rows: int | None = None) -> Iterator[pa.RecordBatch]:
    """Yields ``batches`` unchanged, advancing a progress bar by their row counts."""
    bar = _bar(desc, total_rows)
    if bar is None:
        yield from batches
        return
    try:
        for b in batches:
            bar.update(b.num_rows)
            yield b
    finally:
        bar.close()


def tracked_reader(reader: pa.RecordBatchReader, desc: str,
                   total_rows: int | None = None) -> pa.RecordBatchReader:
    """``reader`` itself when bars are off; otherwise a reader that advances a bar."""
    if not enabled():
        return reader
    return pa.RecordBatchReader.from_batches(
        reader.schema, track_batches(iter(reader), desc, total_rows))
