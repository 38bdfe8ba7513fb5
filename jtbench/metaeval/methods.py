"""Method level and bias diagnostics: Bradley–Terry from people, metric accuracy on method pairs,
disagreement against the Dyn-Deg difference (the static-video question), rater position bias."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from jtbench.metaeval import stats
from jtbench.metaeval.agreement import HUMAN, MIN_JUDGMENTS, Resampler, Settings, Stat, interval

DYN_DEG = "Dyn-Deg"


def too_few_methods(n_methods: int) -> str | None:
    """A warning when a perfect method ranking could happen by chance with p > 0.01 (n! < 100)."""
    if n_methods < 2 or math.factorial(n_methods) >= 100:
        return None
    return (
        f"only {n_methods} methods: {math.factorial(n_methods)} possible rankings, so even a perfect method-level "
        f"agreement has p = 1/{math.factorial(n_methods)} = {1 / math.factorial(n_methods):.3f}; "
        "method-level numbers are nearly uninformative"
    )


def method_level(
    pairs: pd.DataFrame,
    results: pd.DataFrame,
    values: np.ndarray,
    metrics: list[str],
    dimension: str,
    settings: Settings,
) -> tuple[list[Stat], str | None]:
    """BT strengths (+ intervals, rank UB) and each metric's accuracy on the method pairs."""
    methods_of_row = results["method"].to_numpy()
    ma, mb = methods_of_row[pairs["row_a"].to_numpy()], methods_of_row[pairs["row_b"].to_numpy()]
    names = sorted(set(ma) | set(mb))
    warning = too_few_methods(len(names))
    if len(pairs) < MIN_JUDGMENTS or len(names) < 2:
        return [Stat(HUMAN, dimension, "bt_strength", np.nan, n=len(pairs), note="too few judgments")], warning
    index = {m: i for i, m in enumerate(names)}
    ia, ib = np.array([index[m] for m in ma]), np.array([index[m] for m in mb])
    rs = Resampler(pairs["case"].to_numpy(), settings)
    level = settings.level
    h = pairs["h"].to_numpy()
    k = len(names)
    per_judgment = np.zeros((len(pairs), k * k))
    win_a, win_b = (h > 0) + 0.5 * (h == 0), (h < 0) + 0.5 * (h == 0)
    np.add.at(per_judgment, (np.arange(len(pairs)), ia * k + ib), win_a)
    np.add.at(per_judgment, (np.arange(len(pairs)), ib * k + ia), win_b)
    per_case = rs.per_case(per_judgment)
    beta = stats.bradley_terry(per_case.sum(axis=0).reshape(k, k))
    boot = stats.bradley_terry((rs.weights @ per_case).reshape(-1, k, k))
    bounds = np.array([stats.percentile_interval(boot[:, i], level) for i in range(k)])
    rank_ub = stats.rank_upper_bounds(bounds[:, 0], bounds[:, 1])
    test = f"Bradley-Terry (tie = half a win each), bootstrap over {rs.n_cases} cases"
    out = []
    for i, name in enumerate(names):
        out.append(
            Stat(
                HUMAN,
                dimension,
                f"bt_strength[{name}]",
                float(beta[i]),
                *bounds[i],
                len(pairs),
                test,
                "log-strength, mean 0",
            )
        )
        out.append(Stat(HUMAN, dimension, f"rank_ub[{name}]", float(rank_ub[i]), n=len(pairs), test=test))
    # each metric's accuracy on the method pairs, against the BT order (both resampled together)
    # the rated videos, each in the case it was rated in
    rows, first = np.unique(np.r_[pairs["row_a"].to_numpy(), pairs["row_b"].to_numpy()], return_index=True)
    row_case = np.r_[rs.codes, rs.codes][first]
    row_method = np.array([index[m] for m in methods_of_row[rows]], dtype=int)
    upper = np.triu_indices(k, 1)
    human_sign = np.sign(beta[:, None] - beta[None, :])[upper]
    boot_sign = np.sign(boot[:, :, None] - boot[:, None, :])[:, upper[0], upper[1]]
    for j, metric in enumerate(metrics):
        v = values[rows, j]
        ok = np.isfinite(v)
        sums, counts = np.zeros((rs.n_cases, k)), np.zeros((rs.n_cases, k))
        np.add.at(sums, (row_case[ok], row_method[ok]), v[ok])
        np.add.at(counts, (row_case[ok], row_method[ok]), 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums.sum(0) / counts.sum(0)
            boot_means = (rs.weights @ sums) / (rs.weights @ counts)
        point = float(np.mean(np.sign(means[:, None] - means[None, :])[upper] == human_sign))
        reps = np.mean(
            np.sign(boot_means[:, :, None] - boot_means[:, None, :])[:, upper[0], upper[1]] == boot_sign, axis=1
        )
        out.append(
            Stat(
                metric,
                dimension,
                "method_pair_accuracy",
                point,
                *interval(point, reps, level),
                len(upper[0]),
                f"sign of the metric's method means vs the BT order over {len(upper[0])} method pairs; "
                f"bootstrap over {rs.n_cases} cases",
                warning or "",
            )
        )
    return out, warning


def dyn_deg_bias(
    pairs: pd.DataFrame,
    values: np.ndarray,
    metrics: list[str],
    dimension: str,
    settings: Settings,
    bins: int = 5,
) -> tuple[list[Stat], pd.DataFrame]:
    """Where a metric and the people disagree, against Dyn-Deg(preferred) − Dyn-Deg(other).

    Statistic: the metric's disagreement rate on strict judgments where people preferred the *more*
    dynamic video minus the rate where they preferred the *less* dynamic one. Positive = the metric
    sides with the more static video against people (the static-video bias the paper describes).
    """
    name = "disagreement_gap_dyndeg"
    if DYN_DEG not in metrics:
        return [
            Stat(m, dimension, name, np.nan, note="no Dyn-Deg column in the results") for m in metrics
        ], pd.DataFrame()
    strict = pairs[pairs["h"] != 0].reset_index(drop=True)
    d = metrics.index(DYN_DEG)
    rows_a, rows_b = strict["row_a"].to_numpy(), strict["row_b"].to_numpy()
    h = strict["h"].to_numpy()
    gap = h * (values[rows_a, d] - values[rows_b, d])
    more, less = (gap > 0).astype(float), (gap < 0).astype(float)
    if min(more.sum(), less.sum()) < MIN_JUDGMENTS // 2:
        note = "too few strict judgments on each side of the Dyn-Deg gap"
        return [Stat(m, dimension, name, np.nan, n=len(strict), note=note) for m in metrics], pd.DataFrame()
    rs = Resampler(strict["case"].to_numpy(), settings)
    level = settings.level
    others = [j for j in range(len(metrics)) if j != d]
    delta = values[rows_a][:, others] - values[rows_b][:, others]
    disagree = (np.sign(delta) == -h[:, None]).astype(float)
    finite = np.isfinite(delta).astype(float)
    sums = [
        rs.per_case(x)
        for x in (
            disagree * finite * more[:, None],
            finite * more[:, None],
            disagree * finite * less[:, None],
            finite * less[:, None],
        )
    ]
    with np.errstate(invalid="ignore", divide="ignore"):
        point = sums[0].sum(0) / sums[1].sum(0) - sums[2].sum(0) / sums[3].sum(0)
        boot = [rs.weights @ x for x in sums]
        reps = boot[0] / boot[1] - boot[2] / boot[3]
    test = f"difference of disagreement rates; bootstrap over {rs.n_cases} cases"
    out = [
        Stat(
            metrics[j],
            dimension,
            name,
            float(point[i]),
            *interval(point[i], reps[:, i], level),
            len(strict),
            test,
            "positive: sides with the more static video against people",
        )
        for i, j in enumerate(others)
    ]
    edges = np.unique(np.quantile(gap, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, gap, side="right") - 1, 0, len(edges) - 2)
    curves = [
        dict(
            metric=metrics[j],
            dimension=dimension,
            gap=float(gap[which == b].mean()),
            disagreement=float(disagree[which == b, i].mean()),
            n=int((which == b).sum()),
        )
        for i, j in enumerate(others)
        for b in range(len(edges) - 1)
        if (which == b).any()
    ]
    return out, pd.DataFrame(curves)


def position_bias(pairs: pd.DataFrame, dimension: str, settings: Settings) -> Stat:
    """Share of strict answers that chose the left video (0.5 = no position bias), binomial test."""
    known = pairs[pairs["strict"] & pairs["has_position"]]
    if len(known) < MIN_JUDGMENTS:
        return Stat(
            HUMAN, dimension, "position_left_rate", np.nan, n=len(known), note="too few judgments with a position"
        )
    left = (known["left_is_a"] == known["chose_a"]).to_numpy(dtype=float)
    rs = Resampler(known["case"].to_numpy(), settings)
    level = settings.level
    value, reps = rs.rate(left)
    p = binomtest(int(left.sum()), len(left), 0.5).pvalue
    return Stat(
        HUMAN,
        dimension,
        "position_left_rate",
        value,
        *interval(value, reps, level),
        len(left),
        f"binomial test vs 0.5: p = {p:.3g}; bootstrap over {rs.n_cases} cases",
    )
