"""Paths of the real sample media in ``../shared/data`` (a plain module: conftest names collide)."""

from __future__ import annotations

import os
from pathlib import Path

SHARED_DATA = Path(
    os.environ.get("JTBENCH_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data")
)
SAMPLE_VIDEO = SHARED_DATA / "generated" / "jointtuner_cogvideox" / "bear_plushie_person_playing_flute_0.mp4"
CAR_TURN = SHARED_DATA / "motions" / "car_turn" / "car-turn.mp4"
BICYCLE_CLIPS = sorted((SHARED_DATA / "motions" / "riding_bicycle").glob("clip_*.mp4"))



def downscale(frames, height: int, width: int):
    """uint8 ``[T,H,W,3]`` frames area-resized to ``height x width`` (small real clips for fast tests)."""
    import torch
    import torch.nn.functional as F

    x = F.interpolate(frames.permute(0, 3, 1, 2).float(), size=(height, width), mode="area")
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()
