"""DreamVideo's training data: square centre crops (VGen resizes the short side and centre-crops
to 256), images as one-frame videos, clips sampled at 8 FPS from a random start, optional masks.

VGen zero-pads clips shorter than the frame count; we train on what the clip has instead (the
benchmark's prepared clips are exactly 16 frames at 8 FPS, so this never triggers there).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from jtbench.errors import VideoError
from jtbench.io.video import read_image, read_video, stride_round


def square(frames_hwc: torch.Tensor, size: int) -> torch.Tensor:
    """``uint8 [N, H, W, 3]`` → float ``[N, 3, size, size]`` in [-1, 1] (short side → size, centre crop)."""
    from torchvision.transforms.v2 import functional as TF

    x = frames_hwc.permute(0, 3, 1, 2)
    x = TF.resize(x, size, antialias=True)
    x = TF.center_crop(x, [size, size])
    return x.float().div(127.5).sub(1.0)


@dataclass
class SubjectImage:
    pixels: torch.Tensor  # [1, 3, S, S] in [-1, 1]
    mask: torch.Tensor | None  # [1, 1, S, S] in {0, 1}, or None (plain loss)
    source: Path


def load_subject_images(paths: Sequence[Path], size: int, mask_dir: Path | None = None) -> list[SubjectImage]:
    """Every subject image (sorted) with its binary mask ``<mask_dir>/<stem>.png`` when a mask folder
    is configured (VGen's ``use_mask_diffusion``); without one the loss is the plain ε-MSE."""
    out = []
    for path in sorted(paths):
        pixels = square(read_image(path)[None], size)
        mask = None
        if mask_dir is not None:
            mask_path = Path(mask_dir) / f"{Path(path).stem}.png"
            if not mask_path.is_file():
                raise VideoError("subject mask is missing", file=mask_path,
                                 fix="add a binary mask per image or set mask_dir: null in the DreamVideo config")
            mask = (square(read_image(mask_path)[None], size)[:, :1] > 0).float()
        out.append(SubjectImage(pixels, mask, Path(path)))
    return out


@dataclass
class MotionClip:
    frames: torch.Tensor  # uint8 [T, H, W, 3] at 8 FPS (all of them, for random windows)
    source: Path


def load_motion_clips(paths: Sequence[Path], fps: float = 8.0) -> list[MotionClip]:
    """Decode each clip once and keep every ``round(native_fps / 8)``-th frame (raises naming a bad file)."""
    clips = []
    for path in sorted(paths):
        clip = read_video(path, min_frames=2)
        stride = min(clip.num_frames, stride_round(clip.fps, fps))
        clips.append(MotionClip(clip.frames[::stride], Path(path)))
    return clips


def clip_window(clip: MotionClip, frames: int, size: int, rng: random.Random) -> tuple[torch.Tensor, int]:
    """A random ``frames``-long window as ``[F, 3, S, S]`` in [-1, 1], and one random frame index in it
    (VGen's ``get_random_frame``: the appearance guide of this sample)."""
    n = min(frames, clip.frames.shape[0])
    start = rng.randint(0, clip.frames.shape[0] - n)
    window = clip.frames[start : start + n]
    return square(window, size), start + rng.randint(0, n - 1)
