"""Small animated previews of scored videos for the HTML report (GIF by default, or MP4).

Each preview is keyed by the video's SHA-256 (the result row key), so one video shown in two
places is converted once and a re-run skips previews that already exist.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from jtbench.io.video import read_video, write_video

THUMBNAIL_FORMATS = ("gif", "mp4")


def resolve_video(video: object, source: object = None) -> Path | None:
    """The scored video's file: absolute as recorded, else relative to its results folder, else to the cwd."""
    if not isinstance(video, str) or not video:
        return None
    path = Path(video)
    candidates = [path] if path.is_absolute() else [Path(str(source)) / path if source else None, Path.cwd() / path]
    return next((c for c in candidates if c is not None and c.is_file()), None)


def _resize(frames: torch.Tensor, height: int) -> torch.Tensor:
    t, h, w, _ = frames.shape
    if h <= height:
        return frames
    width = max(2, round(w * height / h / 2) * 2)
    x = frames.permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(height, width), mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)


def make_thumbnail(
    video: Path, out_dir: Path, key: str, *, fmt: str = "gif", height: int = 112, max_frames: int = 16
) -> Path:
    """Write ``out_dir/<key>.<fmt>``: at most ``max_frames`` evenly spaced frames, ``height`` px high."""
    if fmt not in THUMBNAIL_FORMATS:
        raise ValueError(f"thumbnail format {fmt!r} is not one of {', '.join(THUMBNAIL_FORMATS)}")
    dest = out_dir / f"{key}.{fmt}"
    if dest.is_file():
        return dest
    clip = read_video(video)
    count = min(max_frames, clip.num_frames)
    index = np.unique(np.linspace(0, clip.num_frames - 1, count).round().astype(int)).tolist()
    frames = _resize(clip.frames[index], height)
    fps = max(1.0, clip.fps * len(index) / clip.num_frames)  # keep the clip's duration
    return write_video(frames, dest, fps=fps)
