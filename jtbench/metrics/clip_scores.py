"""CLIP-T and CLIP-I as JointTuner computes them (``metrics/clip_score.py``, metrics.md §1–2).

Per video: the JT-sampled frames (every ``int(fps/8)``-th) go through openai-clip's PIL
transform into CLIP ViT-B/32; each frame's embedding is compared with the prompt's (CLIP-T) or
the subject's reference image's (CLIP-I) embedding:

    score = Σ_t logit_scale · cos(E(frame_t), E(target)) / N

Faithful quirks, kept on purpose:

* The scale is the checkpoint's ``logit_scale.exp()`` (100 for OpenAI's weights, ≈14.29 for a
  random model), not a literal 100, and there is **no clamp at 0** (torchmetrics clamps).
* Normalisation is JT's ``f / f.norm(dim=1, keepdim=True).to(float32)``: with the fp16 model of
  CUDA runs the norm is taken in fp16 and the division promotes to fp32.
* The prompt is tokenised with ``clip.tokenize(truncate=True)``; JT re-encodes the same caption
  for every frame, which gives the same embedding, so it is encoded once here.
* JT sums per-batch sums and divides by the frame count; a mean over frames is the same number
  up to float summation order.
"""

from __future__ import annotations

import torch

from jtbench.errors import InputError
from jtbench.metrics.base import Metric, MetricSpec, MetricValue, Sample, ScoringContext
from jtbench.metrics.clip_preprocess import jt_frame_embeddings, jt_image_embedding
from jtbench.models.clip import OpenAIClipViTB32

BACKBONE = OpenAIClipViTB32.name


def jt_normalise(features: torch.Tensor) -> torch.Tensor:
    """JT's normalisation: divide by the row norm computed in the features' dtype, then cast to fp32."""
    return features / features.norm(dim=1, keepdim=True).to(torch.float32)


def clip_similarity_score(frame_features: torch.Tensor, target: torch.Tensor, logit_scale: torch.Tensor) -> float:
    """Mean over frames of ``logit_scale · cos(frame, target)`` (``target`` is ``[1, D]`` or ``[N, D]``)."""
    frames, target = jt_normalise(frame_features), jt_normalise(target)
    per_frame = logit_scale.to(frames.device) * (frames * target).sum(dim=1)
    return float(per_frame.sum() / frames.shape[0])


class ClipT(Metric):
    """CLIP-T: text–frame CLIP score of the generated video against its own prompt."""

    spec = MetricSpec(
        name="clip_t",
        column="CLIP-T",
        description="mean over 8-fps-sampled frames of logit_scale·cos(CLIP image, CLIP text); ViT-B/32",
        source="JointTuner metrics/clip_score.py (clip-text), openai-clip 1.0.1; metrics.md §1",
        version="1",
        backbones=(BACKBONE,),
        needs_prompt=True,
    )

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        if not sample.prompt:
            raise InputError(
                "CLIP-T needs the prompt the video was generated from",
                file=sample.video.source,
                fix="give the video a case_id or a prompt",
            )
        frames = jt_frame_embeddings(sample.video, ctx, BACKBONE)
        clip_model = ctx.hub.get(BACKBONE)
        text = ctx.cached((BACKBONE, "text", sample.prompt), lambda: clip_model.encode_texts([sample.prompt]))
        return MetricValue(clip_similarity_score(frames, text, clip_model.logit_scale))


class ClipI(Metric):
    """CLIP-I: frame–reference-image CLIP score against the subject's ``00.jpg``."""

    spec = MetricSpec(
        name="clip_i",
        column="CLIP-I",
        description="mean over 8-fps-sampled frames of logit_scale·cos(CLIP frame, CLIP reference image); ViT-B/32",
        source="JointTuner metrics/clip_score.py (clip-image), openai-clip 1.0.1; metrics.md §2",
        version="1",
        backbones=(BACKBONE,),
        needs_reference_image=True,
    )

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        if sample.reference_image is None:
            raise InputError(
                "CLIP-I needs the subject's reference image",
                file=sample.video.source,
                fix="give the video a case_id or a reference_image",
            )
        frames = jt_frame_embeddings(sample.video, ctx, BACKBONE)
        reference = jt_image_embedding(sample.reference_image, ctx, BACKBONE)
        return MetricValue(clip_similarity_score(frames, reference, ctx.hub.get(BACKBONE).logit_scale))
