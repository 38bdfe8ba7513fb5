"""Metric × dimension agreement with people: acc23, grouped Kendall, α, the human ceiling, clusters.

Every interval is a percentile bootstrap over cases (the same resampled cases for every metric, so
intervals and tests are paired); the statistic is recomputed per resample, the tie threshold ε of
acc23 included (re-tuned over at most ``THRESHOLDS`` candidates spread by quantile — the point value
uses every distinct |Δ|). All resamples are matrix products over per-case sums, never a Python loop.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import krippendorff
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.stats import kendalltau, pearsonr, spearmanr

from jtbench.metaeval import stats
from jtbench.metaeval.raters import leave_one_out_pool

THRESHOLDS = 200
MIN_JUDGMENTS = 10
MIN_CASES = 3
HUMAN = "human"


@dataclass(frozen=True)
class Stat:
    """One row of meta_eval.parquet."""

    metric: str
    dimension: str
    statistic: str
    value: float
    ci_low: float = np.nan
    ci_high: float = np.nan
    n: int = 0
    test: str = ""
    note: str = ""


@dataclass(frozen=True)
class Settings:
    """How intervals and tests are drawn: resamples (and permutations), seed, interval level."""

    resamples: int = 1000
    seed: int = 0
    level: float = 0.95


class Resampler:
    """Case indices of judgments and the bootstrap weights over those cases."""

    def __init__(self, cases: np.ndarray, settings: Settings) -> None:
        self.settings = settings
        self.codes, self.names = pd.factorize(pd.Series(cases), sort=True)
        self.n_cases = len(self.names)
        self.weights = stats.bootstrap_weights(self.n_cases, settings.resamples, settings.seed)
        n = len(self.codes)
        self.indicator = sparse.csr_matrix((np.ones(n), (self.codes, np.arange(n))), shape=(self.n_cases, n))

    def per_case(self, values: np.ndarray) -> np.ndarray:
        """Sums of ``values`` ([judgment] or [judgment, k]) within each case."""
        return np.asarray(self.indicator @ values)

    def rate(self, correct: np.ndarray, valid: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """A proportion and its bootstrap replicates."""
        valid = np.ones(len(correct)) if valid is None else valid.astype(float)
        num, den = self.per_case(correct * valid), self.per_case(valid)
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(num.sum() / den.sum()) if den.sum() else np.nan, (self.weights @ num) / (self.weights @ den)


def interval(point: float, samples: np.ndarray, level: float) -> tuple[float, float]:
    return stats.percentile_interval(samples, level) if np.isfinite(point) else (np.nan, np.nan)


class Batch:
    """Proportions whose bootstrap replicates come from one matrix product for the whole table.

    Each entry holds per-case numerators ``[case, k]`` (k candidate tie thresholds, or 1) and
    denominators ``[case]``; a replicate is the best of the k proportions (acc23 re-tuned per resample).
    """

    def __init__(self, rs: Resampler, level: float) -> None:
        self.rs, self.level = rs, level
        self.entries: list[tuple[Stat, np.ndarray, np.ndarray]] = []

    def add(self, stat: Stat, num: np.ndarray, den: np.ndarray) -> None:
        self.entries.append((stat, num.reshape(len(den), -1), den))

    def add_rate(self, stat: Stat, correct: np.ndarray, valid: np.ndarray) -> None:
        self.add(stat, self.rs.per_case(correct * valid), self.rs.per_case(valid.astype(float)))

    def stats(self) -> list[Stat]:
        if not self.entries:
            return []
        nums = np.concatenate([num for _, num, _ in self.entries], axis=1)
        dens = np.stack([den for _, _, den in self.entries], axis=1)
        widths = [num.shape[1] for _, num, _ in self.entries]
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = (self.rs.weights @ nums) / np.repeat(self.rs.weights @ dens, widths, axis=1)
        best = np.maximum.reduceat(np.nan_to_num(ratio, nan=-np.inf), np.cumsum([0, *widths[:-1]]), axis=1)
        best[~np.isfinite(best)] = np.nan
        tail = (1 - self.level) / 2 * 100
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column is an undefined statistic
            low, high = np.nanpercentile(best, [tail, 100 - tail], axis=0)
        out = []
        for (stat, _, _), lo, hi in zip(self.entries, low, high, strict=True):
            ok = np.isfinite(stat.value)
            out.append(replace(stat, ci_low=float(lo) if ok else np.nan, ci_high=float(hi) if ok else np.nan))
        return out


def add_acc23(batch: Batch, template: Stat, human: np.ndarray, delta: np.ndarray, valid: np.ndarray):
    """Queue acc23 (tuned ε) on the valid judgments; returns ``(ε, per-judgment correctness at ε)``."""
    point, eps = stats.acc23(human[valid], delta[valid])
    thresholds = np.union1d(stats.tie_thresholds(delta[valid], THRESHOLDS), [eps])
    correct = stats.correct_matrix(human, np.where(valid, delta, np.inf), thresholds) & valid[:, None]
    note = f"tuned tie threshold ε = {eps:.4g}" + (f"; {template.note}" if template.note else "")
    batch.add(
        replace(template, value=point, n=int(valid.sum()), note=note),
        batch.rs.per_case(correct.astype(float)),
        batch.rs.per_case(valid.astype(float)),
    )
    return eps, stats.correct_matrix(human, delta, [eps])[:, 0] & valid


def pairwise_table(
    pairs: pd.DataFrame, values: np.ndarray, metrics: list[str], dimension: str, settings: Settings
) -> list[Stat]:
    """acc23, accuracy without ties, metric-vs-pool acc23, the human ceiling, α, permutation clusters."""
    out: list[Stat] = []
    n = len(pairs)
    if n < MIN_JUDGMENTS or pairs["case"].nunique() < MIN_CASES:
        note = f"{n} judgment(s) in {pairs['case'].nunique()} case(s): too few (need {MIN_JUDGMENTS} in {MIN_CASES})"
        return [Stat(m, dimension, s, np.nan, n=n, note=note) for m in metrics for s in ("acc23", "acc_no_ties")]
    rs = Resampler(pairs["case"].to_numpy(), settings)
    level, resamples = settings.level, settings.resamples
    batch = Batch(rs, level)
    h = pairs["h"].to_numpy(dtype=float)
    delta = values[pairs["row_a"].to_numpy()] - values[pairs["row_b"].to_numpy()]
    pool = leave_one_out_pool(pairs).to_numpy()
    pooled = np.isfinite(pool)
    corrects = np.zeros((n, len(metrics)))
    valids = np.zeros((n, len(metrics)), dtype=bool)
    scores = np.full(len(metrics), np.nan)
    test = f"percentile bootstrap over {rs.n_cases} cases ({resamples} resamples)"
    for j, metric in enumerate(metrics):
        d = delta[:, j]
        valid = np.isfinite(d)
        note = "" if valid.all() else f"{(~valid).sum()} judgment(s) without a value left out"
        if valid.sum() < MIN_JUDGMENTS:
            out.append(
                Stat(metric, dimension, "acc23", np.nan, n=int(valid.sum()), note="too few judgments with a value")
            )
            continue
        eps, corrects[:, j] = add_acc23(
            batch, Stat(metric, dimension, "acc23", np.nan, test=test, note=note), h, d, valid
        )
        valids[:, j] = valid
        scores[j] = corrects[valid, j].mean()
        out.append(Stat(metric, dimension, "tie_threshold", eps, n=int(valid.sum()), test="maximises acc23"))
        strict = valid & (h != 0)
        right = (np.sign(d) == h).astype(float)
        batch.add_rate(
            Stat(
                metric,
                dimension,
                "acc_no_ties",
                right[strict].mean() if strict.any() else np.nan,
                n=int(strict.sum()),
                test=test,
            ),
            right,
            strict,
        )
        both = valid & pooled
        if both.sum() >= MIN_JUDGMENTS:
            add_acc23(
                batch,
                Stat(
                    metric,
                    dimension,
                    "acc23_vs_pool",
                    np.nan,
                    test=test,
                    note="metric against each judgment's pool of the other raters",
                ),
                np.where(both, pool, 0.0),
                d,
                both,
            )
    if pooled.sum() >= MIN_JUDGMENTS:
        agree = (h == pool).astype(float)
        batch.add_rate(
            Stat(
                HUMAN,
                dimension,
                "human_ceiling",
                agree[pooled].mean(),
                n=int(pooled.sum()),
                test=test,
                note="each rater against the other raters of the unit, never itself",
            ),
            agree,
            pooled,
        )
    else:
        out.append(Stat(HUMAN, dimension, "human_ceiling", np.nan, n=int(pooled.sum()), note="no unit has 2+ ratings"))
    out = batch.stats() + out
    out.append(alpha_stat(pairs, dimension, {-1.0: 0, 0.0: 1, 1.0: 2}, "h", "nominal", rs, level))
    out += clusters(metrics, scores, rs, corrects, valids, dimension)
    return out


def alpha_stat(
    frame: pd.DataFrame, dimension: str, codes: dict, column: str, level_name: str, rs: Resampler, level: float
) -> Stat:
    """Krippendorff's α (the package's value) with a bootstrap interval from per-case coincidences."""
    units, unit_codes = np.unique(frame["unit"].to_numpy(), return_inverse=True)
    value_codes = frame[column].map(codes).to_numpy(dtype=int)
    counts = np.zeros((len(units), len(codes)))
    np.add.at(counts, (unit_codes, value_codes), 1.0)
    pairable = int((counts.sum(axis=1) > 1).sum())
    if pairable < 2 or len(np.unique(value_codes)) < 2:
        return Stat(HUMAN, dimension, f"alpha_{level_name}", np.nan, n=pairable, note="too few units with 2+ ratings")
    point = float(
        krippendorff.alpha(value_counts=counts, level_of_measurement=level_name, value_domain=list(range(len(codes))))
    )
    per_unit = stats.coincidences(unit_codes, value_codes, len(codes))
    unit_case = np.zeros(len(units), dtype=int)
    unit_case[unit_codes] = rs.codes
    per_case = np.zeros((rs.n_cases, len(codes) ** 2))
    np.add.at(per_case, unit_case, per_unit.reshape(len(units), -1))
    reps = stats.alpha_from_coincidences((rs.weights @ per_case).reshape(-1, len(codes), len(codes)), level_name)
    return Stat(
        HUMAN,
        dimension,
        f"alpha_{level_name}",
        point,
        *interval(point, reps, level),
        pairable,
        "krippendorff.alpha; bootstrap over cases",
        f"{level_name} over {pairable} units with 2+ ratings",
    )


def clusters(metrics, scores, rs: Resampler, corrects, valids, dimension) -> list[Stat]:
    """Paired permutation tests and significance clusters.

    As mt-metrics-eval's ``PairwisePermutationSigDiff``: the two metrics' *outcomes* on each judgment
    (right / wrong at each metric's own tuned ε) are swapped, so metrics with different thresholds
    compare without re-tuning; swaps are drawn per case (the bootstrap unit), two-sided.
    """
    ok = np.flatnonzero(np.isfinite(scores))
    if len(ok) < 2:
        return []
    resamples = rs.settings.resamples
    flips = 1.0 - 2.0 * stats.sign_flips(rs.n_cases, resamples, rs.settings.seed + 1)
    pvalues = np.ones((len(metrics), len(metrics)))
    i_idx, j_idx = np.triu_indices(len(ok), 1)
    first, second = ok[i_idx], ok[j_idx]
    both = valids[:, first] & valids[:, second]
    diff = rs.per_case((corrects[:, first] - corrects[:, second]) * both)
    observed = diff.sum(axis=0)
    permuted = flips @ diff
    p = (1 + (np.abs(permuted) >= np.abs(observed) - 1e-9).sum(axis=0)) / (resamples + 1)
    pvalues[first, second] = pvalues[second, first] = p
    cluster = stats.significance_clusters(scores, pvalues)
    test = f"paired permutation over cases ({resamples} sign flips), p < 0.05 splits clusters"
    return [Stat(metrics[j], dimension, "cluster", float(cluster[j]), n=int(valids[:, j].sum()), test=test) for j in ok]


# -- absolute ratings -------------------------------------------------------------------------------
def weighted_ranks(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Midranks of ``x`` in each resample where element i appears ``weights[b, i]`` times."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    group = np.cumsum(np.r_[True, xs[1:] != xs[:-1]]) - 1
    group_w = np.add.reduceat(weights[:, order], starts, axis=1)
    before = np.cumsum(group_w, axis=1) - group_w
    ranks_sorted = (before + (group_w + 1) / 2)[:, group]
    out = np.empty_like(ranks_sorted)
    out[:, order] = ranks_sorted
    return out


def weighted_pearson(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Pearson r per row of weights; ``x``/``y`` are [V] or [B, V]."""
    total = w.sum(axis=1, keepdims=True)
    mx, my = (w * x).sum(axis=1, keepdims=True) / total, (w * y).sum(axis=1, keepdims=True) / total
    cov = (w * (x - mx) * (y - my)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov / np.sqrt((w * (x - mx) ** 2).sum(axis=1) * (w * (y - my) ** 2).sum(axis=1))


def _correlations(x, y, rs: Resampler, level, label: str, metric: str, dimension: str, note: str) -> list[Stat]:
    w = rs.weights[:, rs.codes]
    test = f"percentile bootstrap over {rs.n_cases} cases"
    out = []
    for name, point, reps in (
        ("pearson" + label, pearsonr(x, y).statistic, weighted_pearson(x, y, w)),
        (
            "spearman" + label,
            spearmanr(x, y).statistic,
            weighted_pearson(weighted_ranks(x, w), weighted_ranks(y, w), w),
        ),
    ):
        point = float(point)
        out.append(Stat(metric, dimension, name, point, *interval(point, reps, level), len(x), test, note))
    return out


def absolute_table(
    singles: pd.DataFrame,
    values: np.ndarray,
    metrics: list[str],
    dimension: str,
    settings: Settings,
) -> list[Stat]:
    """Kendall τ-b within each case (averaged), pooled Spearman/Pearson, α (ordinal), the ceiling."""
    videos = singles.groupby("row").agg(case=("case", "first"), score=("score", "mean")).reset_index()
    if len(videos) < MIN_JUDGMENTS or videos["case"].nunique() < MIN_CASES:
        note = f"{len(videos)} rated video(s): too few"
        return [
            Stat(m, dimension, s, np.nan, n=len(videos), note=note)
            for m in metrics
            for s in ("kendall_tau_b", "spearman")
        ]
    rs = Resampler(videos["case"].to_numpy(), settings)
    level = settings.level
    out: list[Stat] = []
    human = videos["score"].to_numpy()
    groups = [np.flatnonzero(rs.codes == c) for c in range(rs.n_cases)]
    for j, metric in enumerate(metrics):
        metric_values = values[videos["row"].to_numpy(), j]
        taus = np.array(
            [kendalltau(metric_values[g], human[g], variant="b").statistic if len(g) > 1 else np.nan for g in groups]
        )
        finite = np.isfinite(taus)
        point = float(taus[finite].mean()) if finite.any() else np.nan
        with np.errstate(invalid="ignore"):
            reps = (rs.weights @ np.where(finite, taus, 0.0)) / (rs.weights @ finite)
        out.append(
            Stat(
                metric,
                dimension,
                "kendall_tau_b",
                point,
                *interval(point, reps, level),
                int(finite.sum()),
                f"scipy kendalltau(variant='b') per case, mean over cases; bootstrap over {rs.n_cases} cases",
                f"{(~finite).sum()} case(s) undefined (one video or constant)" if (~finite).any() else "",
            )
        )
        ok = np.isfinite(metric_values)
        if ok.all():
            out += _correlations(metric_values, human, rs, level, "", metric, dimension, "pooled over videos")
    # ceiling: each rating against the mean of the other ratings of its video; the metric against the same pools
    grouped = singles.groupby("unit")["score"]
    others = grouped.transform("count") - 1
    pool = (grouped.transform("sum") - singles["score"]) / others.where(others > 0)
    have = pool.notna().to_numpy()
    if have.sum() >= MIN_JUDGMENTS:
        pooled = singles[have]
        prs = Resampler(pooled["case"].to_numpy(), settings)
        target = pool[have].to_numpy()
        out += _correlations(
            pooled["score"].to_numpy(dtype=float),
            target,
            prs,
            level,
            "_ceiling",
            HUMAN,
            dimension,
            "each rating against the mean of the others on the same video",
        )
        for j, metric in enumerate(metrics):
            mv = values[pooled["row"].to_numpy(), j]
            if np.isfinite(mv).all():
                out += _correlations(mv, target, prs, level, "_vs_pool", metric, dimension, "against the same pools")
    codes = {v: i for i, v in enumerate(sorted(singles["score"].unique()))}
    out.append(
        alpha_stat(
            singles, dimension, codes, "score", "ordinal", Resampler(singles["case"].to_numpy(), settings), level
        )
    )
    return out
