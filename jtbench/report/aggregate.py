"""From per-video result rows to per-method numbers: means, breakdowns, bootstrap CIs, Wilcoxon.

The paper's numbers are dataset-level means over every video of a method (all 450 prompt
cases, every seed). Dyn-Deg is stored per video as 0 or 100 (dynamic or not), so its mean is
the share of dynamic videos x 100, which is what the paper prints (every printed Dyn-Deg value
is k/450 x 100). A metric that failed on a video (NaN) is left out of that metric's mean only;
the table notes say how many videos each mean rests on.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from jtbench.benchmark import Benchmark
from jtbench.benchmark.prepared import NOT_RECORDED_LABEL
from jtbench.errors import InputError
from jtbench.metrics.base import PAPER_COLUMNS

#: The breakdowns of a per-category table, in the order they are shown.
CATEGORY_DIMENSIONS = ("pairing", "subject_category", "motion_category", "background")


class MixedRowsWarning(UserWarning):
    """Rows computed under different base models, metric versions or reference sets are shown together."""


def with_categories(results: pd.DataFrame, benchmark: Benchmark | None = None) -> pd.DataFrame:
    """Add subject_category, motion_category and pairing (from the manifest, by subject/motion id).

    Rows whose subject or motion is not a benchmark id (prompt-only rows) get null categories.
    """
    manifest = (benchmark or Benchmark.load()).manifest
    out = results.copy()
    subject_cat = {s.id: s.category for s in manifest.subjects.values()}
    motion_cat = {m.id: m.category for m in manifest.motions.values()}
    out["subject_category"] = out["subject"].map(subject_cat)
    out["motion_category"] = out["motion"].map(motion_cat)
    both = out["subject_category"].notna() & out["motion_category"].notna()
    out["pairing"] = (out["subject_category"] + "/" + out["motion_category"]).where(both)
    return out


def category_order(dimension: str, benchmark: Benchmark | None = None) -> list[str]:
    """The manifest's order of a dimension's values (pairings, categories, backgrounds)."""
    from jtbench.benchmark.manifest import MOTION_CATEGORIES, SUBJECT_CATEGORIES

    manifest = (benchmark or Benchmark.load()).manifest
    orders = {
        "pairing": [p.id for p in manifest.pairings],
        "subject_category": list(SUBJECT_CATEGORIES),
        "motion_category": list(MOTION_CATEGORIES),
        "background": list(manifest.backgrounds),
    }
    if dimension not in orders:
        raise InputError(f"unknown breakdown {dimension!r}", fix=f"use one of {', '.join(CATEGORY_DIMENSIONS)}")
    return orders[dimension]


def method_means(
    results: pd.DataFrame, columns: Sequence[str] = PAPER_COLUMNS, by: Sequence[str] = ("method",)
) -> pd.DataFrame:
    """Mean of each metric over videos per group; ``n_videos`` and per-metric counts ``n:<col>``."""
    missing = [c for c in (*by, *columns) if c not in results.columns]
    if missing:
        raise InputError(
            f"results lack columns {', '.join(missing)}", fix="pass a results.parquet from `jtbench score`"
        )
    grouped = results.groupby(list(by), sort=False, dropna=False)
    means = grouped[list(columns)].mean()
    counts = grouped[list(columns)].count().add_prefix("n:")
    size = grouped.size().rename("n_videos")
    return pd.concat([means, size, counts], axis=1).reset_index()


def coverage_notes(means: pd.DataFrame, label: str = "method", columns: Sequence[str] = PAPER_COLUMNS) -> list[str]:
    """One line per row whose means rest on fewer videos than it has (failed metrics)."""
    notes = []
    for _, row in means.iterrows():
        short = [f"{c} ({int(row[f'n:{c}'])})" for c in columns if row[f"n:{c}"] < row["n_videos"]]
        if short:
            notes.append(
                f"{row[label]}: {int(row['n_videos'])} videos; fewer where a metric failed: {', '.join(short)}"
            )
    return notes


def bootstrap_ci(
    results: pd.DataFrame,
    columns: Sequence[str] = PAPER_COLUMNS,
    *,
    by: str = "method",
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Percentile bootstrap CI of each metric's mean over videos, per ``by`` value (seeded).

    Returns one row per group with ``<col> CI low`` / ``<col> CI high``. Videos where the
    metric is NaN are dropped for that metric; fewer than two videos give NaN bounds.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for key, group in results.groupby(by, sort=False, dropna=False):
        row: dict[str, object] = {by: key}
        for col in columns:
            values = group[col].dropna().to_numpy(dtype="float64")
            low = high = np.nan
            if len(values) >= 2:
                if np.all(values == values[0]):
                    low = high = float(values[0])  # every resample has the same mean
                else:
                    res = stats.bootstrap(
                        (values,),
                        np.mean,
                        n_resamples=n_resamples,
                        confidence_level=level,
                        method="percentile",
                        vectorized=True,
                        rng=rng,
                    )
                    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
            row[f"{col} CI low"], row[f"{col} CI high"] = low, high
        rows.append(row)
    return pd.DataFrame(rows)


def paired_wilcoxon(
    results: pd.DataFrame, method_a: str, method_b: str, columns: Sequence[str] = PAPER_COLUMNS
) -> pd.DataFrame:
    """Wilcoxon signed-rank test of A vs B per metric on matched cases (two-sided).

    Cases are matched by case_id (several seeds of one case are averaged first, so each case
    counts once); a case missing either value of a metric is dropped for that metric. ``n`` is
    the number of matched cases used. Zero differences follow scipy's default ("wilcox": dropped).
    """
    known = set(results["method"].dropna())
    for name in (method_a, method_b):
        if name not in known:
            raise InputError(f"--compare: no rows for method {name!r}", fix=f"methods here: {', '.join(sorted(known))}")
    if method_a == method_b:
        raise InputError("--compare needs two different methods", fix="pass --compare A,B")
    rows = results[results["case_id"].notna()]
    per_case = rows.groupby(["method", "case_id"])[list(columns)].mean()
    for name in (method_a, method_b):
        if name not in per_case.index.get_level_values("method"):
            raise InputError(f"--compare: {name!r} has no rows with a case_id to match", fix="score with case ids")
    a, b = per_case.loc[method_a], per_case.loc[method_b]
    matched = a.index.intersection(b.index)
    out = []
    for col in columns:
        pair = pd.concat([a.loc[matched, col], b.loc[matched, col]], axis=1, keys=["a", "b"]).dropna()
        diff = (pair["a"] - pair["b"]).to_numpy()
        statistic = p_value = np.nan
        if len(diff) and np.all(diff == 0):
            statistic, p_value = 0.0, 1.0  # identical on every case: no evidence of a difference
        elif len(diff):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                res = stats.wilcoxon(pair["a"], pair["b"])
            statistic, p_value = float(res.statistic), float(res.pvalue)
        out.append(
            {
                "metric": col,
                "n": len(diff),
                f"mean {method_a}": float(pair["a"].mean()) if len(pair) else np.nan,
                f"mean {method_b}": float(pair["b"].mean()) if len(pair) else np.nan,
                "mean diff": float(diff.mean()) if len(diff) else np.nan,
                "W": statistic,
                "p": p_value,
            }
        )
    return pd.DataFrame(out)


def _versions_key(text: object) -> str:
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return "unrecorded"
    try:
        return json.dumps(json.loads(str(text)), sort_keys=True)
    except json.JSONDecodeError:
        return str(text)


def mixing_problems(results: pd.DataFrame | None, reference_bases: Sequence[str] = ()) -> list[str]:
    """Why these rows should not share a table: several base models, metric versions or reference sets."""
    problems = []
    bases: dict[str, set[str]] = {}
    if results is not None and "base_model" in results.columns:
        for method, base in zip(results["method"], results["base_model"], strict=True):
            if isinstance(base, str) and base:
                bases.setdefault(base, set()).add(str(method))
    for base in reference_bases:
        if base and base != "unknown":
            bases.setdefault(base, set()).add("paper rows")
    if len(bases) > 1:
        detail = "; ".join(f"{base}: {', '.join(sorted(who))}" for base, who in sorted(bases.items()))
        problems.append(f"rows from different base models are shown together ({detail})")
    if results is not None and "metric_versions" in results.columns and len(results):
        keys = results["metric_versions"].map(_versions_key)
        if keys.nunique() > 1:
            by_method = results.assign(_v=keys).groupby("method")["_v"].nunique()
            problems.append(
                f"rows scored with {keys.nunique()} different metric versions are shown together "
                f"(methods affected: {', '.join(sorted(by_method.index))})"
            )
    problems += _reference_set_problems(results)
    return problems


def _reference_set_problems(results: pd.DataFrame | None) -> list[str]:
    """Rows scored against the JointTuner release and against rebuilt references (or unknown ones)."""
    if results is None or "reference_set" not in results.columns or results["reference_set"].isna().all():
        return []  # tables from before jtbench recorded the references: nothing to compare
    labels = results["reference_set"].where(results["reference_set"].notna(), NOT_RECORDED_LABEL)
    if labels.nunique() <= 1 and "+" not in str(labels.iloc[0]):
        return []
    who = results.assign(_set=labels).groupby("_set")["method"].agg(lambda m: ", ".join(sorted(set(map(str, m)))))
    detail = "; ".join(f"{label}: {methods}" for label, methods in who.items())
    return [f"rows scored against different reference sets are shown together ({detail})"]
