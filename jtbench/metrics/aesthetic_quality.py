"""Aesth-Q: VBench ``aesthetic_quality`` (vbench 0.1.5, metrics.md §9), ×100 as JointTuner reports it.

All frames go through VBench's tensor transform into CLIP ViT-L/14; the LAION linear aesthetic
head (v1, ``sa_0_4_vit_l_14_linear.pth``) scores each frame:

    a_t = head( normalise( float32( E(frame_t) ) ) ) / 10,   score = mean_t a_t

so a LAION score of 5.5 on its 1–10 scale reads 55. Faithful details: CLIP runs in fp16 on CUDA in
the anchor but its features are cast to fp32 before normalisation and the head stays fp32;
VBench encodes in batches of 32 frames (``ctx.batch_size`` here; equal up to float round-off).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from jtbench.metrics.base import Metric, MetricSpec, MetricValue, Sample, ScoringContext
from jtbench.metrics.clip_preprocess import vbench_frame_embeddings
from jtbench.models.clip import LaionAestheticLinear, OpenAIClipViTL14

CLIP_BACKBONE = OpenAIClipViTL14.name
HEAD_BACKBONE = LaionAestheticLinear.name


@torch.inference_mode()
def laion_aesthetic_scores(features: torch.Tensor, head: torch.nn.Module) -> torch.Tensor:
    """Per-frame LAION scores /10 (0–1 for a 1–10 predictor) from raw CLIP ViT-L/14 image features."""
    weight = next(head.parameters())
    normalised = F.normalize(features.to(torch.float32), dim=-1, p=2)
    return head(normalised.to(weight.device, weight.dtype)).squeeze(dim=-1).to(torch.float32) / 10


class AestheticQuality(Metric):
    """Aesth-Q: LAION aesthetic predictor v1 on CLIP ViT-L/14 features, mean over all frames."""

    spec = MetricSpec(
        name="aesthetic_quality",
        column="Aesth-Q",
        description="VBench aesthetic quality: LAION linear head on normalised CLIP ViT-L/14 features /10, ×100",
        source="VBench 0.1.5 vbench/aesthetic_quality.py, LAION-AI/aesthetic-predictor; metrics.md §9",
        version="1",
        backbones=(CLIP_BACKBONE, HEAD_BACKBONE),
    )

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        features = vbench_frame_embeddings(sample.video, ctx, CLIP_BACKBONE)
        scores = laion_aesthetic_scores(features, ctx.hub.get(HEAD_BACKBONE))
        return MetricValue(100.0 * float(scores.mean()))
