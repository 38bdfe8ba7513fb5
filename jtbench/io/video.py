"""Decode a video once with PyAV; the anchors' frame-sampling rules; mp4/gif writing.

The official pipeline decodes every video up to ten times with OpenCV and decord; on h264
yuv420p files PyAV's ``rgb24`` conversion gave the same bits as both on every machine measured,
so one decode serves all ten metrics. That is a property of three bundled ffmpeg builds, not of
this code: the test against OpenCV on the shared sample video allows one level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

from jtbench.errors import VideoError
from jtbench.io.digest import file_sha256

__all__ = [
    "VideoClip",
    "count_frames",
    "file_sha256",
    "read_image",
    "read_video",
    "sample_every",
    "stride_int",
    "stride_round",
    "write_video",
]

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".gif")


@dataclass(frozen=True)
class VideoClip:
    """Decoded RGB frames ``uint8 [T, H, W, 3]`` plus the fps the container declares."""

    frames: torch.Tensor
    fps: float
    source: Path | None = None
    digest: str = ""  # SHA-256 of the file bytes: the cache and result-row key
    notes: tuple[str, ...] = field(default=())

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])

    def select(self, indices: list[int] | range) -> VideoClip:
        return VideoClip(self.frames[list(indices)], self.fps, self.source, self.digest, self.notes)


def read_video(path: str | Path, *, min_frames: int = 1) -> VideoClip:
    """Decode every frame of ``path`` to RGB uint8. Raises :class:`VideoError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise VideoError("video file does not exist", file=path, fix="check the path")
    if path.stat().st_size == 0:
        raise VideoError("video file is empty (0 bytes)", file=path, fix="re-export the video")
    frames: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError("file has no video stream", file=path, fix="pass an mp4/gif video file")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            fps = float(rate) if rate else 0.0
            for frame in container.decode(stream):
                frames.append(frame.to_ndarray(format="rgb24"))
    except VideoError:
        raise
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        if not frames:
            raise VideoError(f"cannot decode: {exc}", file=path, fix="check that the file is a complete video") from exc
        # A truncated tail: keep the frames that decoded, but never silently.
        note = f"decoding stopped after {len(frames)} frames: {exc}"
        return _finish(path, frames, fps, min_frames, (note,))
    return _finish(path, frames, fps, min_frames, ())


def count_frames(path: str | Path) -> int:
    """Frames in a video without decoding it: the container's count, else its video packets."""
    path = Path(path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError("file has no video stream", file=path, fix="pass an mp4 video file")
            stream = container.streams.video[0]
            if stream.frames:
                return int(stream.frames)
            return sum(1 for packet in container.demux(stream) if packet.size)
    except (av.error.FFmpegError, OSError) as exc:
        raise VideoError(f"cannot read: {exc}", file=path, fix="check that the file is a complete video") from exc


def _finish(path: Path, frames: list[np.ndarray], fps: float, min_frames: int, notes: tuple[str, ...]) -> VideoClip:
    if len(frames) < min_frames:
        what = "no frames" if not frames else f"{len(frames)} frame(s)"
        raise VideoError(
            f"video has {what}; at least {min_frames} needed", file=path, fix="pass a video with more frames"
        )
    if path.suffix.lower() == ".gif" and fps <= 0:
        fps = 8.0
    tensor = torch.from_numpy(np.stack(frames))
    return VideoClip(tensor, fps, path, file_sha256(path), notes)


def read_image(path: str | Path) -> torch.Tensor:
    """An RGB image as ``uint8 [H, W, 3]`` (PIL, as the anchors' ``Image.open().convert('RGB')``)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as img:
            return torch.from_numpy(np.asarray(img.convert("RGB")).copy())
    except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
        raise VideoError(f"cannot read image: {exc}", file=path, fix="pass a JPEG or PNG image") from exc


# -- the anchors' frame-sampling rules --------------------------------------------------------
def stride_int(fps: float, target_fps: float = 8.0) -> int:
    """JointTuner's CLIP/PickScore sampler: every ``max(1, int(fps / target))``-th frame."""
    return max(1, int(fps / target_fps))


def stride_round(fps: float, target_fps: float = 8.0) -> int:
    """VBench dynamic_degree (and the training data loaders): every ``max(1, round(fps / target))``-th frame."""
    return max(1, round(fps / target_fps))


def sample_every(num_frames: int, stride: int, limit: int | None = None) -> list[int]:
    """Indices 0, stride, 2·stride, …, optionally only the first ``limit``."""
    idx = list(range(0, num_frames, max(1, stride)))
    return idx[:limit] if limit is not None else idx


# -- writing ----------------------------------------------------------------------------------
def write_video(
    frames: torch.Tensor | np.ndarray,
    path: str | Path,
    fps: float = 8.0,
    *,
    crf: int = 18,
    options: dict[str, str] | None = None,
) -> Path:
    """Write ``uint8 [T, H, W, 3]`` as h264 mp4 (yuv420p) or, for ``.gif``, an animated GIF.

    Odd sizes are padded by one pixel (h264 needs even dimensions). Writes atomically. The bytes
    depend only on the frames: one x264 thread (its default follows the machine's core count) and
    our own RGB→yuv420p conversion, so a regenerated video keeps its SHA-256 (the result-row key).
    """
    path = Path(path)
    array = np.ascontiguousarray(frames.numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames))
    if array.dtype != np.uint8 or array.ndim != 4 or array.shape[-1] != 3:
        raise ValueError(f"write_video expects uint8 [T, H, W, 3], got {array.dtype} {array.shape}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    if path.suffix.lower() == ".gif":
        _write_gif(array, tmp, fps)
    else:
        h, w = array.shape[1:3]
        pad_h, pad_w = h % 2, w % 2
        if pad_h or pad_w:
            array = np.pad(array, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        with av.open(str(tmp), mode="w", format="mp4", options=dict(options or {})) as container:
            stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
            stream.width, stream.height = array.shape[2], array.shape[1]
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": str(crf), "threads": "1"}
            for image in array:
                frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
    tmp.replace(path)
    return path


def _write_gif(array: np.ndarray, path: Path, fps: float) -> None:
    """ffmpeg's GIF encoder keeps every frame (PIL merges identical consecutive frames)."""
    with av.open(str(path), mode="w", format="gif") as container:
        stream = container.add_stream("gif", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = array.shape[2], array.shape[1]
        stream.pix_fmt = "rgb8"
        for image in array:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
