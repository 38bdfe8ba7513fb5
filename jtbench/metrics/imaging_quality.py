"""Img-Q: VBench ``imaging_quality`` — the MUSIQ-SPAQ technical-quality MOS of every frame.

Definition (VBench ``vbench/imaging_quality.py``, as JointTuner calls it): every frame (no fps
resampling) as float 0–255, resized by the preprocessing mode, divided by 255, scored by
MUSIQ-SPAQ; the video's score is the plain mean of the per-frame MOS, already on the 0–100 scale
(VBench divides its *dataset* mean by 100 and JointTuner multiplies by 100 again).

Preprocessing modes (VBench's ``imaging_quality_preprocessing_mode``; all resizes bilinear,
``antialias=False``, on float data, sizes truncated with ``int``):

* ``longer`` (default — VBench's default when the kwarg is absent, as in JointTuner's call, and
  its CLI default since April 2024): if ``max(H, W) > 512``, scale so the long side is 512
  (480x720 → 341x512).
* ``shorter``: if ``min(H, W) > 512``, scale so the short side is 512.
* ``shorter_centercrop``: ``shorter`` plus a 512x512 centre crop — applied only when the resize
  happened (VBench's quirk: smaller frames are not cropped). The pre-April-2024 default.
* ``None``: no resize.

The mode is part of the metric's version (``1-longer`` …) so results record it; only ``longer``
reproduces the paper, the others report under their own names and columns
(``imaging_quality_shorter`` → ``Img-Q (shorter)``, ``imaging_quality_shorter_centercrop``,
``imaging_quality_no_resize``). Frames go through MUSIQ in memory-sized batches (at most
``ctx.batch_size``; on a CPU one at a time, which is faster there — see ``COSTS`` in
:mod:`jtbench.metrics.memory`) instead of one at a time (batch invariance is tested) and under ``no_grad``
(VBench builds autograd graphs; same numbers).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

from jtbench.errors import InputError, VideoError
from jtbench.metrics.base import Metric, MetricSpec, MetricValue, Sample, ScoringContext
from jtbench.metrics.memory import MemoryBudget, model_batches

MUSIQ_SIDE = 512


def _resize(frames: torch.Tensor, scale: float) -> torch.Tensor:
    h, w = frames.shape[-2:]
    size = [int(scale * h), int(scale * w)]
    return TF.resize(frames, size, interpolation=InterpolationMode.BILINEAR, antialias=False)


def _longer(frames: torch.Tensor) -> torch.Tensor:
    longest = max(frames.shape[-2:])
    return _resize(frames, MUSIQ_SIDE / longest) if longest > MUSIQ_SIDE else frames


def _shorter(frames: torch.Tensor) -> torch.Tensor:
    shortest = min(frames.shape[-2:])
    return _resize(frames, MUSIQ_SIDE / shortest) if shortest > MUSIQ_SIDE else frames


def _shorter_centercrop(frames: torch.Tensor) -> torch.Tensor:
    if min(frames.shape[-2:]) > MUSIQ_SIDE:
        return TF.center_crop(_shorter(frames), [MUSIQ_SIDE, MUSIQ_SIDE])
    return frames


def _no_resize(frames: torch.Tensor) -> torch.Tensor:
    return frames


#: VBench's preprocessing modes by name; ``longer`` is the paper's.
PREPROCESSING: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "longer": _longer,
    "shorter": _shorter,
    "shorter_centercrop": _shorter_centercrop,
    "None": _no_resize,
}


def musiq_transform(frames: torch.Tensor, mode: str = "longer") -> torch.Tensor:
    """``uint8 [T, H, W, 3]`` → ``float32 [T, 3, h, w]`` in [0, 1], resized as VBench's ``mode``."""
    return PREPROCESSING[mode](frames.permute(0, 3, 1, 2).float()) / 255.0


@torch.no_grad()
def musiq_scores(
    model: torch.nn.Module,
    frames: torch.Tensor,
    batch_size: int,
    mode: str = "longer",
    budget: MemoryBudget | None = None,
) -> torch.Tensor:
    """Per-frame MUSIQ MOS ``float64 [T]`` (0–100), a memory-sized batch (≤ ``batch_size``) at a time."""
    param = next(model.parameters())

    def scores(start: int, stop: int) -> torch.Tensor:
        batch = musiq_transform(frames[start:stop], mode).to(param.device, param.dtype)
        return model(batch).reshape(-1).double().cpu()

    height, width = musiq_transform(frames[:1], mode).shape[-2:]
    batches = model_batches(
        scores, frames.shape[0], "musiq_spaq", height, width, limit=batch_size, budget=budget, device=param.device
    )
    return torch.cat(list(batches))


#: Registry suffix and column label of each non-paper mode.
_VARIANT_LABELS = {"shorter": "shorter", "shorter_centercrop": "shorter_centercrop", "None": "no_resize"}


def variant_spec(mode: str) -> MetricSpec:
    """The spec of a non-default mode: its own name, column and version, never the paper's Img-Q."""
    label = _VARIANT_LABELS[mode]
    return MetricSpec(
        name=f"imaging_quality_{label}",
        column=f"Img-Q ({label.replace('_', ' ')})",
        description=f"mean per-frame MUSIQ-SPAQ MOS; VBench preprocessing mode {mode!r}",
        source="VBench vbench/imaging_quality.py (0.1.5), imaging_quality_preprocessing_mode=" + repr(mode),
        version=f"1-{mode}",
        backbones=("musiq_spaq",),
        paper=False,
    )


class ImagingQuality(Metric):
    """Img-Q (VBench imaging_quality): mean MUSIQ-SPAQ MOS over frames, 0–100, higher is better.

    ``ImagingQuality(preprocessing_mode=...)`` selects another VBench mode; it then reports under
    that mode's own name and column (see :func:`variant_spec`), as the registered variants do.
    """

    spec = MetricSpec(
        name="imaging_quality",
        column="Img-Q",
        description="mean per-frame MUSIQ-SPAQ MOS; frames resized so the long side is at most 512",
        source="VBench vbench/imaging_quality.py (0.1.5) via JointTuner metrics/vbench_score.py",
        version="1-longer",
        backbones=("musiq_spaq",),
    )
    preprocessing_mode: str = "longer"

    def __init__(self, preprocessing_mode: str | None = None) -> None:
        mode = type(self).preprocessing_mode if preprocessing_mode is None else preprocessing_mode
        if mode not in PREPROCESSING:
            raise InputError(
                f"unknown Img-Q preprocessing mode {mode!r}",
                fix=f"choose one of {', '.join(PREPROCESSING)} ('longer' reproduces the paper)",
            )
        self.preprocessing_mode = mode
        if mode != type(self).preprocessing_mode:
            self.spec = ImagingQuality.spec if mode == "longer" else variant_spec(mode)

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        if sample.video.num_frames == 0:  # VBench would divide by zero
            raise VideoError("Img-Q needs at least one frame, the video has none", file=sample.video.source)
        model = ctx.hub.get("musiq_spaq")
        scores = musiq_scores(model, sample.video.frames, ctx.batch_size, self.preprocessing_mode, ctx.memory)
        return MetricValue(float(scores.mean()))


class ImagingQualityShorter(ImagingQuality):
    """VBench ``shorter`` mode: short side capped at 512."""

    spec = variant_spec("shorter")
    preprocessing_mode = "shorter"


class ImagingQualityShorterCentercrop(ImagingQuality):
    """VBench ``shorter_centercrop`` mode (its pre-April-2024 default)."""

    spec = variant_spec("shorter_centercrop")
    preprocessing_mode = "shorter_centercrop"


class ImagingQualityNoResize(ImagingQuality):
    """VBench ``None`` mode: frames at their own resolution."""

    spec = variant_spec("None")
    preprocessing_mode = "None"
