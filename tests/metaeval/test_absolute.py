"""Absolute (Likert) ratings: grouped Kendall τ-b, pooled Spearman/Pearson, ordinal α vs scipy / krippendorff."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau, spearmanr

from jtbench.metaeval.evaluate import meta_evaluate, value
from jtbench.metaeval.join import combine_results
from jtbench.metaeval.ratings import RATING_COLUMNS, validate
from jtbench.metaeval.simulate import simulate_study


@pytest.fixture(scope="module")
def absolute():
    sim = simulate_study(cases=40, seed=6)
    results = sim.results
    rng = np.random.default_rng(0)
    rows = []
    for video in results.to_dict("records"):
        latent = (video["CLIP-I"] - 50) / 10  # CLIP-I follows appearance_fidelity's latent quality
        for rater in rng.choice([f"r{i}" for i in range(6)], size=3, replace=False):
            score = int(np.clip(np.rint(3 + latent + rng.normal(0, 0.7)), 1, 5))
            rows.append(
                dict(
                    rater_id=rater,
                    item_id=f"{video['case_id']}:{video['method']}",
                    case_id=video["case_id"],
                    seed=0,
                    dimension="appearance_fidelity",
                    kind="single",
                    method_a=video["method"],
                    video_sha256_a=video["video_sha256"],
                    score=score,
                )
            )
    ratings = validate(pd.DataFrame(rows).reindex(columns=list(RATING_COLUMNS)))
    table = combine_results([results], allow_mixed=False, names=["sim"])
    return ratings, table, meta_evaluate(ratings, table, resamples=200)


def test_grouped_kendall_and_pooled_correlations_match_scipy(absolute):
    ratings, results, result = absolute
    mean = ratings.groupby(["case_id", "method_a"])["score"].mean().rename("human").reset_index()
    merged = mean.merge(results, left_on=["case_id", "method_a"], right_on=["case_id", "method"])
    taus = [kendalltau(g["CLIP-I"], g["human"], variant="b").statistic for _, g in merged.groupby("case_id")]
    row = value(result, "CLIP-I", "appearance_fidelity", "kendall_tau_b")
    assert row["value"] == pytest.approx(np.nanmean(taus))
    assert row["ci_low"] < row["value"] < row["ci_high"]
    rho = value(result, "CLIP-I", "appearance_fidelity", "spearman")
    assert rho["value"] == pytest.approx(spearmanr(merged["CLIP-I"], merged["human"]).statistic)
    noise = value(result, "Img-Q", "appearance_fidelity", "kendall_tau_b")
    assert row["ci_low"] > noise["ci_high"]


def test_ordinal_alpha_is_krippendorffs(absolute):
    ratings, _, result = absolute
    matrix = ratings.pivot_table(index="rater_id", columns="item_id", values="score", aggfunc="first")
    expected = krippendorff.alpha(reliability_data=matrix.to_numpy(dtype=float), level_of_measurement="ordinal")
    row = value(result, "human", "appearance_fidelity", "alpha_ordinal")
    assert row["value"] == pytest.approx(expected)
    assert row["ci_low"] < row["value"] < row["ci_high"]
    ceiling = value(result, "human", "appearance_fidelity", "pearson_ceiling")
    assert 0 < ceiling["value"] < 1
