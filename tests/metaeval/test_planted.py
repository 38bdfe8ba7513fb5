"""Planted truth: a simulated study whose answers are known (jtbench.metaeval.simulate)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jtbench.errors import InputError
from jtbench.metaeval.evaluate import meta_evaluate, value
from jtbench.metaeval.join import combine_results
from jtbench.metaeval.ratings import validate
from jtbench.metaeval.report import build_tables
from jtbench.metaeval.simulate import simulate_study


@pytest.fixture(scope="module")
def study():
    sim = simulate_study(cases=80, raters=8, random_raters=1, noise=0.2, seed=3)
    results = combine_results([sim.results], allow_mixed=False, names=["sim"])
    return sim, meta_evaluate(validate(sim.ratings), results, resamples=300, seed=0)


def test_follower_beats_noise_with_separate_intervals(study):
    sim, result = study
    for dimension, follower in sim.followers.items():
        good = value(result, follower, dimension, "acc23", "unflagged")
        noise = value(result, sim.noise_metric, dimension, "acc23", "unflagged")
        assert good["value"] > noise["value"]
        assert good["ci_low"] > noise["ci_high"], (dimension, good.to_dict(), noise.to_dict())
        assert good["ci_low"] <= good["value"] <= good["ci_high"]
        assert value(result, follower, dimension, "cluster", "unflagged")["value"] == 1
        assert value(result, sim.noise_metric, dimension, "cluster", "unflagged")["value"] > 1


def test_alpha_recovers_the_planted_noise_level(study):
    sim, result = study
    for dimension, planted in sim.planted_alpha.items():
        alpha = value(result, "human", dimension, "alpha_nominal", "unflagged")
        assert alpha["ci_low"] <= planted <= alpha["ci_high"], (dimension, planted, alpha.to_dict())
        # the random rater drags α down: with it the estimate is lower
        assert value(result, "human", dimension, "alpha_nominal", "all")["value"] < alpha["value"]


def test_bradley_terry_recovers_the_planted_order(study):
    sim, result = study
    for dimension in sim.followers:
        strengths = {
            m: value(result, "human", dimension, f"bt_strength[{m}]", "unflagged")["value"] for m in sim.methods
        }
        assert sorted(strengths, key=strengths.get, reverse=True) == sim.methods
        assert value(result, "human", dimension, f"rank_ub[{sim.methods[0]}]", "unflagged")["value"] == 1
    assert any("only 4 methods" in w for w in result.warnings)


def test_random_rater_is_flagged_and_honest_ones_are_not(study):
    sim, result = study
    flags = result.flags.set_index("rater_id")["flags"]
    assert all(flags[r] for r in sim.random_raters)
    assert "random_responder" in flags[sim.random_raters[0]]
    assert not any(flags[r] for r in flags.index if r not in sim.random_raters)
    assert set(result.table["raters"]) == {"all", "unflagged"}


def test_human_ceiling_leaves_the_rater_out(study):
    sim, result = study
    # with a pool that held the rater itself, 2-rating units would always agree; leave-one-out cannot
    ceiling = value(result, "human", "overall", "human_ceiling", "unflagged")
    assert 0.4 < ceiling["value"] < 0.95
    follower = value(result, sim.followers["overall"], "overall", "acc23_vs_pool", "unflagged")
    assert follower["n"] == ceiling["n"]  # the metric is scored against the same pools


def test_too_few_judgments_give_nan_and_a_note():
    sim = simulate_study(cases=2, raters=4, random_raters=0, golds_per_rater=0, repeats_per_rater=0, seed=1)
    results = combine_results([sim.results], allow_mixed=False, names=["sim"])
    result = meta_evaluate(validate(sim.ratings), results, resamples=20)
    row = value(result, "CLIP-I", "appearance_fidelity", "acc23")
    assert np.isnan(row["value"]) and "too few" in row["note"]
    # the report keeps the metric's row, with "–" and the reason, rather than an empty table
    table = next(t for t in build_tables(result, tiny=False) if t.key == "pairwise-appearance_fidelity-all")
    clip_i = table.frame.set_index("metric").loc["CLIP-I"]
    assert clip_i["acc23"] == "–" and "too few" in clip_i["note"]


def test_unmatched_ratings_are_listed_and_left_out():
    sim = simulate_study(cases=12, raters=4, random_raters=0, seed=2)
    ratings = validate(sim.ratings)
    ratings.loc[ratings.index[:5], "video_sha256_a"] = "0" * 64
    results = combine_results([sim.results], allow_mixed=False, names=["sim"])
    result = meta_evaluate(ratings, results, resamples=20)
    assert len(result.unmatched) == 5
    assert any("5 judgment(s)" in w for w in result.warnings)
    pairs = (ratings["kind"] == "pair").sum()
    assert value(result, "CLIP-I", "appearance_fidelity", "acc23")["n"] < pairs / 4


def test_mixed_backbones_or_versions_are_refused_unless_allowed():
    sim = simulate_study(cases=4, seed=0)
    other = sim.results.copy()
    other["method"] = other["method"] + "-x"
    other["backbones"] = "tiny"
    with pytest.raises(InputError, match="mix backbones"):
        combine_results([sim.results, other], allow_mixed=False, names=["a", "b"])
    other["backbones"] = sim.results["backbones"]
    other["metric_versions"] = '{"sim": "2"}'
    with pytest.raises(InputError, match="mix metric versions"):
        combine_results([sim.results, other], allow_mixed=False, names=["a", "b"])
    assert len(combine_results([sim.results, other], allow_mixed=True, names=["a", "b"])) == 2 * len(sim.results)


def test_position_bias_is_measured():
    sim = simulate_study(cases=30, raters=6, random_raters=0, seed=4)
    ratings = validate(sim.ratings)
    strict = ratings["response"].isin(["a", "b"]) & (ratings["kind"] == "pair")
    # a rater who always picks the left video: rewrite responses to the left side
    ratings.loc[strict, "response"] = np.where(ratings.loc[strict, "position_a"] == "left", "a", "b")
    results = combine_results([sim.results], allow_mixed=False, names=["sim"])
    result = meta_evaluate(ratings, results, resamples=50)
    assert value(result, "human", "overall", "position_left_rate")["value"] == pytest.approx(1.0)
    unbiased = meta_evaluate(validate(sim.ratings), results, resamples=50)
    row = value(unbiased, "human", "overall", "position_left_rate")
    assert row["ci_low"] <= 0.5 <= row["ci_high"]
    assert isinstance(result.table, pd.DataFrame)
