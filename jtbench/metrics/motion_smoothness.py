"""Mot-Smth: how well AMT-S predicts each odd frame from its even neighbours (VBench ``motion_smoothness``).

Definition (VBench 0.1.5 ``vbench/motion_smoothness.py``, JointTuner ×100): all frames, no fps
normalisation. Inputs are the even-indexed frames 0, 2, 4, …; for each consecutive input pair
AMT-S predicts the middle frame (``embt = 0.5``, ``scale_factor = 1``), on frames replicate-padded
to a multiple of 16 and unpadded afterwards; predictions become uint8 by ``(x · 255).clip(0, 255)``
and a **truncating** cast. Each prediction is compared with the real odd frame between its inputs:
``mean |orig − pred|`` over pixels and channels; the video scores ``(255 − mean over pairs) / 255``,
reported ×100. Quirks kept:

- For even-length videos the last frame is never used (16 frames → 7 predictions for frames 1…13).
- ``scale_factor`` is always 1: VBench only takes its VRAM-aware downscaling branch when
  ``device == 'cuda'``, and ``torch.device('cuda')`` / ``torch.device('cuda:0')`` never equal that
  string, so both VBench's launcher and JointTuner run the full-resolution branch.
- Fewer than 3 frames: the official code asserts (one even frame); here a :class:`VideoError`.

Beyond VBench, any decodable clip is scored (VBench reads only ``.mp4`` files and image folders).

Pairs are batched by the memory budget (at most ``ctx.batch_size``; on a CPU one pair per call,
which measured faster there: ``COSTS["amt_s"].cpu_batch``); VBench runs batch 1. AMT is
batch-invariant up to float rounding (max 4e-6 on its [0, 1] output, measured), which flips a
truncated uint8 value by one on about 1e-4 of the pixels: 3e-6 or less on the 0–100 scale on the
test clips (tested to 1e-4); ``batch_size=1`` reproduces VBench exactly (tested). Where one pair's
two correlation volumes (11 GB per 1080p pair) do not fit the memory budget, AMT computes the
correlation windows it reads on demand instead (same frames up to float rounding, same speed;
counted in ``provenance.json`` as ``amt_pairs_correlation_on_demand``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from jtbench.errors import VideoError
from jtbench.metrics.base import Metric, MetricSpec, MetricValue, Sample, ScoringContext
from jtbench.metrics.memory import MemoryBudget, choose_variant, model_batches
from jtbench.models.amt import correlation_on_demand  # also registers the "amt_s" backbone
from jtbench.models.raft import pad_to_multiple, precision_context, unpad

#: AMT's padder divisor (``InputPadder(shape, 16 / scale)`` with scale 1).
PAD_DIVISOR = 16
#: Time of the predicted frame between the two inputs.
EMBT = 0.5
#: Always 1 in the anchors (see the module docstring).
SCALE_FACTOR = 1.0
#: AMT's 4-level correlation pyramid over 1/8-resolution features needs padded sides of 128 px.
MIN_PADDED_SIDE = 128


def to_uint8_truncating(images: torch.Tensor) -> torch.Tensor:
    """``[B, 3, H, W]`` in [0, 1] → ``[B, H, W, 3]`` uint8 as VBench's ``tensor2img``: truncation, no rounding."""
    return (images.float() * 255.0).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)


@torch.no_grad()
def predict_middle_frames(
    model: torch.nn.Module,
    inputs: torch.Tensor,
    batch_size: int = 16,
    budget: MemoryBudget | None = None,
    on_demand: list[bool] | None = None,
) -> torch.Tensor:
    """AMT predictions between consecutive frames of ``inputs`` (uint8 ``[K, H, W, 3]``) → uint8 ``[K-1, H, W, 3]``.

    Pairs go through AMT as many at a time as the memory budget allows (at most ``batch_size``).
    Where one pair's two correlation volumes do not fit, AMT computes the windows it reads on
    demand (``amt_s_lookup``: the same frames up to float rounding); ``on_demand`` receives
    whether that happened.
    """
    param = next(model.parameters())
    count, height, width = inputs.shape[:3]
    padded_h, padded_w = height + (-height) % PAD_DIVISOR, width + (-width) % PAD_DIVISOR
    budget = budget if budget is not None else MemoryBudget(device=param.device)
    variant = choose_variant("amt_s", padded_h, padded_w, budget)
    if on_demand is not None:
        on_demand.append(variant != "amt_s")

    def predict(start: int, stop: int) -> torch.Tensor:
        frames = inputs[start : stop + 1].to(param.device).permute(0, 3, 1, 2) / 255.0
        frames, pad = pad_to_multiple(frames, PAD_DIVISOR)
        frames = frames.contiguous()  # NCHW as VBench's per-frame F.pad returns: conv kernels follow the layout
        embt = torch.full((stop - start, 1, 1, 1), EMBT, device=param.device)
        with precision_context(model), correlation_on_demand(variant != "amt_s"):
            pred = model(frames[:-1], frames[1:], embt, scale_factor=SCALE_FACTOR, eval=True)["imgt_pred"]
        return to_uint8_truncating(unpad(pred, pad)).cpu()

    batches = model_batches(
        predict, count - 1, variant, padded_h, padded_w, limit=batch_size, budget=budget, device=param.device
    )
    return torch.cat(list(batches))


def pair_errors(targets: torch.Tensor, predictions: torch.Tensor) -> list[float]:
    """Per pair ``mean |target − prediction|`` over all pixels and channels (``cv2.absdiff`` + ``np.mean``)."""
    diffs = (targets.to(torch.int16) - predictions.to(torch.int16)).abs()
    per_pair = diffs.flatten(1).sum(dim=1, dtype=torch.int64)
    pixels = diffs[0].numel()
    return [int(total) / pixels for total in per_pair]


def smoothness_score(errors: Sequence[float]) -> float:
    """``(255 − mean error) / 255`` on the 0–100 scale."""
    return (255.0 - float(np.mean(np.asarray(errors, dtype=np.float64)))) / 255.0 * 100.0


def check_frames(frames: torch.Tensor, source: Path | None = None) -> None:
    """Raise where the official computation has no defined value (too few frames, too small frames)."""
    count, height, width = frames.shape[:3]
    if count < 3:
        raise VideoError(
            f"Mot-Smth needs at least 3 frames, got {count} (it predicts odd frames from even ones; "
            "the official code fails its assertion)",
            file=source,
            fix="score a longer video",
        )
    padded = min(height + (-height) % PAD_DIVISOR, width + (-width) % PAD_DIVISOR)
    if padded < MIN_PADDED_SIDE:
        raise VideoError(
            f"Mot-Smth needs frames of at least {MIN_PADDED_SIDE} px per side, got {height}x{width}: AMT-S's "
            "correlation pyramid degenerates below that (the official code then gets NaN frames, an undefined score)",
            file=source,
            fix="score videos of at least 128x128 pixels",
        )


def motion_smoothness(
    model: torch.nn.Module,
    frames: torch.Tensor,
    batch_size: int = 16,
    source: Path | None = None,
    budget: MemoryBudget | None = None,
    on_demand: list[bool] | None = None,
) -> float:
    """Mot-Smth of uint8 frames ``[T, H, W, 3]`` (T ≥ 3) with an AMT-S model, on the 0–100 scale."""
    check_frames(frames, source)
    predictions = predict_middle_frames(model, frames[0::2], batch_size, budget, on_demand)
    targets = frames[1::2][: predictions.shape[0]]  # even length: the last frame has no partner
    return smoothness_score(pair_errors(targets, predictions))


class MotionSmoothness(Metric):
    spec = MetricSpec(
        name="motion_smoothness",
        column="Mot-Smth",
        description="AMT-S midpoints of even frames vs the real odd frames: (255 − mean abs diff)/255 ×100",
        source="VBench 0.1.5 vbench/motion_smoothness.py (via JointTuner metrics/vbench_score.py, ×100)",
        version="1",
        backbones=("amt_s",),
    )

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        model = ctx.hub.get("amt_s")
        video = sample.video
        on_demand: list[bool] = []
        value = motion_smoothness(model, video.frames, ctx.batch_size, video.source, ctx.memory, on_demand)
        pairs = (video.num_frames - 1) // 2
        return MetricValue(value, details={"amt_pairs_correlation_on_demand": pairs if any(on_demand) else 0})
