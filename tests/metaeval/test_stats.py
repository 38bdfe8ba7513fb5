"""metaeval.stats against brute force, hand-computed cases and published reference values."""

from __future__ import annotations

import itertools

import krippendorff
import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.stats import kendalltau

from jtbench.metaeval import stats

NAN = np.nan
# krippendorff's published examples (its docstring / fast-krippendorff tests; Krippendorff 2011 p. 8)
KRIPP_A = [
    [NAN, NAN, NAN, NAN, NAN, 3, 4, 1, 2, 1, 1, 3, 3, NAN, 3],
    [1, NAN, 2, 1, 3, 3, 4, 3, NAN, NAN, NAN, NAN, NAN, NAN, NAN],
    [NAN, NAN, 2, 1, 3, 4, 4, NAN, 2, 1, 1, 3, 3, NAN, 4],
]
KRIPP_B = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]


def brute_acc23(human, delta, eps):
    right = 0
    for h, d in zip(human, delta, strict=True):
        call = 0 if abs(d) <= eps else (1 if d > 0 else -1)
        right += call == h
    return right / len(human)


def test_acc23_equals_brute_force_with_ties_at_every_threshold():
    rng = np.random.default_rng(0)
    human = rng.choice([-1, 0, 1], size=60)
    delta = np.round(rng.normal(size=60), 1)  # rounded: many tied |Δ| and exact zeros
    delta[:5] = 0.0
    thresholds = stats.tie_thresholds(delta)
    brute = [brute_acc23(human, delta, e) for e in thresholds]
    np.testing.assert_allclose(stats.acc23_curve(human, delta, thresholds), brute)
    np.testing.assert_allclose(stats._sorted_curve(human.astype(float), delta, thresholds), brute)
    best, eps = stats.acc23(human, delta)
    assert best == pytest.approx(max(brute))
    assert eps == thresholds[int(np.argmax(brute))]
    # no finer threshold can do better: a brute sweep over a fine grid never beats the tuned value
    grid = np.linspace(0, np.abs(delta).max() + 0.1, 500)
    assert max(brute_acc23(human, delta, e) for e in grid) <= best + 1e-12


def test_acc23_hand_computed():
    human = [1, 1, 0, 0, 1]
    delta = [0.5, 0.2, 0.1, 0.4, -0.3]
    # right at ε = 0: #1, #2 (2/5); 0.1: #1-#3 (3/5); 0.2, 0.3: #1, #3; 0.4: #1, #3, #4 (3/5); 0.5: #3, #4
    assert stats.acc23(human, delta, epsilon=0.0)[0] == pytest.approx(0.4)
    assert stats.acc23(human, delta) == (pytest.approx(0.6), 0.1)
    assert stats.accuracy_no_ties(human, delta) == pytest.approx(2 / 3)
    assert np.isnan(stats.acc23([], [])[0])


def test_kendall_tau_b_is_scipys_with_ties():
    x = [1, 2, 2, 3, 4, 4, 5]
    y = [2, 1, 3, 3, 5, 4, 4]
    tau = kendalltau(x, y, variant="b").statistic
    # by hand: concordant/discordant/tied counts over the 21 pairs
    c = d = tx = ty = 0
    for i, j in itertools.combinations(range(7), 2):
        sx, sy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        if sx == 0 and sy == 0:
            continue
        tx += sx == 0
        ty += sy == 0
        c += sx * sy > 0
        d += sx * sy < 0
    assert tau == pytest.approx((c - d) / np.sqrt((c + d + tx) * (c + d + ty)))


def test_bradley_terry_hand_cases_and_likelihood():
    # two players, 3 wins, 1 loss, 2 ties -> 4 vs 2 -> log-odds log 2
    wins = np.array([[0, 3 + 1.0], [1 + 1.0, 0]])
    beta = stats.bradley_terry(wins)
    assert beta[0] - beta[1] == pytest.approx(np.log(4.01 / 2.01), abs=1e-8)  # with the 0.01 pseudo-wins
    assert beta[0] - beta[1] == pytest.approx(np.log(2), abs=3e-3)
    rng = np.random.default_rng(1)
    w = rng.integers(1, 20, size=(4, 4)).astype(float) + rng.integers(0, 3, size=(4, 4)) * 0.5
    np.fill_diagonal(w, 0)
    beta = stats.bradley_terry(w, iterations=20000, tol=1e-13)

    with_prior = w + 0.01 * (1 - np.eye(4))  # the fit's 0.01 pseudo-wins per pair

    def nll(b):  # the BT log-likelihood, maximised directly
        return (with_prior * np.logaddexp(0, -(b[:, None] - b[None, :]))).sum()

    direct = minimize(nll, np.zeros(4), method="BFGS", options={"gtol": 1e-10}).x
    np.testing.assert_allclose(beta, direct - direct.mean(), atol=1e-5)
    stacked = stats.bradley_terry(np.stack([w, w.T]))  # resamples are independent problems
    np.testing.assert_allclose(stacked[0], beta, atol=1e-6)
    np.testing.assert_allclose(stacked[1], -beta, atol=1e-6)


def test_rank_upper_bound():
    low, high = np.array([3.0, 1.0, 0.5, -2.0]), np.array([4.0, 3.5, 2.0, -1.0])
    assert stats.rank_upper_bounds(low, high).tolist() == [1, 1, 2, 4]


@pytest.mark.parametrize(
    ("data", "level", "expected", "digits"),
    [
        (KRIPP_A, "nominal", 0.691358, 6),
        (KRIPP_A, "interval", 0.810845, 6),
        (KRIPP_B, "ordinal", 0.815, 3),
    ],
)
def test_alpha_from_coincidences_matches_the_published_values(data, level, expected, digits):
    matrix = np.asarray(data, dtype=float)
    assert round(float(krippendorff.alpha(reliability_data=matrix, level_of_measurement=level)), digits) == expected
    domain = np.unique(matrix[~np.isnan(matrix)])
    raters, units = np.nonzero(~np.isnan(matrix))
    codes = np.searchsorted(domain, matrix[raters, units])
    o = stats.coincidences(units, codes, len(domain)).sum(axis=0)
    if level == "interval":  # our interval distance is on codes; this example's values are 1..4 = codes + 1
        assert np.array_equal(domain, np.arange(1, 5))
    assert round(float(stats.alpha_from_coincidences(o, level)), digits) == expected


def test_bootstrap_weights_and_intervals():
    w = stats.bootstrap_weights(10, 200, seed=3)
    assert w.shape == (200, 10) and np.all(w.sum(axis=1) == 10)
    assert np.array_equal(w, stats.bootstrap_weights(10, 200, seed=3))
    assert stats.percentile_interval([NAN, 1.0, 2.0, 3.0], 0.5) == pytest.approx((1.5, 2.5))


def test_significance_clusters():
    scores = np.array([0.9, 0.88, 0.7, 0.69, NAN])
    p = np.ones((5, 5))
    p[0, 2] = p[1, 2] = p[0, 3] = p[1, 3] = 0.001
    assert stats.significance_clusters(scores, p).tolist() == [1, 1, 2, 2, 0]
    p[1, 2] = 0.5
    p[0, 2] = 0.5  # metric 2 not separable from the top -> same cluster; 3 is worse than 0 -> new one
    assert stats.significance_clusters(scores, p).tolist() == [1, 1, 1, 2, 0]
