"""Pick-Sc: PickScore as JointTuner computes it (``metrics/pick_score.py``, metrics.md §8).

The JT-sampled frames (every ``int(fps/8)``-th) and the prompt go through PickScore_v1 (a HF
``CLIPModel``, ViT-H/14) with the laion ViT-H-14 processor (PIL path):

    score = mean_t logit_scale · cos(E_txt(prompt), E_img(frame_t))

i.e. the raw scaled similarity, **not** the softmax preference probability of PickScore's README;
``logit_scale`` is the checkpoint's (≈100 for PickScore_v1, ≈14.29 for a random model).
Normalisation is ``x / ‖x‖`` in the model dtype (fp32 in the anchor). JT pushes all frames
through the model in one batch; here batches are memory-sized (at most ``ctx.batch_size``) (equal up to float
round-off). The text is tokenised with padding and truncation to 77 tokens.
"""

from __future__ import annotations

import torch

from jtbench.errors import InputError
from jtbench.metrics.base import Metric, MetricSpec, MetricValue, Sample, ScoringContext
from jtbench.metrics.clip_preprocess import batched, jt_frame_indices, pil_frames
from jtbench.models.pickscore import PickScoreV1

BACKBONE = PickScoreV1.name
PICKSCORE_SIDE = 224  # the ViT-H/14 processor's crop


def pick_score(text_features: torch.Tensor, image_features: torch.Tensor, logit_scale: torch.Tensor) -> float:
    """JT's ``mean(logit_scale · (t/‖t‖ @ (i/‖i‖).T)[0])`` for one prompt and ``[N, D]`` frame features."""
    text = text_features / torch.norm(text_features, dim=-1, keepdim=True)
    images = image_features / torch.norm(image_features, dim=-1, keepdim=True)
    scores = logit_scale.to(images.device) * (text @ images.T)[0]
    return float(scores.float().mean())


class PickScore(Metric):
    """Pick-Sc: PickScore_v1 text–frame score averaged over the 8-fps-sampled frames."""

    spec = MetricSpec(
        name="pick_score",
        column="Pick-Sc",
        description="mean over 8-fps-sampled frames of logit_scale·cos(PickScore text, PickScore image)",
        source="JointTuner metrics/pick_score.py, yuvalkirstain/PickScore_v1; metrics.md §8",
        version="1",
        backbones=(BACKBONE,),
        needs_prompt=True,
    )

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        video = sample.video
        if not sample.prompt:
            raise InputError(
                "Pick-Sc needs the prompt the video was generated from",
                file=video.source,
                fix="give the video a case_id or a prompt",
            )
        if video.num_frames < 1:
            raise InputError("Pick-Sc needs at least one frame", file=video.source, fix="pass the generated video")
        model = ctx.hub.get(BACKBONE)

        def frame_features() -> torch.Tensor:
            frames = video.frames[jt_frame_indices(video)]

            def encode(start: int, stop: int) -> torch.Tensor:
                return model.image_features(pil_frames(frames[start:stop]))

            side = PICKSCORE_SIDE
            return torch.cat(list(batched(ctx, encode, len(frames), BACKBONE, side, side)))

        images = ctx.cached((BACKBONE, "jt-pil-frames", video.digest), frame_features)
        text = ctx.cached((BACKBONE, "text", sample.prompt), lambda: model.text_features([sample.prompt]))
        return MetricValue(pick_score(text, images, model.logit_scale))
