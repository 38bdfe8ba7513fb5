"""Join judgments to results tables by (method, video_sha256); orient every pair the same way.

Rows whose videos are not in the results are listed and left out (never silently): the caller
writes them to ``unmatched_ratings.csv`` with the count. Converted VBench / FastChat rows have no
digest and join by (method, case_id), or (method, prompt), where that names exactly one video.
Metrics where lower is better (ARS) are negated here, so every statistic reads "higher = better".
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from jtbench.errors import InputError
from jtbench.io.tables import metric_columns
from jtbench.metrics.base import PAPER_COLUMNS
from jtbench.report.composites import COMPOSITES, LOWER_IS_BETTER, CompositeWarning, add_composites

RESPONSE_SIGN = {"a": 1.0, "b": -1.0, "tie": 0.0, "both_bad": 0.0}


@dataclass
class Joined:
    """Everything the statistics need, as flat arrays over judgments."""

    metrics: list[str]
    values: np.ndarray  # [results row, metric], higher = better
    results: pd.DataFrame
    pairs: pd.DataFrame  # pair judgments: case, unit, rater_id, dimension, h, left_is_a, row_a, row_b
    singles: pd.DataFrame  # absolute judgments: case, unit, rater_id, dimension, score, row
    checks: pd.DataFrame  # gold and repeat rows (rater flags only)
    unmatched: pd.DataFrame = field(default_factory=pd.DataFrame)


def combine_results(tables: list[pd.DataFrame], *, allow_mixed: bool, names: list[str]) -> pd.DataFrame:
    """One table from several; mixed backbones or metric versions are refused unless ``allow_mixed``."""
    df = pd.concat(tables, ignore_index=True).drop_duplicates(subset=["method", "video_sha256"], keep="last")
    if not allow_mixed:
        backbones = sorted(set(df["backbones"].dropna()))
        if len(backbones) > 1:
            raise InputError(
                f"results mix backbones {backbones}",
                file=", ".join(names),
                fix="score every video with the same backbones, or pass --allow-mixed",
            )
        versions: dict[str, set[str]] = {}
        for text in df["metric_versions"].dropna():
            for name, version in json.loads(text).items():
                versions.setdefault(name, set()).add(str(version))
        mixed = {name: sorted(v) for name, v in versions.items() if len(v) > 1}
        if mixed:
            raise InputError(
                f"results mix metric versions {mixed}",
                file=", ".join(names),
                fix="re-score with one jtbench version, or pass --allow-mixed",
            )
    df = df.reset_index(drop=True)
    if all(c in df.columns for c in PAPER_COLUMNS) and "case_id" in df.columns:
        with warnings.catch_warnings():  # a composite undefined in some case is NaN there, as in reports
            warnings.simplefilter("ignore", CompositeWarning)
            df = add_composites(df, group_by=["case_id", "seed"])  # per-video ARS/NAS/AAS among one case's methods
    return df


def case_keys(case_ids, seeds) -> np.ndarray:
    """One bootstrap unit per (case_id, seed): the same text for ratings and results rows."""

    def seed(s) -> str:
        return "" if s is None or pd.isna(s) else str(int(s))

    return np.array([f"{c}#{seed(s)}" for c, s in zip(case_ids, seeds, strict=True)], dtype=object)


def _lookup(results: pd.DataFrame) -> tuple[dict, dict]:
    by_sha = {(m, s): i for i, (m, s) in enumerate(zip(results["method"], results["video_sha256"], strict=True))}
    by_case: dict[tuple, list[int]] = {}
    for i, row in enumerate(results[["method", "case_id", "prompt"]].itertuples(index=False)):
        for key in {row.case_id, row.prompt} - {None}:
            by_case.setdefault((row.method, key), []).append(i)
    return by_sha, {k: v[0] for k, v in by_case.items() if len(v) == 1}


def _row(method, sha, case, by_sha, by_case) -> int:
    if isinstance(sha, str) and sha:
        return by_sha.get((method, sha), -1)
    return by_case.get((method, case), -1)


def join(ratings: pd.DataFrame, results: pd.DataFrame) -> Joined:
    """Split ratings into pair / absolute / check judgments joined to ``results`` rows."""
    metrics = [c for c in metric_columns(results) if c not in ("seed",)]
    metrics = [c for c in COMPOSITES if c in results.columns] + [c for c in metrics if c not in COMPOSITES]
    values = results[metrics].to_numpy(dtype=float).copy()
    for j, name in enumerate(metrics):
        if name in LOWER_IS_BETTER:
            values[:, j] = -values[:, j]
    by_sha, by_case = _lookup(results)
    r = ratings
    row_a = np.array(
        [
            _row(m, s, c, by_sha, by_case)
            for m, s, c in zip(r["method_a"], r["video_sha256_a"], r["case_id"], strict=True)
        ],
        dtype=int,
    )  # noqa: E501
    row_b = np.array(
        [
            _row(m, s, c, by_sha, by_case)
            for m, s, c in zip(r["method_b"], r["video_sha256_b"], r["case_id"], strict=True)
        ],
        dtype=int,
    )  # noqa: E501
    case = pd.Series(case_keys(r["case_id"], r["seed"]), index=r.index)
    checks = r[r["kind"].isin(["gold", "repeat"])]
    is_pair, is_single = (r["kind"] == "pair").to_numpy(), (r["kind"] == "single").to_numpy()
    missing = (is_pair & ((row_a < 0) | (row_b < 0))) | (is_single & (row_a < 0))
    unmatched = r.loc[
        missing, ["rater_id", "item_id", "dimension", "method_a", "video_sha256_a", "method_b", "video_sha256_b"]
    ]

    keep = is_pair & ~missing
    h = r["response"].map(RESPONSE_SIGN).to_numpy(dtype=float)
    a, b = row_a[keep], row_b[keep]
    flip = a > b  # one orientation per unit: the lower results row first
    pairs = pd.DataFrame(
        {
            "case": case[keep].to_numpy(),
            "rater_id": r["rater_id"][keep].to_numpy(),
            "dimension": r["dimension"][keep].to_numpy(),
            "h": np.where(flip, -h[keep], h[keep]),
            "left_is_a": (r["position_a"][keep] == "left").to_numpy(),
            "chose_a": (r["response"][keep] == "a").to_numpy(),
            "strict": r["response"][keep].isin(["a", "b"]).to_numpy(),
            "has_position": r["position_a"][keep].notna().to_numpy(),
            "row_a": np.where(flip, b, a),
            "row_b": np.where(flip, a, b),
        }
    )
    pairs["unit"] = pairs["dimension"] + "|" + pairs["row_a"].astype(str) + "|" + pairs["row_b"].astype(str)
    single = is_single & ~missing
    singles = pd.DataFrame(
        {
            "case": case[single].to_numpy(),
            "rater_id": r["rater_id"][single].to_numpy(),
            "dimension": r["dimension"][single].to_numpy(),
            "score": r["score"][single].to_numpy(dtype=float),
            "row": row_a[single],
        }
    )
    singles["unit"] = singles["dimension"] + "|" + singles["row"].astype(str)
    return Joined(metrics, values, results, pairs, singles, checks, unmatched)
