"""The ``vbench-extra`` profile: two VBench 0.1.5 dimensions beyond the paper's six, as custom-input mode runs them.

VBench's ``custom_input`` mode blocks only the dimensions that need its own prompt metadata, so
``temporal_flickering`` and ``overall_consistency`` (and ``temporal_style``) run on any video:

* **Temp-Flicker@VBench** (``temporal_flickering.py`` L16-63): every frame at full resolution
  (OpenCV; the channel order cannot matter), ``mean(absdiff(float32 f_i, float32 f_i+1))`` per
  consecutive pair, score = ``(255 − mean over pairs) / 255``. **No static filter**: VBench keeps
  that in a separate CLI (``static_filter.py``) which custom mode does not run, so on moving
  videos this mostly measures how much they move.
* **Overall-Con@VBench** (``overall_consistency.py`` L22-64): ViCLIP on 8 "middle" frames
  (``get_frame_indices(8, T, 'middle')``: the middle of each of 8 equal intervals, the last index
  repeated when the video is shorter), ``clip_transform(224)`` on the **uint8** frames (bicubic
  resize with ``antialias=False``, rounded back to uint8, centre crop, CLIP mean/std), the prompt
  through ViCLIP's tokenizer with a **32-token context, truncated** (EOT kept last); score = the
  raw cosine of the two normalised features (about 0.2–0.3 with the released weights).
  VBench's ``temporal_style`` is the same code (``temporal_style.py`` L22-65) and gives the same
  number for the same prompt, so it has no column of its own.

Deliberate differences: a video with fewer than 2 frames is an error (VBench's mean of no pairs is
a silent NaN), and so is a missing prompt.
"""

from __future__ import annotations

import numpy as np
import torch

from jtbench.errors import InputError
from jtbench.metrics.base import Metric, MetricSpec, MetricValue, Sample, ScoringContext
from jtbench.metrics.clip_preprocess import batched, vbench_clip_pixels
from jtbench.models.viclip import ViClipInternVid

VICLIP = ViClipInternVid.name
PROFILE = "vbench-extra"


def flicker_score(frames: torch.Tensor) -> float:
    """``(255 − mean_i MAE(f_i, f_i+1)) / 255`` over every consecutive pair of ``uint8 [T, H, W, 3]`` frames.

    Each pair's absolute differences are summed exactly in int64 and divided in float64 (VBench's
    float32 ``np.mean`` agrees to ~1e-9 on this scale).
    """
    if frames.shape[0] < 2:
        raise InputError("Temp-Flicker@VBench needs at least 2 frames", fix="pass the full generated video")
    values = frames[0].numel()
    maes = [
        float((frames[i + 1].to(torch.int16) - frames[i].to(torch.int16)).abs().sum(dtype=torch.int64)) / values
        for i in range(frames.shape[0] - 1)
    ]
    return (255.0 - float(np.mean(maes))) / 255.0


def middle_frame_indices(num_frames: int, length: int) -> list[int]:
    """VBench's ``get_frame_indices(num_frames, length, sample='middle')``.

    ``length`` is split at ``linspace(0, length, n + 1).astype(int)`` into ``n = min(num_frames,
    length)`` intervals ``[a, b − 1]``; each gives ``(a + b − 1) // 2``; short videos repeat the last.
    """
    count = min(num_frames, length)
    edges = np.linspace(0, length, count + 1).astype(int)
    indices = [int(a + b - 1) // 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return indices + [indices[-1]] * (num_frames - count)


def overall_consistency_score(sample: Sample, ctx: ScoringContext) -> float:
    """Cosine of ViCLIP's video feature (8 middle frames) and the prompt's feature."""
    video = sample.video
    if video.num_frames < 1:
        raise InputError("the video has no frames", file=video.source, fix="pass the full generated video")
    if not sample.prompt:
        raise InputError("Overall-Con@VBench needs the prompt", file=video.source,
                         fix="give the video a case_id or a prompt")  # fmt: skip
    model = ctx.hub.get(VICLIP)
    frames = video.frames[middle_frame_indices(model.frames, video.num_frames)]

    def encode(start: int, stop: int) -> torch.Tensor:  # one item: the whole 8-frame clip
        return model.video_features(vbench_clip_pixels(frames, 224, uint8=True).unsqueeze(0))

    clip_feature = torch.cat(list(batched(ctx, encode, 1, VICLIP, 224, 224)))
    text_feature = ctx.cached((VICLIP, "viclip-text", sample.prompt), lambda: model.text_features(sample.prompt))
    return float((clip_feature @ text_feature.T)[0, 0].cpu())


def _spec(name: str, column: str, description: str, source: str, backbones: tuple[str, ...] = (),
          **needs: bool) -> MetricSpec:  # fmt: skip
    return MetricSpec(name=name, column=column, description=description + " (0–1)", source=source, version="1",
                      backbones=backbones, paper=False, profile=PROFILE, **needs)  # fmt: skip


class TempFlickerVBench(Metric):
    """VBench's temporal_flickering, unfiltered as custom-input mode runs it."""

    spec = _spec("temporal_flickering_vbench", "Temp-Flicker@VBench",
                 "(255 − mean absolute difference of consecutive frames) / 255, every frame, no static filter",
                 "VBench 0.1.5 vbench/temporal_flickering.py (custom_input)")  # fmt: skip

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        return MetricValue(flicker_score(sample.video.frames))


class OverallConVBench(Metric):
    """VBench's overall_consistency (= temporal_style): ViCLIP video-text cosine."""

    spec = _spec("overall_consistency_vbench", "Overall-Con@VBench",
                 "ViCLIP cosine of 8 middle frames and the prompt (32-token context); VBench's temporal_style "
                 "is the same code", "VBench 0.1.5 vbench/overall_consistency.py (custom_input)", (VICLIP,),
                 needs_prompt=True)  # fmt: skip

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        return MetricValue(overall_consistency_score(sample, ctx))
