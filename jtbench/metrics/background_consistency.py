"""Bkgd-Con: VBench ``background_consistency`` (vbench 0.1.5, metrics.md §7), ×100 as JointTuner reports it.

All frames (no fps normalisation) go through VBench's tensor transform (float bicubic resize
without antialias, centre crop) into CLIP ViT-B/32. With L2-normalised features ``f_t``:

    c_t = ( max(0, cos(f_{t-1}, f_t)) + max(0, cos(f_0, f_t)) ) / 2,   score = Σ_{t≥1} c_t / (T − 1)

Faithful details: features are normalised and then passed to ``cosine_similarity`` (which
normalises again, with its epsilon); the clamp is Python's ``max(0.0, x)``, which also turns a
NaN similarity into 0; sums accumulate in float64 like VBench's Python floats; similarities are
taken in the model's dtype (fp16 on CUDA in the anchor). VBench's dataset figure is frame-pair
weighted (Σ sims / Σ pairs); JointTuner scores one video per call, so the per-video value here is
what the paper averages. A one-frame video has no pair (VBench divides by zero): it is an error.
VBench runs ``encode_image`` without ``no_grad``; that changes memory, not numbers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from jtbench.errors import InputError
from jtbench.metrics.base import Metric, MetricSpec, MetricValue, Sample, ScoringContext
from jtbench.metrics.clip_preprocess import vbench_frame_embeddings
from jtbench.models.clip import OpenAIClipViTB32

BACKBONE = OpenAIClipViTB32.name


def _python_max0(x: torch.Tensor) -> torch.Tensor:
    """``max(0.0, x)`` elementwise, NaN → 0 as Python's ``max`` does."""
    return torch.where(x > 0, x, torch.zeros_like(x))


def vbench_consistency(features: torch.Tensor) -> float:
    """VBench's per-video consistency of ``[T, D]`` frame features on the 0–1 scale."""
    if features.shape[0] < 2:
        raise ValueError(f"consistency needs at least 2 frames, got {features.shape[0]}")
    f = F.normalize(features, dim=-1, p=2)
    to_previous = _python_max0(F.cosine_similarity(f[:-1], f[1:], dim=-1)).double()
    to_first = _python_max0(F.cosine_similarity(f[:1].expand_as(f[1:]), f[1:], dim=-1)).double()
    return float(((to_previous + to_first) / 2).sum() / (features.shape[0] - 1))


class BackgroundConsistency(Metric):
    """Bkgd-Con: CLIP ViT-B/32 similarity of each frame to the previous and the first frame."""

    spec = MetricSpec(
        name="background_consistency",
        column="Bkgd-Con",
        description="VBench background consistency: clamped CLIP cos to previous and first frame, /(T−1), ×100",
        source="VBench 0.1.5 vbench/background_consistency.py; metrics.md §7",
        version="1",
        backbones=(BACKBONE,),
    )

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        if sample.video.num_frames < 2:
            raise InputError(
                f"Bkgd-Con needs at least 2 frames, the video has {sample.video.num_frames}",
                file=sample.video.source,
                fix="pass the full generated video",
            )
        features = vbench_frame_embeddings(sample.video, ctx, BACKBONE)
        return MetricValue(100.0 * vbench_consistency(features))
