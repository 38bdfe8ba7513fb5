"""Rater checks: failed gold items, self-contradiction on repeated items, answers no better than chance.

Flagged raters are never deleted: every table is given for all raters and for the unflagged ones.
Rules (all counts per rater, over every dimension):

- ``failed_gold``: at least ``MIN_CHECKS`` gold items and more than half of them answered against
  the known worse side;
- ``self_contradiction``: at least ``MIN_CHECKS`` repeated items and more than half answered with
  the opposite strict preference (a ↔ b) of the first time;
- ``random_responder``: at least ``MIN_AGREEMENT_N`` pair judgments on units others rated too, and
  agreement with the others' pooled answer not significantly above what the rater's own answer
  frequencies would give by chance (one-sided binomial test, p >= ``RANDOM_P``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from jtbench.metaeval.join import RESPONSE_SIGN

MIN_CHECKS = 2
MIN_AGREEMENT_N = 20
RANDOM_P = 0.01


def leave_one_out_pool(pairs: pd.DataFrame) -> pd.Series:
    """Each judgment's pool: the sign of the mean answer of the *other* raters of its unit (NaN if none)."""
    grouped = pairs.groupby("unit")["h"]
    total, count = grouped.transform("sum"), grouped.transform("count")
    others = count - 1
    mean = (total - pairs["h"]) / others.where(others > 0)
    return np.sign(mean)


def _oriented(frame: pd.DataFrame) -> pd.Series:
    """Each judgment's answer (+1 / −1 / 0) for the video pair in a fixed order, keyed by
    (rater, dimension, video pair), so a repeat shown the other way round compares correctly."""

    def text(column: str) -> list[str]:
        return [str(v) for v in frame[column]]

    a = [f"{m}/{s}" for m, s in zip(text("method_a"), text("video_sha256_a"), strict=True)]
    b = [f"{m}/{s}" for m, s in zip(text("method_b"), text("video_sha256_b"), strict=True)]
    keys = [
        f"{r}|{d}|{min(x, y)}|{max(x, y)}" for r, d, x, y in zip(text("rater_id"), text("dimension"), a, b, strict=True)
    ]
    order = np.array([1.0 if x <= y else -1.0 for x, y in zip(a, b, strict=True)])
    return pd.Series(frame["response"].map(RESPONSE_SIGN).to_numpy(dtype=float) * order, index=keys)


def flag_raters(ratings: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """One row per rater: counts behind each rule and the reasons it is flagged (empty = not flagged)."""
    raters = sorted(set(ratings["rater_id"].dropna()))
    table = pd.DataFrame(index=pd.Index(raters, name="rater_id"))
    gold = ratings[ratings["kind"] == "gold"]
    table["gold_n"] = gold.groupby("rater_id").size().reindex(raters, fill_value=0)
    failed = gold["response"] != gold["gold_expected"]
    table["gold_failed"] = failed.groupby(gold["rater_id"]).sum().reindex(raters, fill_value=0)

    repeats = ratings[ratings["kind"] == "repeat"]
    originals = ratings[ratings["kind"] == "pair"]
    first = _oriented(originals).groupby(level=0).first()
    again = _oriented(repeats)
    before, rsign = first.reindex(again.index).to_numpy(), again.to_numpy()
    contradicted = (rsign * before) < 0
    table["repeat_n"] = (
        pd.Series(np.isfinite(before), index=repeats.index)
        .groupby(repeats["rater_id"])
        .sum()
        .reindex(raters, fill_value=0)
    )  # noqa: E501
    table["repeat_contradicted"] = (
        pd.Series(contradicted, index=repeats.index).groupby(repeats["rater_id"]).sum().reindex(raters, fill_value=0)
    )  # noqa: E501

    pool = leave_one_out_pool(pairs)
    scored = pairs[pool.notna()].assign(pool=pool[pool.notna()])
    agree_n, agree_k, chance_p, pvalue = [], [], [], []
    for rater in raters:
        own = scored[scored["rater_id"] == rater]
        n = len(own)
        k = int((own["h"] == own["pool"]).sum())
        own_freq = own["h"].value_counts(normalize=True)
        pool_freq = own["pool"].value_counts(normalize=True)
        chance = float(sum(own_freq.get(v, 0) * pool_freq.get(v, 0) for v in (-1.0, 0.0, 1.0))) if n else np.nan
        agree_n.append(n)
        agree_k.append(k)
        chance_p.append(chance)
        ok = n >= MIN_AGREEMENT_N and 0 < chance < 1
        pvalue.append(binomtest(k, n, chance, alternative="greater").pvalue if ok else np.nan)
    table["agreement_n"], table["agreement"] = agree_n, np.array(agree_k) / np.maximum(agree_n, 1)
    table["chance"], table["random_p"] = chance_p, pvalue

    reasons = []
    for _rater, row in table.iterrows():
        why = []
        if row.gold_n >= MIN_CHECKS and row.gold_failed > row.gold_n / 2:
            why.append(f"failed_gold ({row.gold_failed}/{row.gold_n})")
        if row.repeat_n >= MIN_CHECKS and row.repeat_contradicted > row.repeat_n / 2:
            why.append(f"self_contradiction ({row.repeat_contradicted}/{row.repeat_n})")
        if np.isfinite(row.random_p) and row.random_p >= RANDOM_P:
            why.append(
                f"random_responder (agreement {row.agreement:.2f} vs chance {row.chance:.2f}, p={row.random_p:.2g})"
            )
        reasons.append("; ".join(why))
    table["flags"] = reasons
    return table.reset_index()
