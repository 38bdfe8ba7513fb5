"""Shared helpers for the Subj-Con / Img-Q parity tests: short real clips and VBench's own scorers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from jtbench.io.video import read_video, write_video


def short_copy(source: Path, target: Path, num_frames: int) -> Path:
    """The first ``num_frames`` frames of ``source`` re-encoded as mp4 (both sides read this file)."""
    clip = read_video(source)
    return write_video(clip.frames[:num_frames], target, fps=clip.fps)


def synthetic_video(target: Path, *, frames: int, height: int, width: int, seed: int = 0) -> Path:
    """A smooth moving pattern with some noise: real structure for the models to see."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    out = []
    for t in range(frames):
        r = 127 + 100 * np.sin((xx + 9 * t) / 17.0)
        g = 127 + 100 * np.cos((yy - 5 * t) / 23.0)
        b = 127 + 60 * np.sin((xx + yy + 13 * t) / 31.0)
        image = np.stack([r, g, b], axis=-1) + rng.normal(0, 12, (height, width, 3))
        out.append(np.clip(image, 0, 255).astype(np.uint8))
    return write_video(np.stack(out), target, fps=8.0)


def vbench_subject_consistency(model: torch.nn.Module, path: Path) -> float:
    """VBench 0.1.5's per-video value (0–1) for one video, computed by its own function."""
    from vbench.subject_consistency import subject_consistency

    _, per_video = subject_consistency(model, [str(path)], torch.device("cpu"), read_frame=False)
    return float(per_video[0]["video_results"])


def vbench_imaging_quality(model: torch.nn.Module, path: Path, mode: str | None = None) -> float:
    """VBench 0.1.5's per-video MUSIQ mean (0–100) for one video; ``mode=None`` = JointTuner's call."""
    from vbench.imaging_quality import technical_quality

    kwargs = {} if mode is None else {"imaging_quality_preprocessing_mode": mode}
    _, per_video = technical_quality(model, [str(path)], torch.device("cpu"), **kwargs)
    return float(per_video[0]["video_results"])
