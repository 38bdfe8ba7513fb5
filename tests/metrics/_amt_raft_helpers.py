"""Shared helpers for the Mot-Smth / Dyn-Deg parity tests: small real clips and VBench's own scorers.

Both sides read the very same files: clips are downscaled copies written with ``write_video`` (h264
yuv420p, which OpenCV and PyAV decode to the same bits on the machines measured; where a test needs
the very same frames by construction, VBench gets jtbench's decode as PNGs), synthetic odd-sized
frames go to PNG folders (VBench's image-folder path) and to a :class:`VideoClip` with the same pixels.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from jtbench.io.video import VideoClip, read_video, write_video


def small_copy(source: Path, target: Path, *, height: int, width: int, max_frames: int | None = None) -> Path:
    """``source`` resized to ``height × width`` (area filter), first ``max_frames`` frames, same fps."""
    clip = read_video(source)
    frames = clip.frames[:max_frames].permute(0, 3, 1, 2).float()
    small = F.interpolate(frames, size=(height, width), mode="area").round().clamp(0, 255).to(torch.uint8)
    return write_video(small.permute(0, 2, 3, 1).contiguous(), target, fps=clip.fps)


def moving_pattern(frames: int, height: int, width: int, seed: int = 0, speed: int = 6) -> np.ndarray:
    """uint8 ``[T, H, W, 3]``: a smooth drifting pattern with noise, real structure for the models."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    out = []
    for t in range(frames):
        r = 127 + 100 * np.sin((xx + speed * t) / 11.0)
        g = 127 + 100 * np.cos((yy - speed * t) / 17.0)
        b = 127 + 60 * np.sin((xx + yy + 2 * speed * t) / 23.0)
        image = np.stack([r, g, b], axis=-1) + rng.normal(0, 10, (height, width, 3))
        out.append(np.clip(image, 0, 255).astype(np.uint8))
    return np.stack(out)


def png_folder(frames: np.ndarray, folder: Path) -> tuple[Path, VideoClip]:
    """Frames as lossless PNGs for VBench's folder path, and the same pixels as an 8-fps clip for ours."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:03d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return folder, VideoClip(torch.from_numpy(frames.copy()), 8.0, folder, f"synthetic-{folder.name}")


def vbench_motion_smoothness(ckpt: Path):
    """VBench's own ``MotionSmoothness`` scorer, built and loaded by VBench from our checkpoint file."""
    from vbench.motion_smoothness import MotionSmoothness

    from jtbench.models.amt import amt_s_config_path

    return MotionSmoothness(str(amt_s_config_path()), str(ckpt), "cpu")


def vbench_motion_value(scorer, path: Path) -> float:
    """VBench's per-video Mot-Smth, ×100 as JointTuner reports it."""
    from vbench.motion_smoothness import motion_smoothness

    _, per_video = motion_smoothness(scorer, [str(path)])
    return float(per_video[0]["video_results"]) * 100.0


def vbench_dynamic_degree(ckpt: Path):
    """VBench's own ``DynamicDegree`` (its vendored RAFT), loading our ``raft-things.pth``-format file."""
    from easydict import EasyDict
    from vbench.dynamic_degree import DynamicDegree

    args = EasyDict({"model": str(ckpt), "small": False, "mixed_precision": False, "alternate_corr": False})
    return DynamicDegree(args, "cpu")


def vbench_dynamic_run(scorer, path: Path) -> tuple[bool, list[float], dict]:
    """VBench's decision for one video plus the per-pair scores and params it decided on."""
    from vbench.dynamic_degree import dynamic_degree

    seen: list[list[float]] = []
    decide = type(scorer).check_move

    def recording_check_move(score_list):
        seen.append(list(score_list))
        return decide(scorer, score_list)

    scorer.check_move = recording_check_move
    try:
        _, per_video = dynamic_degree(scorer, [str(path)])
    finally:
        del scorer.check_move
    return bool(per_video[0]["video_results"]), seen[0], dict(scorer.params)


class FixedHub:
    """A stand-in for ModelHub handing out given models (stub interpolators in formula tests)."""

    def __init__(self, **models) -> None:
        self.models = models

    def get(self, name: str):
        return self.models[name]


def short_copy(source: Path, target: Path, num_frames: int) -> Path:
    """The first ``num_frames`` frames of ``source`` at full size, re-encoded with the same fps."""
    clip = read_video(source)
    return write_video(clip.frames[:num_frames], target, fps=clip.fps)
