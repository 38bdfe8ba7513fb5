"""What a scoring run produced: the files it writes, inputs that got no row, and how a failure reads.

Kept apart from the engine (:mod:`jtbench.metrics.scorer`) so the isolated child process, the
CLI and the run's score stage share one definition of a run's outcome.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jtbench.errors import JtbenchError

RESULTS_FILE, ERRORS_FILE, SUMMARY_FILE, PROVENANCE_FILE = (
    "results.parquet",
    "errors.csv",
    "summary.csv",
    "provenance.json",
)



@dataclass(frozen=True)
class Unscorable:
    """One input that got no row: a line of ``errors.csv``."""

    video: str
    problem: str
    fix: str


@dataclass
class ScoreReport:
    """What a run did; ``timings`` splits seconds into decode, hash, load:<backbone> and metrics."""

    scored: int = 0
    skipped: int = 0
    unscorable: list[Unscorable] = field(default_factory=list)
    metric_failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    timings: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    out_dir: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.unscorable and not any(self.metric_failures.values())


def error_line(column: str, exc: BaseException) -> str:
    if isinstance(exc, JtbenchError):
        where = f" ({exc.file})" if exc.file else ""
        fix = exc.fix or "see the message"
        return f"{column}: {exc.problem}{where} — fix: {fix}"
    return (
        f"{column}: {type(exc).__name__}: {exc} — fix: unexpected failure; re-run with "
        f"--metrics {column} to reproduce and report it with this message"
    )


def line_column(line: str) -> str:
    return line.split(":", 1)[0]


def is_finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def write_errors_csv(path: Path, unscorable: Sequence[Unscorable]) -> None:
    """``errors.csv`` (video, problem, fix); removed when nothing failed, so a stale list cannot mislead."""
    if not unscorable:
        path.unlink(missing_ok=True)
        return
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["video", "problem", "fix"])
        writer.writerows([u.video, u.problem, u.fix] for u in unscorable)
