"""Atomic file writes: a temp file beside the target, renamed over it, so a reader (or a run killed
mid-write) sees the old file or the whole new one, never half of it.

One home for the pattern that result tables, reports, store records and the digest cache all use.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def atomic_write(path: str | Path, write: Callable[[Path], Any], *, keep_suffix: bool = False) -> Path:
    """Call ``write(tmp)``, then rename ``tmp`` onto ``path``; a failed write leaves no temp file.

    The temp file is ``.<name>.<pid>.tmp`` (no reader that globs ``*.parquet`` can pick up a
    leftover); ``keep_suffix`` makes it ``.<stem>.<pid>.tmp<suffix>`` for writers that choose the
    format by the file's suffix (PIL, video encoders).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    name = f".{path.stem}.{os.getpid()}.tmp{path.suffix}" if keep_suffix else f".{path.name}.{os.getpid()}.tmp"
    tmp = path.with_name(name)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 text atomically, flushed to disk before the rename."""

    def _write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())

    return atomic_write(path, _write)
