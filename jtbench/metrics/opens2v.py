"""The ``opens2v-open`` profile: OpenS2V-Eval's open-weight columns, per video, as its scripts compute them.

PKU-YuanGroup/OpenS2V-Nexus ``eval/`` @210eb08 (Apache-2.0):

* **Aesthetics@OpenS2V** (``get_aesscore.py`` L16-82, defaults L97-107): 32 frames at
  ``np.linspace(0, T − 1, 32, dtype=int)`` (floor: a 16-frame video repeats frames unevenly), each a
  PIL image through ``CLIPProcessor`` into HF CLIP ViT-L/14 ``image_embeds``, L2-normalised, through
  OpenS2V's MLP head; the mean over the 32, on the head's **raw 1–10** scale.
* **Motion@OpenS2V** (``get_motion_amplitude.py`` L11-128, ``motion_fb``): every frame, decoded as
  RGB and converted with ``COLOR_BGR2GRAY`` (the channel weights swapped: OpenS2V's quirk, kept),
  Farneback(0.5, 3, 15, 3, 5, 1.2, 0) on each consecutive pair, each flow map resized with
  ``INTER_AREA`` to width 16 (values not rescaled), the mean map over pairs, its mean over pixels and
  both components — **signed** — and finally ``abs``. Opposing motions cancel; the value depends on
  the resolution and mostly rewards global translation. The unseeded ``motion_lk`` companion is
  not aggregated by OpenS2V and is left out.

Values are per video and unclipped. :func:`leaderboard_scores` applies ``merge_result.py``'s
clipping and normalisation (L71-205) per method, so they sit beside OpenS2V's leaderboard columns;
its TotalScore cannot be formed (it needs NaturalScore from a GPT-4o judge and FaceSim-Cur).
GmeScore (gme-Qwen2-VL-7B) is not included: ~8 B parameters, flash-attention-2 and a version-bound
Qwen2-VL stack, with no offline tiny configuration to test it against.
"""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import torch

from jtbench.errors import InputError
from jtbench.metrics.base import Metric, MetricSpec, MetricValue, Sample, ScoringContext
from jtbench.metrics.clip_preprocess import batched, pil_frames
from jtbench.models.opens2v import HFClipViTL14, OpenS2VAestheticMLP

CLIP = HFClipViTL14.name
HEAD = OpenS2VAestheticMLP.name
PROFILE = "opens2v-open"
SOURCE = "PKU-YuanGroup/OpenS2V-Nexus eval/ @210eb08"
AESTHETICS, MOTION = "Aesthetics@OpenS2V", "Motion@OpenS2V"
NUM_FRAMES = 32
FLOW_WIDTH = 16
FLOW_INTERPOLATION = cv2.INTER_AREA
FARNEBACK = {"pyr_scale": 0.5, "levels": 3, "winsize": 15, "iterations": 3, "poly_n": 5, "poly_sigma": 1.2, "flags": 0}
#: merge_result.py: each video clipped to [low, high], the mean put on (mean − low) / (high − low).
AESTHETICS_RANGE, MOTION_RANGE = (4.0, 7.0), (0.0, 1.0)


def floor_linspace(length: int, count: int = NUM_FRAMES) -> list[int]:
    """``np.linspace(0, length − 1, count, dtype=int)``: floored, repeating frames of short videos."""
    return [int(i) for i in np.linspace(0, length - 1, count, dtype=int)]


def aesthetic_embeds(sample: Sample, ctx: ScoringContext) -> torch.Tensor:
    """Raw ``image_embeds`` ``[32, 768]`` of the 32 floor-linspace frames, each a PIL image through the processor."""
    video = sample.video
    if video.num_frames < 1:
        raise InputError("the video has no frames", file=video.source, fix="pass the full generated video")
    clip = ctx.hub.get(CLIP)
    images = pil_frames(video.frames[floor_linspace(video.num_frames)])

    def encode(start: int, stop: int) -> torch.Tensor:
        return clip.image_embeds(images[start:stop])

    return torch.cat(list(batched(ctx, encode, len(images), CLIP, 224, 224)))


@torch.inference_mode()
def head_scores(embeds: torch.Tensor, head: torch.nn.Module) -> torch.Tensor:
    """The head's raw score per frame (fp32) of L2-normalised embeddings, as ``AestheticScorer.__call__``."""
    weight = next(head.parameters())
    normalised = embeds / torch.linalg.vector_norm(embeds, dim=-1, keepdim=True)
    return head(normalised.to(weight.device, weight.dtype)).squeeze(1).float().cpu()


def grey_frames(frames: torch.Tensor) -> list[np.ndarray]:
    """RGB frames through ``cv2.COLOR_BGR2GRAY``, as OpenS2V converts decord's RGB frames."""
    return [cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_BGR2GRAY) for frame in frames.numpy()]


def downscaled_flows(frames: torch.Tensor) -> list[np.ndarray]:
    """Farneback flow of every consecutive pair, each resized with INTER_AREA to width 16 ``[h, 16, 2]``."""
    if frames.shape[0] < 2:
        raise InputError("Motion@OpenS2V needs at least 2 frames", fix="pass the full generated video")
    grey = grey_frames(frames)
    flows = []
    for previous, current in zip(grey[:-1], grey[1:], strict=True):
        flow = cv2.calcOpticalFlowFarneback(previous, current, None, **FARNEBACK)
        size = (FLOW_WIDTH, int(flow.shape[0] * (FLOW_WIDTH / flow.shape[1])))
        flows.append(cv2.resize(flow, size, interpolation=FLOW_INTERPOLATION))
    return flows


def motion_amplitude(frames: torch.Tensor) -> float:
    """``|mean(mean over pairs of the downscaled flow maps)|`` in float32, as ``_motion_score`` computes it."""
    return abs(float(np.mean(np.mean(np.array(downscaled_flows(frames)), axis=0))))


def leaderboard_scores(aesthetics: pd.Series | None = None, motion: pd.Series | None = None) -> dict[str, float]:
    """``merge_result.process_scores`` for one model's videos: clip each, average, normalise.

    Aesthetics: each clipped to [4, 7], the mean mapped by ``(x − 4) / 3``; Motion: ``min(|x|, 1)``,
    the mean as is. Missing values are left out of the means (the script's per-key counts).
    """
    out = {}
    for name, values, (low, high) in ((AESTHETICS, aesthetics, AESTHETICS_RANGE), (MOTION, motion, MOTION_RANGE)):
        present = pd.Series(dtype=float) if values is None else values.dropna()
        if name == MOTION:
            present = present.abs()
        clipped = present.clip(lower=low, upper=high)
        out[name] = (float(clipped.mean()) - low) / (high - low) if len(clipped) else float("nan")
    return out


def leaderboard_table(results: pd.DataFrame, by: str, columns: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Per ``by`` group, the profile's columns on OpenS2V's leaderboard scale (``... (OpenS2V norm.)``)."""
    rows = []
    for label, group in results.groupby(by, sort=False):
        scores = leaderboard_scores(*(group[c] if c in columns else None for c in (AESTHETICS, MOTION)))
        rows.append({by: label, **{f"{c} (OpenS2V norm.)": scores[c] for c in columns}})
    notes = [
        "(OpenS2V norm.) columns: merge_result.py's clipping and normalisation per method — Aesthetics "
        "clipped to [4, 7] per video, mean mapped to (x − 4)/3; Motion min(|x|, 1) per video, mean as is — "
        "comparable with OpenS2V-Eval's per-metric leaderboard columns.",
        "OpenS2V's TotalScore cannot be formed: it weights in NaturalScore (a GPT-4o API judge), FaceSim-Cur "
        "(face similarity; no JointTuner subject is a face), GmeScore, NexusScore and Motion Smoothness.",
        "GmeScore is not included: gme-Qwen2-VL-7B (~8 B parameters, flash-attention-2) has no offline tiny "
        "configuration to test it against.",
    ]
    return pd.DataFrame(rows), notes


def _spec(name: str, column: str, description: str, backbones: tuple[str, ...] = ()) -> MetricSpec:
    return MetricSpec(name=name, column=column, description=description, source=SOURCE, version="1",
                      backbones=backbones, paper=False, profile=PROFILE)  # fmt: skip


class AestheticsOpenS2V(Metric):
    """OpenS2V's Aesthetics: its MLP head on HF CLIP ViT-L/14 embeddings of 32 floor-linspace frames."""

    spec = _spec("aesthetics_opens2v", AESTHETICS, "OpenS2V aesthetic MLP on normalised CLIP ViT-L/14 image_embeds, "
                 "mean of 32 floor-linspace frames (raw 1–10)", (CLIP, HEAD))  # fmt: skip

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        return MetricValue(float(head_scores(aesthetic_embeds(sample, ctx), ctx.hub.get(HEAD)).mean()))


class MotionOpenS2V(Metric):
    """OpenS2V's motion amplitude (``motion_fb``): |signed mean| of downscaled Farneback flow."""

    spec = _spec("motion_opens2v", MOTION, "|signed mean| of Farneback flow (BGR2GRAY on RGB frames), each map "
                 "INTER_AREA-resized to width 16 (pixels, unclipped)")  # fmt: skip

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        return MetricValue(motion_amplitude(sample.video.frames))

