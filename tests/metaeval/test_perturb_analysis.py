"""metaeval.perturb.analyse on a hand-made plan and scores: every reported number checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jtbench.io.perturb import Perturbation
from jtbench.metaeval.perturb import analyse

BLUR = Perturbation(id="blur", kind="frames", description="", transform="gaussian_blur", severities=(1.0, 2.0, 3.0),
                    expected={"Img-Q": "down", "CLIP-T": "same"}, by_construction=("CLIP-T",))  # fmt: skip


def plan_row(method: str, sha: str, perturbation: str, severity: float, origin: str, baseline: tuple[str, str]):
    return dict(method=method, video_sha256=sha, perturbation=perturbation, severity=severity, origin_method="m",
                origin_sha256=origin, baseline_method=baseline[0], baseline_sha256=baseline[1])  # fmt: skip


def test_directional_accuracy_effect_size_invariance_and_severity():
    plan, scores = [], []
    originals = {"v1": (50.0, 20.0), "v2": (60.0, 30.0)}  # Img-Q, CLIP-T of each original
    after = {"v1": [48.0, 45.0, 40.0], "v2": [61.0, 55.0, 50.0]}  # Img-Q at severities 1, 2, 3
    for video, (img_q, clip_t) in originals.items():
        plan.append(plan_row("m", video, "original", np.nan, video, ("m", video)))
        plan.append(plan_row("m~control", f"c{video}", "control", np.nan, video, ("m", video)))
        for method, sha in (("m", video), ("m~control", f"c{video}")):
            scores.append({"method": method, "video_sha256": sha, "Img-Q": img_q, "CLIP-T": clip_t})
        for severity, value in zip((1.0, 2.0, 3.0), after[video], strict=True):
            label, sha = f"m~blur@{severity:g}", f"{video}{severity}"
            plan.append(plan_row(label, sha, "blur", severity, video, ("m~control", f"c{video}")))
            moved = 0.5 if (video, severity) == ("v2", 3.0) else 0.0  # one invariance violation
            scores.append({"method": label, "video_sha256": sha, "Img-Q": value, "CLIP-T": clip_t + moved})
    stats = {(s.metric, s.statistic): s for s in analyse(pd.DataFrame(plan), pd.DataFrame(scores), {"blur": BLUR},
                                                         ["Img-Q", "CLIP-T"])}  # fmt: skip
    # Img-Q deltas: -2, -5, -10, +1, -5, -10 -> 5 of 6 down; mean -31/6; σ of originals (50, 60) = 7.071
    assert stats["Img-Q", "directional_accuracy"].value == pytest.approx(5 / 6)
    assert stats["Img-Q", "effect_size"].value == pytest.approx((-31 / 6) / np.std([50, 60], ddof=1))
    # Spearman(severity 0..3, score): v1 50, 48, 45, 40 -> -1; v2 60, 61, 55, 50 -> -0.8
    assert stats["Img-Q", "spearman_severity"].value == pytest.approx((-1.0 - 0.8) / 2)
    assert stats["CLIP-T", "invariance_violations"].value == 1 and stats["CLIP-T", "invariance_violations"].n == 6
    assert stats["CLIP-T", "invariance_violations"].test == "by construction: same"
