"""A simulated study with planted truth, written exactly as SPEC §7's ratings.parquet (and a results table).

Planted: each method's strength (so the method order is known), each video's latent quality per
dimension (strength + case noise), a pair's true answer (a tie when the qualities differ by less than
``tie_margin``), honest raters who give the true answer except with probability ``noise`` (then a
uniformly random one), and raters who always answer at random. Metric columns: the first
``len(dimensions)`` paper columns follow one dimension's latent quality closely ("followers"), the rest
mix it with noise (``Sim-k@Sim``) or are pure noise. ``planted_alpha`` is the large-sample nominal α
that this process implies, the value a correct α estimate must recover.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from jtbench.io.tables import normalise
from jtbench.metaeval.ratings import RATING_COLUMNS
from jtbench.metrics.base import PAPER_COLUMNS

DIMENSIONS = ("appearance_fidelity", "motion_fidelity", "text_alignment", "overall")
ANSWERS = np.array(["a", "b", "tie"])
FOLLOWERS = ("CLIP-I", "Mot-Fid", "CLIP-T", "Aesth-Q")  # one per dimension, in DIMENSIONS order
NOISE_METRIC = "Img-Q"


@dataclass
class SimulatedStudy:
    ratings: pd.DataFrame
    results: pd.DataFrame
    methods: list[str]  # best first: the planted order
    followers: dict[str, str]  # dimension -> the metric column that follows it
    noise_metric: str
    random_raters: list[str]
    planted_alpha: dict[str, float]  # dimension -> nominal α implied by the process (honest raters)


def _sha(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def _expected_alpha(true: np.ndarray, noise: float) -> float:
    """Nominal α in the large-sample limit: 1 − P(two ratings of a unit differ) / (1 − Σ q_v²)."""
    p = np.array([(true == v).mean() for v in range(3)])
    q = (1 - noise) * p + noise / 3
    same = (1 - noise + noise / 3) ** 2 + 2 * (noise / 3) ** 2
    return float(1 - (1 - same) / (1 - (q**2).sum()))


def simulate_study(
    *,
    cases: int = 60,
    methods: int = 4,
    dimensions: tuple[str, ...] = DIMENSIONS,
    ratings_per_pair: int = 3,
    raters: int = 8,
    random_raters: int = 1,
    noise: float = 0.2,
    tie_margin: float = 0.3,
    extra_metrics: int = 10,
    golds_per_rater: int = 8,
    repeats_per_rater: int = 6,
    seed: int = 0,
) -> SimulatedStudy:
    """A study of ``cases`` × all method pairs × ``dimensions`` × ``ratings_per_pair`` judgments."""
    if len(dimensions) > len(FOLLOWERS):
        raise ValueError(f"at most {len(FOLLOWERS)} dimensions (one follower metric each)")
    rng = np.random.default_rng(seed)
    names = [f"method-{chr(ord('A') + i)}" for i in range(methods)]
    strength = np.linspace(1.0, -1.0, methods)
    quality = strength[None, :, None] + rng.normal(0.0, 1.0, size=(cases, methods, len(dimensions)))
    case_ids = [f"case{c:03d}" for c in range(cases)]
    rater_ids = [f"r{i:02d}" for i in range(raters)]
    randoms = rater_ids[-random_raters:] if random_raters else []

    # results: one row per video
    columns: dict[str, np.ndarray] = {}
    followers = dict(zip(dimensions, FOLLOWERS, strict=False))
    for d, dim in enumerate(dimensions):
        columns[followers[dim]] = 50 + 10 * (quality[..., d] + rng.normal(0, 0.3, size=(cases, methods)))
    for column in (c for c in PAPER_COLUMNS if c not in columns):
        columns[column] = 50 + 10 * rng.normal(size=(cases, methods))
    for k in range(extra_metrics):
        mix = (k + 1) / (extra_metrics + 1)
        latent = quality[..., k % len(dimensions)]
        columns[f"Sim-{k:02d}@Sim"] = 50 + 10 * (mix * latent + (1 - mix) * 2 * rng.normal(size=(cases, methods)))
    rows = []
    for c, m in itertools.product(range(cases), range(methods)):
        row = dict(
            case_id=case_ids[c],
            prompt=f"prompt {c}",
            method=names[m],
            seed=0,
            base_model="sim",
            video=f"videos/{names[m]}/{case_ids[c]}.mp4",
            video_sha256=_sha(names[m], c),
            backbones="simulated",
            metric_versions=json.dumps({"sim": "1"}),
        )
        row.update({k: float(v[c, m]) for k, v in columns.items()})
        rows.append(row)
    results = normalise(pd.DataFrame(rows))

    # judgments
    records, true_labels = [], {dim: [] for dim in dimensions}
    pairs = list(itertools.combinations(range(methods), 2))
    for c, (i, j), (d, dim) in itertools.product(range(cases), pairs, enumerate(dimensions)):
        diff = quality[c, i, d] - quality[c, j, d]
        truth = 0 if diff > tie_margin else (1 if diff < -tie_margin else 2)
        true_labels[dim].append(truth)
        swap = rng.random() < 0.5  # which method is "a"
        a, b = (j, i) if swap else (i, j)
        truth_ab = truth if not swap or truth == 2 else 1 - truth
        for rater in rng.choice(rater_ids, size=ratings_per_pair, replace=False):
            honest = rater not in randoms and rng.random() >= noise
            answer = truth_ab if honest else int(rng.integers(0, 3))
            records.append(
                dict(
                    rater_id=str(rater),
                    item_id=f"{case_ids[c]}:{a}{b}:{dim}",
                    case_id=case_ids[c],
                    seed=0,
                    dimension=dim,
                    kind="pair",
                    method_a=names[a],
                    method_b=names[b],
                    video_sha256_a=_sha(names[a], c),
                    video_sha256_b=_sha(names[b], c),
                    response=str(ANSWERS[answer]),
                    position_a="left" if rng.random() < 0.5 else "right",
                )
            )
    for rater in rater_ids:
        random = rater in randoms
        for g in range(golds_per_rater):
            right = not random and rng.random() >= noise
            answer = "a" if right else str(rng.choice(ANSWERS))
            records.append(
                dict(
                    rater_id=rater,
                    item_id=f"gold{g}:{rater}",
                    case_id=case_ids[g % cases],
                    seed=0,
                    dimension=dimensions[1],
                    kind="gold",
                    method_a="original",
                    method_b="frozen",
                    response=answer,
                    gold_expected="a",
                    position_a="left",
                )
            )
        own = [r for r in records if r["rater_id"] == rater and r["kind"] == "pair"][:repeats_per_rater]
        for original in own:
            again = dict(original, kind="repeat", item_id=original["item_id"] + ":repeat")
            if random or rng.random() < noise:
                again["response"] = str(rng.choice(ANSWERS))
            records.append(again)
    ratings = pd.DataFrame(records)
    ratings["study_id"] = f"simulated-{seed}"
    ratings["answered_at"] = "2026-01-01T00:00:00+00:00"
    ratings["rt_ms"] = 4000
    for column in ("score", "gold_expected"):
        if column not in ratings:
            ratings[column] = None
    ratings["score"] = ratings["score"].astype("Int64")
    ratings = ratings.reindex(columns=list(RATING_COLUMNS))
    planted = {dim: _expected_alpha(np.array(labels), noise) for dim, labels in true_labels.items()}
    return SimulatedStudy(ratings, results, names, followers, NOISE_METRIC, randoms, planted)
