"""The paper's composite scores (SPEC §3): AAS, NAS and ARS over the rows shown together.

Pure functions over a DataFrame with one row per method (or per video, per category cell) and
one column per metric. Composites are relative to the rows they are computed over: adding or
removing a row changes NAS and ARS of every other row, so they are always recomputed from
the ten metric values, never copied from a printed table.

- AAS: arithmetic mean of the raw metric values.
- NAS: each value divided by the best value of its column (x 100), then the mean over metrics.
- ARS: competition rank per metric (1 = best; ties share the better rank, the next rank skips:
  1, 1, 3), taken on the values rounded to the decimals the table shows, then the mean rank.

Every paper metric is higher-is-better; a row missing any metric gets NaN composites (a partial
mean would not be comparable with the others).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from jtbench.errors import InputError
from jtbench.metrics.base import PAPER_COLUMNS

COMPOSITES = ("ARS", "NAS", "AAS")
#: Columns where a smaller value is better (every metric column is higher-is-better).
LOWER_IS_BETTER = frozenset({"ARS"})


class CompositeWarning(UserWarning):
    """A composite could not be computed as defined (e.g. a column's best value is not positive)."""


def _metric_frame(table: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(
            f"cannot compute composites: missing metric columns {', '.join(missing)}",
            fix="composites need all of " + ", ".join(columns),
        )
    return table[list(columns)].astype("float64")


def shown_values(values: pd.DataFrame | pd.Series, decimals: int = 2) -> pd.DataFrame | pd.Series:
    """Values exactly as a reader sees them: formatted to ``decimals`` and parsed back.

    Python's formatting rounds the exact binary value, so ranking on these numbers agrees with
    the printed digits (``np.round`` can disagree with the printed text on halfway cases).
    """

    def shown(x: float) -> float:
        return float(f"{x:.{decimals}f}") if pd.notna(x) else np.nan

    if isinstance(values, pd.Series):
        return values.map(shown)
    return values.apply(lambda column: column.map(shown))


def competition_rank(values: pd.Series, *, higher_is_better: bool = True) -> pd.Series:
    """Rank 1 = best; ties share the better rank and the next rank skips (46.89, 46.89 → k, k; next k+2)."""
    return values.rank(ascending=not higher_is_better, method="min")


def aas(table: pd.DataFrame, columns: Sequence[str] = PAPER_COLUMNS) -> pd.Series:
    """Average Absolute Score: the mean of the raw (unrounded) metric values per row."""
    return _metric_frame(table, columns).mean(axis=1, skipna=False).rename("AAS")


def nas(table: pd.DataFrame, columns: Sequence[str] = PAPER_COLUMNS) -> pd.Series:
    """Normalised Average Score: mean over metrics of value / best value in the column x 100.

    A column whose best value is not positive has no meaningful ratio (possible only for
    untrained tiny models): its ratios become NaN, with a :class:`CompositeWarning`.
    """
    values = _metric_frame(table, columns)
    best = values.max(axis=0)
    bad = [c for c in columns if not best[c] > 0]
    if bad and len(values):
        warnings.warn(
            f"NAS undefined: the best value of {', '.join(bad)} is not positive, so NAS is NaN",
            CompositeWarning,
            stacklevel=2,
        )
        best = best.where(best > 0)
    return (values.div(best, axis=1) * 100.0).mean(axis=1, skipna=False).rename("NAS")


def ars(table: pd.DataFrame, columns: Sequence[str] = PAPER_COLUMNS, decimals: int = 2) -> pd.Series:
    """Average Rank Score: mean competition rank over metrics, ranked on the shown (rounded) values."""
    shown = shown_values(_metric_frame(table, columns), decimals)
    ranks = shown.apply(competition_rank, axis=0)
    return ranks.mean(axis=1, skipna=False).rename("ARS")


def add_composites(
    table: pd.DataFrame,
    columns: Sequence[str] = PAPER_COLUMNS,
    *,
    group_by: Sequence[str] = (),
    decimals: int = 2,
) -> pd.DataFrame:
    """A copy of ``table`` with ARS, NAS, AAS inserted before the first metric column.

    With ``group_by``, composites are computed separately within each group (the rows a
    reader compares: the methods of one category, or of one prompt case).
    """
    out = table.drop(columns=[c for c in COMPOSITES if c in table.columns])
    groups = out.groupby(list(group_by), sort=False, dropna=False) if group_by else [(None, out)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CompositeWarning)
        pieces = [
            pd.concat([ars(rows, columns, decimals), nas(rows, columns), aas(rows, columns)], axis=1)
            for _, rows in groups
        ]
    undefined = [w for w in caught if issubclass(w.category, CompositeWarning)]
    for other in (w for w in caught if not issubclass(w.category, CompositeWarning)):
        warnings.warn(other.message, other.category, stacklevel=2)
    if undefined:  # one message for the table, not one per group
        where = f" (in {len(undefined)} of {len(pieces)} groups)" if group_by else ""
        warnings.warn(f"{undefined[0].message}{where}", CompositeWarning, stacklevel=2)
    frame = pd.concat(pieces).reindex(out.index) if pieces else pd.DataFrame(index=out.index, columns=list(COMPOSITES))
    position = list(out.columns).index(columns[0]) if columns and columns[0] in out.columns else len(out.columns)
    for offset, name in enumerate(COMPOSITES):
        out.insert(position + offset, name, frame[name].astype("float64"))
    return out
