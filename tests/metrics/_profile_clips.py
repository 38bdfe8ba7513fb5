"""Real clips for the vbench-extra / opens2v-open parity tests: unequal lengths, a static and a panning clip.

All are cut from the shared sample media and written as H.264 mp4s (both sides decode the same
file: VBench with OpenCV/decord, OpenS2V with decord, jtbench with PyAV). Small sizes keep the
fast tests fast; the full-resolution originals run in slow mode.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from sample_media import CAR_TURN, SAMPLE_VIDEO, downscale

from jtbench.io.video import read_video, write_video

LONG_PROMPT = (
    "A brown bear plushie with a red bow tie sits on a sunny meadow of tall green grass and yellow flowers, "
    "holding a silver flute to its mouth and playing a cheerful tune while a light breeze moves the petals"
)  # 40+ BPE tokens: over ViCLIP's 32-token context


FAST = ("car_16f_144x144", "sample_49f_96x144", "static_10f_96x128", "panning_10f_96x128", "opposing_10f_96x128")
SLOW = ("car_16f_480x480", "sample_49f_480x720")  # the real files at full resolution
#: ``@pytest.mark.parametrize("name", PARITY_CLIPS)``: every clip, the full-resolution ones in slow runs
PARITY_CLIPS = [*FAST, *(pytest.param(name, marks=pytest.mark.slow) for name in SLOW)]


def panning(frame: torch.Tensor, count: int, height: int, width: int, step: int) -> torch.Tensor:
    """``count`` windows sliding right by ``step`` px across one real frame (a camera pan)."""
    return torch.stack([frame[:height, i * step : i * step + width] for i in range(count)])


def opposing(frame: torch.Tensor, count: int, height: int, width: int, step: int) -> torch.Tensor:
    """Left half panning one way, right half the other: OpenS2V's signed mean cancels."""
    half = width // 2
    start = count * step
    left = torch.stack([frame[:height, start + i * step : start + i * step + half] for i in range(count)])
    right = torch.stack([frame[:height, start - i * step + half : start - i * step + width] for i in range(count)])
    return torch.cat([left, right], dim=2)


def profile_clips(out: Path, *, full: bool = False) -> dict[str, Path]:
    """name → mp4: 16 and 49 real frames at small sizes, static, panning and opposing clips (``full``: 480p too)."""
    car, sample = read_video(CAR_TURN).frames, read_video(SAMPLE_VIDEO).frames
    wide = downscale(sample[:1], 240, 360)[0]
    clips = {
        "car_16f_144x144": downscale(car, 144, 144),
        "sample_49f_96x144": downscale(sample, 96, 144),
        "static_10f_96x128": downscale(car[:1], 96, 128).repeat(10, 1, 1, 1),
        "panning_10f_96x128": panning(wide, 10, 96, 128, 6),
        "opposing_10f_96x128": opposing(wide, 10, 96, 128, 6),
    }
    paths = {name: write_video(frames, out / f"{name}.mp4", fps=8) for name, frames in clips.items()}
    if full:
        paths["car_16f_480x480"], paths["sample_49f_480x720"] = CAR_TURN, SAMPLE_VIDEO
    return paths


@pytest.fixture(scope="module", name="clips")
def clips_fixture(shared_data, tmp_path_factory) -> dict[str, Path]:
    """The ``clips`` fixture: :func:`profile_clips` (import ``clips_fixture`` into a test module to use it)."""
    return profile_clips(tmp_path_factory.mktemp("profile_clips"), full=True)
