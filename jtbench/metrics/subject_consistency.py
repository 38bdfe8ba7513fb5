"""Subj-Con: VBench ``subject_consistency`` — DINO ViT-B/16 feature agreement across frames.

Definition (VBench ``vbench/subject_consistency.py``, as JointTuner calls it, one video per call):
every frame of the video (no fps resampling) goes through ``dino_transform(224)`` — the short side
resized to 224 with **bilinear, no antialias** on float 0–255 frames, aspect kept, **no crop**,
then /255 and ImageNet mean/std — and DINO's CLS feature is L2-normalised. For t >= 1::

    c_t = (max(0, cos(f_{t-1}, f_t)) + max(0, cos(f_0, f_t))) / 2

and the video's score is ``100 * sum(c_t) / (T - 1)`` (JointTuner's x100 of VBench's 0–1 value).

Differences from VBench, none numerical beyond float rounding: frames are decoded once with PyAV
(the same bits as decord on h264 yuv420p wherever measured; see ``jtbench/io/video.py``) and sent
through DINO in memory-sized batches (at most ``ctx.batch_size``) instead of one at a time (batch
invariance is tested). A one-frame video has no pair; VBench
divides by zero there, we raise an error naming the video.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

from jtbench.errors import VideoError
from jtbench.metrics.base import Metric, MetricSpec, MetricValue, Sample, ScoringContext
from jtbench.metrics.memory import MemoryBudget, model_batches

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DINO_SHORT_SIDE = 224


def dino_transform(frames: torch.Tensor, short_side: int = DINO_SHORT_SIDE) -> torch.Tensor:
    """VBench's ``dino_transform``: ``uint8 [T, H, W, 3]`` → normalised ``float32 [T, 3, h, w]``.

    torchvision sizes the long side as ``int(short_side * long / short)`` (224x336 for 480x720).
    """
    x = frames.permute(0, 3, 1, 2).float()
    x = TF.resize(x, short_side, interpolation=InterpolationMode.BILINEAR, antialias=False)
    return TF.normalize(x / 255.0, IMAGENET_MEAN, IMAGENET_STD)


@torch.no_grad()
def dino_features(
    model: torch.nn.Module, frames: torch.Tensor, batch_size: int, budget: MemoryBudget | None = None
) -> torch.Tensor:
    """L2-normalised DINO CLS features ``float32 [T, D]`` of every frame, memory-sized batches of ≤ ``batch_size``."""
    param = next(model.parameters())

    def features(start: int, stop: int) -> torch.Tensor:
        batch = dino_transform(frames[start:stop]).to(param.device, param.dtype)
        return F.normalize(model(batch).float(), dim=-1, p=2).cpu()

    height, width = dino_transform(frames[:1]).shape[-2:]  # one frame's model input size
    batches = model_batches(
        features, frames.shape[0], "dino_vitb16", height, width, limit=batch_size, budget=budget, device=param.device
    )
    return torch.cat(list(batches))


def subject_consistency_score(features: torch.Tensor) -> float:
    """Mean over t >= 1 of ``(max(0, cos(f_{t-1}, f_t)) + max(0, cos(f_0, f_t))) / 2`` (0–1 scale).

    ``features`` is ``[T, D]`` with T >= 2; sums run in float64 like VBench's Python floats.
    """
    if features.shape[0] < 2:
        raise ValueError(f"subject consistency needs at least 2 frames, got {features.shape[0]}")
    later = features[1:]
    to_previous = F.cosine_similarity(features[:-1], later, dim=-1).clamp_min(0.0)
    to_first = F.cosine_similarity(features[:1].expand_as(later), later, dim=-1).clamp_min(0.0)
    pairs = (to_previous.double() + to_first.double()) / 2
    return float(pairs.sum() / (features.shape[0] - 1))


class SubjectConsistency(Metric):
    """Subj-Con (VBench subject_consistency x 100); higher means a more stable subject."""

    spec = MetricSpec(
        name="subject_consistency",
        column="Subj-Con",
        description="mean clamped DINO ViT-B/16 CLS cosine of each frame to the previous and the first frame",
        source="VBench vbench/subject_consistency.py (0.1.5) via JointTuner metrics/vbench_score.py, x100",
        version="1",
        backbones=("dino_vitb16",),
    )

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        clip = sample.video
        if clip.num_frames < 2:
            raise VideoError(
                f"Subj-Con needs at least 2 frames, the video has {clip.num_frames}",
                file=clip.source,
                fix="pass a video with two or more frames",
            )

        features = dino_features(ctx.hub.get("dino_vitb16"), clip.frames, ctx.batch_size, ctx.memory)
        return MetricValue(100.0 * subject_consistency_score(features))
