"""Small, pure statistics that no well-kept library provides, each tested against brute force.

- acc23 (Deutsch et al. 2023, "Ties Matter"): pairwise accuracy where a human tie is correct only
  when the metric also calls a tie, i.e. ``|Δ| <= ε``; ``ε`` is tuned to maximise the accuracy, as
  mt-metrics-eval's ``KendallWithTiesOpt`` does with ``sample_rate=1`` (every pair; candidates: 0 and
  every distinct ``|Δ|``; the smallest ε of the best accuracy wins).
- Bradley–Terry with ties counted as half a win for each side (FastChat's formulation), fitted by
  Hunter's MM iterations, vectorised over bootstrap resamples.
- Case-level bootstrap weights and paired sign-flip permutations, shared by every statistic so
  that intervals and tests are paired across metrics.
- Krippendorff's α from per-case coincidence matrices, so a bootstrap resample is one matrix
  product (the point value itself comes from the ``krippendorff`` package; tests check both agree).
- Significance clusters from a matrix of permutation p-values (mt-metrics-eval's rank assignment).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "acc23",
    "acc23_curve",
    "accuracy_no_ties",
    "alpha_from_coincidences",
    "bootstrap_weights",
    "bradley_terry",
    "coincidences",
    "correct_matrix",
    "percentile_interval",
    "rank_upper_bounds",
    "sign_flips",
    "significance_clusters",
    "tie_thresholds",
]

Floats = NDArray[np.float64]


# -- acc23 -------------------------------------------------------------------------------------
def tie_thresholds(delta: ArrayLike, limit: int | None = None) -> Floats:
    """Candidate ε: 0 and every distinct ``|Δ|`` (at most ``limit`` of them, spread by quantile)."""
    values = np.unique(np.concatenate([[0.0], np.abs(np.asarray(delta, dtype=float))]))
    values = values[np.isfinite(values)]
    if limit is not None and len(values) > limit:
        picks = np.unique(np.round(np.linspace(0, len(values) - 1, limit)).astype(int))
        values = values[picks]
    return values


def correct_matrix(human: ArrayLike, delta: ArrayLike, thresholds: ArrayLike) -> NDArray[np.bool_]:
    """``[judgment, threshold]``: is the metric right about this judgment at this ε?

    ``human`` is +1 (a better), -1 (b better) or 0 (tie); ``delta`` = metric(a) − metric(b).
    The metric calls a tie when ``|Δ| <= ε``, else the sign of Δ.
    """
    h = np.asarray(human, dtype=float)[:, None]
    d = np.asarray(delta, dtype=float)[:, None]
    eps = np.asarray(thresholds, dtype=float)[None, :]
    metric = np.where(np.abs(d) <= eps, 0.0, np.sign(d))
    return metric == h


def acc23_curve(human: ArrayLike, delta: ArrayLike, thresholds: ArrayLike) -> Floats:
    """acc23 at each ε of ``thresholds``."""
    correct = correct_matrix(human, delta, thresholds)
    return correct.mean(axis=0) if len(correct) else np.full(correct.shape[1], np.nan)


def acc23(human: ArrayLike, delta: ArrayLike, epsilon: float | None = None) -> tuple[float, float]:
    """``(accuracy, ε)``: acc23 at ``epsilon``, or at the tuned ε (the smallest of the best)."""
    human, delta = np.asarray(human, dtype=float), np.asarray(delta, dtype=float)
    if len(human) == 0:
        return float("nan"), float("nan")
    if epsilon is not None:
        return float(acc23_curve(human, delta, [epsilon])[0]), float(epsilon)
    thresholds = tie_thresholds(delta)
    curve = _sorted_curve(human, delta, thresholds)
    best = int(np.argmax(curve))
    return float(curve[best]), float(thresholds[best])


def _sorted_curve(human: Floats, delta: Floats, thresholds: Floats) -> Floats:
    """acc23 at every ε in O(n log n): strict judgments are right while ε < |Δ|, ties once ε >= |Δ|."""
    magnitude = np.abs(delta)
    strict_right = (human != 0) & (np.sign(delta) == human)
    counts = np.zeros(len(thresholds) + 1)
    counts[0] += strict_right.sum()  # right while ε < |Δ|: indices [0, searchsorted(|Δ|))
    np.add.at(counts, np.searchsorted(thresholds, magnitude[strict_right], side="left"), -1.0)
    np.add.at(counts, np.searchsorted(thresholds, magnitude[human == 0], side="left"), 1.0)  # ε >= |Δ|
    return np.cumsum(counts)[:-1] / len(human)


def accuracy_no_ties(human: ArrayLike, delta: ArrayLike) -> float:
    """Accuracy on the judgments where the human did not tie; a metric tie (Δ = 0) counts as wrong."""
    h, d = np.asarray(human, dtype=float), np.asarray(delta, dtype=float)
    keep = h != 0
    return float(np.mean(np.sign(d[keep]) == h[keep])) if keep.any() else float("nan")


# -- resampling -------------------------------------------------------------------------------
def bootstrap_weights(n_cases: int, resamples: int, seed: int) -> Floats:
    """``[resample, case]``: how often each case is drawn (multinomial, the same for every metric)."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_cases, size=(resamples, n_cases))
    weights = np.zeros((resamples, n_cases))
    np.add.at(weights, (np.repeat(np.arange(resamples), n_cases), draws.ravel()), 1.0)
    return weights


def sign_flips(n_cases: int, permutations: int, seed: int) -> Floats:
    """``[permutation, case]`` in {0, 1}: 1 = swap the two metrics' values for this case."""
    return np.random.default_rng(seed).integers(0, 2, size=(permutations, n_cases)).astype(float)


def percentile_interval(samples: ArrayLike, level: float = 0.95) -> tuple[float, float]:
    """The percentile bootstrap interval, ignoring resamples where the statistic was undefined."""
    values = np.asarray(samples, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return float("nan"), float("nan")
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return float(low), float(high)


# -- Bradley–Terry --------------------------------------------------------------------------------
def bradley_terry(wins: ArrayLike, *, iterations: int = 2000, tol: float = 1e-10) -> Floats:
    """Log-strengths (mean 0) from ``wins[..., i, j]`` = times i beat j (a tie adds 0.5 to both).

    Hunter's MM update ``p_i ← W_i / Σ_j n_ij / (p_i + p_j)``; leading axes are independent problems
    (bootstrap resamples). A player with no comparisons gets NaN; one that never won or never lost
    has no finite maximum (a tiny prior of 0.01 wins against every other keeps it finite and last/first).
    """
    w = np.asarray(wins, dtype=float)
    n = w + np.swapaxes(w, -1, -2)
    played = n.sum(axis=-1) > 0
    prior = 0.01 * (n > 0)
    w = w + prior
    n = n + 2 * prior
    total = w.sum(axis=-1)
    p = np.ones(w.shape[:-1])
    for _ in range(iterations):
        denom = (n / (p[..., :, None] + p[..., None, :])).sum(axis=-1)
        new = np.where(played, total / np.where(denom > 0, denom, 1.0), 1.0)
        logs = np.log(np.where(played, new, 1.0))
        new = new / np.exp(logs.sum(axis=-1, keepdims=True) / np.maximum(played.sum(axis=-1, keepdims=True), 1))
        if np.max(np.abs(np.log(new) - np.log(p))) < tol:
            p = new
            break
        p = new
    beta = np.log(p)
    beta = np.where(played, beta, np.nan)
    return beta - np.nanmean(beta, axis=-1, keepdims=True)


def rank_upper_bounds(low: ArrayLike, high: ArrayLike) -> NDArray[np.int64]:
    """Rank (UB) as Chatbot Arena: 1 + how many others' lower bound exceeds this one's upper bound."""
    lo, hi = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    return 1 + (lo[None, :] > hi[:, None]).sum(axis=1)


# -- Krippendorff's alpha -------------------------------------------------------------------------
def coincidences(units: ArrayLike, values: ArrayLike, n_values: int) -> Floats:
    """``[unit, v, v']``: Krippendorff's coincidence counts of each unit (pairable values only).

    ``values`` are integer codes 0..n_values-1 (one per judgment), ``units`` the unit of each.
    """
    units = np.asarray(units)
    codes = np.asarray(values, dtype=int)
    _, unit_index = np.unique(units, return_inverse=True)
    counts = np.zeros((unit_index.max() + 1 if len(unit_index) else 0, n_values))
    np.add.at(counts, (unit_index, codes), 1.0)
    m = counts.sum(axis=1)
    outer = counts[:, :, None] * counts[:, None, :] - counts[:, :, None] * np.eye(n_values)[None]
    scale = np.where(m > 1, 1.0 / np.maximum(m - 1, 1), 0.0)
    return outer * scale[:, None, None]


def _delta_squared(marginals: Floats, level: str) -> Floats:
    """``[..., v, v']`` distance of each value pair (nominal, ordinal or interval on codes)."""
    k = marginals.shape[-1]
    codes = np.arange(k, dtype=float)
    if level == "nominal":
        return np.broadcast_to(1.0 - np.eye(k), (*marginals.shape[:-1], k, k)).copy()
    if level == "interval":
        return np.broadcast_to((codes[:, None] - codes[None, :]) ** 2, (*marginals.shape[:-1], k, k)).copy()
    if level == "ordinal":
        cum = np.cumsum(marginals, axis=-1)
        low, high = np.minimum.outer(codes, codes).astype(int), np.maximum.outer(codes, codes).astype(int)
        below = np.where(low > 0, np.take(cum, np.maximum(low - 1, 0), axis=-1), 0.0)
        between = np.take(cum, high, axis=-1) - below
        ends = (np.take(marginals, low, axis=-1) + np.take(marginals, high, axis=-1)) / 2.0
        return (between - ends) ** 2
    raise ValueError(f"unknown level of measurement {level!r}")


def alpha_from_coincidences(matrix: ArrayLike, level: str = "nominal") -> Floats:
    """α = 1 − (n − 1) Σ o δ² / Σ n_v n_v' δ² for each ``[..., v, v']`` coincidence matrix."""
    o = np.asarray(matrix, dtype=float)
    marginals = o.sum(axis=-1)
    n = marginals.sum(axis=-1)
    d2 = _delta_squared(marginals, level)
    observed = (o * d2).sum(axis=(-1, -2))
    expected = (marginals[..., :, None] * marginals[..., None, :] * d2).sum(axis=(-1, -2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(expected > 0, 1.0 - (n - 1.0) * observed / expected, np.nan)


# -- significance clusters ------------------------------------------------------------------------
def significance_clusters(scores: ArrayLike, pvalues: ArrayLike, level: float = 0.05) -> NDArray[np.int64]:
    """Cluster number (1 = best) per metric; a new cluster starts at the first metric (in score
    order) that is significantly worse than some metric of the current cluster."""
    s = np.asarray(scores, dtype=float)
    p = np.asarray(pvalues, dtype=float)
    order = [i for i in np.argsort(-np.nan_to_num(s, nan=-np.inf), kind="stable")]
    clusters = np.zeros(len(s), dtype=np.int64)
    current, start = 1, 0
    for position, i in enumerate(order):
        if np.isnan(s[i]):
            clusters[i] = 0
            continue
        if any(p[j, i] < level for j in order[start:position]):
            current, start = current + 1, position
        clusters[i] = current
    return clusters
