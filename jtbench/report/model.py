"""The table every renderer draws: labelled rows, value columns, best/second-best marks.

Marks follow the paper: per column, bold = best, underline = second best. Both are decided on
the values as shown (rounded to the table's decimals) with competition ranking, the same rule
as ARS: tied best values are all bold, and then nothing is second best (the next rank is 3).
With ``group_by`` the marks (and the composites) are decided within each group of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np
import pandas as pd

from jtbench.metrics.base import PAPER_COLUMNS
from jtbench.report.composites import COMPOSITES, LOWER_IS_BETTER, competition_rank, shown_values

#: The paper's grouped header, column → group (contiguous in the paper's column order).
COLUMN_GROUPS = {
    **dict.fromkeys(COMPOSITES, "Composite Metrics"),
    **dict.fromkeys(PAPER_COLUMNS[0:2], "Semantic Alignment"),
    **dict.fromkeys(PAPER_COLUMNS[2:5], "Motion Dynamism"),
    **dict.fromkeys(PAPER_COLUMNS[5:7], "Temporal Consistency"),
    **dict.fromkeys(PAPER_COLUMNS[7:10], "Perceptual Quality"),
}


class Mark(str, Enum):
    best = "best"
    second = "second"


@dataclass
class ReportTable:
    """Rows to show together. ``frame`` holds label columns then value columns."""

    title: str
    frame: pd.DataFrame
    labels: list[str]  # label columns (method, category, case_id, ...)
    values: list[str]  # value columns in display order
    marked: list[str] = field(default_factory=list)  # value columns that get best/second marks
    group_by: list[str] = field(default_factory=list)  # marks are decided within these groups
    decimals: dict[str, int] = field(default_factory=dict)  # per column; default 2
    directions: dict[str, bool] = field(default_factory=dict)  # column → higher is better (arrow shown)
    ci: pd.DataFrame | None = None  # aligned with frame: "<col> CI low" / "<col> CI high"
    ci_level: float = 0.95
    notes: list[str] = field(default_factory=list)
    key: str = "main"  # short id (LaTeX label, file names)

    def digits(self, column: str) -> int:
        return self.decimals.get(column, 2)

    def format(self, column: str, value: object) -> str | None:
        """The text of one cell; None for a missing value (renderers choose the dash)."""
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            return None
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return str(int(value))  # counts and seeds
        if isinstance(value, (float, np.floating)):
            digits = self.digits(column)
            if column == "p" and 0 < float(value) < 10 ** (-digits):
                return f"{float(value):.1e}"
            return f"{float(value):.{digits}f}"
        return str(value)

    def marks(self) -> pd.DataFrame:
        """best/second/None per marked cell (rows aligned with ``frame``)."""
        out = pd.DataFrame(None, index=self.frame.index, columns=self.marked, dtype=object)
        groups = self.frame.groupby(self.group_by, sort=False, dropna=False) if self.group_by else [(None, self.frame)]
        for _, rows in groups:
            for col in self.marked:
                shown = shown_values(pd.to_numeric(rows[col], errors="coerce"), self.digits(col))
                rank = competition_rank(shown, higher_is_better=self.directions.get(col, True))
                out.loc[rank.index[rank == 1], col] = Mark.best
                out.loc[rank.index[rank == 2], col] = Mark.second
        return out

    def header(self, column: str, arrows: tuple[str, str] = ("↑", "↓")) -> str:
        """Column title with the paper's arrow (↑ higher is better, ↓ lower is better)."""
        if column not in self.directions:
            return column
        return column + (arrows[0] if self.directions[column] else arrows[1])

    def ci_table(self) -> ReportTable | None:
        """The CIs as a table of "low–high" cells (one column per metric)."""
        if self.ci is None:
            return None
        metrics = [c for c in self.values if f"{c} CI low" in self.ci.columns]
        frame = self.frame[self.labels].copy()
        for col in metrics:
            low, high = self.ci[f"{col} CI low"], self.ci[f"{col} CI high"]
            cells = [
                None if pd.isna(lo) or pd.isna(hi) else f"{self.format(col, lo)}–{self.format(col, hi)}"
                for lo, hi in zip(low, high, strict=True)
            ]
            frame[col] = cells
        level = f"{self.ci_level * 100:g}%"
        return ReportTable(
            title=f"{self.title}: {level} bootstrap confidence intervals of the means over videos",
            frame=frame,
            labels=list(self.labels),
            values=metrics,
            key=f"{self.key}-ci",
        )


def default_directions(columns: list[str]) -> dict[str, bool]:
    """Arrows for the composites and the paper's metrics (every metric is higher-is-better)."""
    known = set(COMPOSITES) | set(PAPER_COLUMNS)
    return {c: c not in LOWER_IS_BETTER for c in columns if c in known}
