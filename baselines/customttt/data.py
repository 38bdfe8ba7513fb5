"""CustomTTT's training inputs: square centre crops at 256 px (CT-supp §1 trains and samples at
256×256), subject images as one-frame latents, clips at 8 FPS with a random 16-frame window."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import torch

from jtbench.io.video import read_image, read_video, stride_round


def square(frames_hwc: torch.Tensor, size: int) -> torch.Tensor:
    """``uint8 [N, H, W, 3]`` → ``[N, 3, size, size]`` in [-1, 1]: short side to ``size``, centre crop."""
    from torchvision.transforms.v2 import functional as TF

    x = TF.resize(frames_hwc.permute(0, 3, 1, 2), size, antialias=True)
    return TF.center_crop(x, [size, size]).float().div(127.5).sub(1.0)


def load_images(paths: Sequence[Path], size: int) -> list[torch.Tensor]:
    """Each image (sorted) as ``[1, 1, 3, S, S]`` (batch, frames, …); raises naming an unreadable file."""
    return [square(read_image(p)[None], size)[None] for p in sorted(paths)]


def load_clips(paths: Sequence[Path], fps: float = 8.0) -> list[torch.Tensor]:
    """Each clip's frames at ``fps`` (every ``round(native/fps)``-th), uint8 ``[T, H, W, 3]``."""
    clips = []
    for path in sorted(paths):
        clip = read_video(path, min_frames=2)
        clips.append(clip.frames[:: min(clip.num_frames, stride_round(clip.fps, fps))])
    return clips


def clip_window(frames: torch.Tensor, length: int, size: int, rng: random.Random) -> torch.Tensor:
    """A random ``length``-frame window as ``[1, F, 3, S, S]`` (all of it if the clip is shorter)."""
    n = min(length, frames.shape[0])
    start = rng.randint(0, frames.shape[0] - n)
    return square(frames[start : start + n], size)[None]
