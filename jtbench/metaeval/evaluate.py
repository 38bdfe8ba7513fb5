"""One call from ratings + results to every table: per dimension, for all raters and the unflagged ones."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from jtbench.metaeval.agreement import Settings, Stat, absolute_table, pairwise_table
from jtbench.metaeval.join import Joined, join
from jtbench.metaeval.methods import dyn_deg_bias, method_level, position_bias
from jtbench.metaeval.raters import flag_raters

TABLE_COLUMNS = ("metric", "dimension", "statistic", "raters", "value", "ci_low", "ci_high", "n", "test", "note")
SUBSETS = ("all", "unflagged")


@dataclass
class MetaEval:
    """The results of one meta-evaluation (what the report writers draw)."""

    table: pd.DataFrame  # TABLE_COLUMNS, one row per metric × dimension × statistic × rater subset
    flags: pd.DataFrame  # one row per rater
    unmatched: pd.DataFrame  # judgments whose videos are not in the results
    curves: pd.DataFrame  # disagreement vs Dyn-Deg gap, binned (for the plot)
    warnings: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    dimensions: list[str] = field(default_factory=list)


def _rows(stats: list[Stat], subset: str) -> list[dict]:
    return [dict(asdict(s), raters=subset) for s in stats]


def meta_evaluate(
    ratings: pd.DataFrame, results: pd.DataFrame, *, resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> MetaEval:
    """Every statistic of SPEC §7 for every metric column × rated dimension."""
    settings = Settings(resamples, seed, level)
    joined: Joined = join(ratings, results)
    flags = flag_raters(ratings, joined.pairs)
    flagged = set(flags.loc[flags["flags"] != "", "rater_id"])
    rows: list[dict] = []
    curves, warnings = [], []
    dimensions = sorted(set(joined.pairs["dimension"]) | set(joined.singles["dimension"]))
    for subset in SUBSETS:
        if subset == "unflagged" and not flagged:
            continue
        pairs = joined.pairs if subset == "all" else joined.pairs[~joined.pairs["rater_id"].isin(flagged)]
        singles = joined.singles if subset == "all" else joined.singles[~joined.singles["rater_id"].isin(flagged)]
        for dimension in dimensions:
            p = pairs[pairs["dimension"] == dimension].reset_index(drop=True)
            s = singles[singles["dimension"] == dimension].reset_index(drop=True)
            args = (joined.metrics, dimension, settings)
            if len(p):
                rows += _rows(pairwise_table(p, joined.values, *args), subset)
                method_stats, warning = method_level(p, joined.results, joined.values, *args)
                rows += _rows(method_stats, subset)
                bias, curve = dyn_deg_bias(p, joined.values, *args)
                rows += _rows(bias, subset)
                rows += _rows([position_bias(p, dimension, settings)], subset)
                if warning and warning not in warnings:
                    warnings.append(warning)
                if subset == "all":
                    curves.append(curve)
            if len(s):
                rows += _rows(absolute_table(s, joined.values, *args), subset)
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    table["n"] = table["n"].astype("int64")
    for column in ("value", "ci_low", "ci_high"):
        table[column] = table[column].astype("float64")
    if len(joined.unmatched):
        warnings.append(
            f"{len(joined.unmatched)} judgment(s) name videos that are not in the results "
            "(by method + video_sha256); listed in unmatched_ratings.csv and left out"
        )
    if flagged:
        warnings.append(
            f"{len(flagged)} rater(s) flagged ({', '.join(sorted(flagged))}); every table is given "
            "for all raters and for the unflagged ones"
        )
    curve = (
        pd.concat([c for c in curves if len(c)], ignore_index=True) if any(len(c) for c in curves) else pd.DataFrame()
    )
    return MetaEval(table, flags, joined.unmatched, curve, warnings, joined.metrics, dimensions)


def value(result: MetaEval, metric: str, dimension: str, statistic: str, raters: str = "all") -> pd.Series:
    """The row of one statistic (for tests and reports); KeyError-free: NaN row when absent."""
    t = result.table
    hit = t[(t.metric == metric) & (t.dimension == dimension) & (t.statistic == statistic) & (t.raters == raters)]
    if hit.empty:
        return pd.Series({"value": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n": 0, "note": "absent"})
    return hit.iloc[0]


def empty_result() -> MetaEval:
    """No human judgments (``--perturb`` alone)."""
    return MetaEval(pd.DataFrame(columns=list(TABLE_COLUMNS)), pd.DataFrame(), pd.DataFrame(), pd.DataFrame())


def add_synthetic(result: MetaEval, stats: list[Stat]) -> None:
    """Append the ``--perturb`` rows (raters = "synthetic") to the table."""
    rows = pd.DataFrame(_rows(stats, "synthetic"), columns=list(TABLE_COLUMNS))
    result.table = pd.concat([result.table, rows], ignore_index=True) if len(result.table) else rows
    result.table["n"] = result.table["n"].astype("int64")
