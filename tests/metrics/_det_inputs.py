"""Inputs and helpers shared by the det profile's parity tests (``test_det_profile``, ``test_det_motion_fidelity``).

Import ``clips_fixture`` and ``soft_mask_fixture`` into a test module to use the ``clips`` and ``soft_mask``
fixtures; :data:`PARITY` collects |ours − reference| across both modules for the printed figures.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
import torch
from _det_reference import box_from_mask_png, tracklets
from PIL import Image
from sample_media import CAR_TURN, downscale

from jtbench.io.video import read_video, write_video
from jtbench.metrics import det
from jtbench.metrics.base import Sample, ScoringContext, create_metric
from jtbench.models.base import ModelHub
from jtbench.models.trackers import LucasKanadeTracker

PROMPT = "A bear plushie playing the flute on the grass."
TOL = 1e-6
PARITY: dict[str, dict[str, float]] = {}


def record(case: str, column: str, ours: float, theirs: float) -> None:
    PARITY.setdefault(case, {})[column] = abs(ours - theirs)


@pytest.fixture(scope="module", name="clips")
def clips_fixture(shared_data, sample_video, tmp_path_factory) -> dict[str, Path]:
    """Real clips: 49 frames (downscaled 480x720 sample), 16 (car-turn), a static and a panning one."""
    out = tmp_path_factory.mktemp("det_clips")
    car = read_video(CAR_TURN).frames
    still = car[:1].repeat(12, 1, 1, 1)
    pan = torch.stack([car[0, 40 : 40 + 200, 8 * t : 8 * t + 300] for t in range(16)])
    return {
        "gen_49f": write_video(downscale(read_video(sample_video).frames, 160, 240), out / "gen49.mp4", fps=8),
        "ref_16f": write_video(downscale(car, 192, 192), out / "ref16.mp4", fps=8),
        "static_12f": write_video(downscale(still, 120, 120), out / "static.mp4", fps=8),
        "pan_16f": write_video(pan, out / "pan.mp4", fps=8),
    }


@pytest.fixture(scope="module", name="soft_mask")
def soft_mask_fixture(tmp_path_factory) -> Path:
    """A soft-edged L-mode mask (faint halo pixels count, as in MTBench's), 480x720 like DeT's."""
    y, x = np.mgrid[0:480, 0:720]
    inside = np.exp(-((((x - 300) / 120.0) ** 2 + ((y - 260) / 90.0) ** 2) ** 3)) * 255
    path = tmp_path_factory.mktemp("det_mask") / "00000.png"
    Image.fromarray(inside.astype(np.uint8), mode="L").save(path)
    return path


CONTEXTS: dict[int, ScoringContext] = {}


def score_one(hub: ModelHub, video: Path, column: str, *, prompt: str = PROMPT, reference: Path | None = None,
          batch_size: int = 5) -> det.MetricValue:  # fmt: skip
    """One column on one video (batches unlike DeT's single one); one context per hub, so tracks are
    computed once per file and mask (what the tests alter comes after tracking)."""
    ctx = CONTEXTS.setdefault(id(hub), ScoringContext(hub=hub, batch_size=batch_size))
    return create_metric(column).score(Sample(read_video(video), prompt=prompt, reference_video=reference), ctx)


@functools.cache
def reference_tracks(path: Path, mask_png: Path | None) -> torch.Tensor:
    """DeT's ``get_tracklets`` on the LK stand-in, once per clip and mask."""
    mask = box_from_mask_png(mask_png) if mask_png is not None else None
    return tracklets(LKPredictor(), read_video(path).frames, mask)


def with_mask(clip: Path, mask_png: Path, tmp_path: Path) -> Path:
    """A copy of ``clip`` with the mask beside it, named as the prepared data names it."""
    folder = tmp_path / "motion"
    folder.mkdir(exist_ok=True)
    (folder / "00.mp4").write_bytes(clip.read_bytes())
    (folder / "00.mask.png").write_bytes(mask_png.read_bytes())
    return folder / "00.mp4"


class LKPredictor:
    """The LK stand-in behind CoTracker's predictor call (``video, grid_size, segm_mask`` → ``[1, T, N, 2]``)."""

    def __call__(self, video: torch.Tensor, grid_size: int, segm_mask: torch.Tensor | None = None):
        frames = video[0].permute(0, 2, 3, 1).round().to(torch.uint8)
        mask = None if segm_mask is None else segm_mask[0, 0]
        tracks = LucasKanadeTracker().track(frames, grid_size, mask)
        return tracks.permute(1, 0, 2)[None], None
