"""Blinded media: one codec, pixel size, fps and length for every candidate; no metadata; opaque names.

Every candidate is decoded and re-encoded (H.264 yuv420p mp4, moov first, ``fflags=+bitexact`` so no
encoder tag), reference photos are re-saved as plain JPEG (no EXIF), and each file is named by a keyed
hash of its source key, so neither the bytes nor the name carry a method or an original file name.
The secret and the token→source key live in ``private/key.json``, which the server never serves.
Transcoding is resumable: each file is written to a temporary name and renamed when complete, and a
file already in ``media/`` is not made again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from jtbench.errors import InputError, VideoError
from jtbench.io.perturb import apply_transform
from jtbench.io.video import count_frames, read_video, write_video

MP4_OPTIONS = {"movflags": "+faststart", "fflags": "+bitexact"}
TRIM_CHOICES = ("shortest",)
IMAGE_SIDE = 512  # reference photos are shown small; larger ones are scaled down


@dataclass(frozen=True)
class MediaFormat:
    """The one format every candidate is shown in."""

    width: int
    height: int
    fps: float
    frames: int
    codec: str = "h264"
    container: str = "mp4"


@dataclass(frozen=True)
class Probe:
    width: int
    height: int
    frames: int
    fps: float


class Tokenizer:
    """Opaque tokens: HMAC-SHA256 of the source key under the study's secret (kept in private/)."""

    def __init__(self, secret: str | None = None) -> None:
        self.secret = secret or secrets.token_hex(32)

    def __call__(self, key: str) -> str:
        return hmac.new(bytes.fromhex(self.secret), key.encode(), hashlib.sha256).hexdigest()[:24]


def probe(path: Path) -> Probe:
    """Size, frame count and fps of a video without decoding it."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            width, height = stream.width, stream.height
    except (av.error.FFmpegError, IndexError, OSError) as exc:
        raise VideoError(f"cannot read: {exc}", file=path, fix="check that the file is a complete video") from exc
    return Probe(width, height, count_frames(path), float(rate or 0.0))


def decide_format(probes: dict[str, list[Probe]], trim: str | None) -> tuple[MediaFormat, list[str]]:
    """One format for all candidates (``probes`` by method); differences are reported, never hidden.

    Different lengths or frame rates are an error unless ``trim == "shortest"``: then every clip is
    resampled to the lowest fps and cut to the shortest length. Different sizes are scaled to the most
    common size, and the notes say which methods were scaled.
    """
    if trim is not None and trim not in TRIM_CHOICES:
        raise InputError(f"unknown --trim {trim!r}", fix=f"use one of {', '.join(TRIM_CHOICES)}")
    notes: list[str] = []
    timing = {m: sorted({(p.frames, p.fps) for p in ps}) for m, ps in probes.items()}
    if len({t for ts in timing.values() for t in ts}) > 1:
        listing = "; ".join(f"{m}: " + ", ".join(f"{n} frames at {f:g} fps" for n, f in ts) for m, ts in timing.items())
        if trim is None:
            raise InputError(
                f"the candidates differ in length or frame rate ({listing})",
                fix="pass --trim shortest to cut every clip to the shortest, or study methods of one length",
            )
        notes.append(f"--trim shortest: {listing}")
    every = [p for ps in probes.values() for p in ps]
    fps = min(p.fps for p in every)
    frames = min(int(p.frames * fps / p.fps) if p.fps else p.frames for p in every)
    sizes = Counter((p.width, p.height) for p in every)
    width, height = min(sizes, key=lambda s: (-sizes[s], s[0] * s[1]))
    width, height = width + width % 2, height + height % 2
    scaled = sorted(m for m, ps in probes.items() if any((p.width, p.height) != (width, height) for p in ps))
    if scaled:
        notes.append(f"scaled to {width}x{height}: the videos of {', '.join(scaled)}")
    if trim is not None:
        notes.append(f"every candidate shown as {frames} frames at {fps:g} fps")
    return MediaFormat(width, height, fps, frames), notes


def conform(frames: np.ndarray, fps: float, fmt: MediaFormat) -> np.ndarray:
    """Resample to ``fmt.fps`` (nearest earlier frame), cut to ``fmt.frames``, scale to ``fmt``'s size."""
    if fps and abs(fps - fmt.fps) > 1e-6:
        index = np.floor(np.arange(int(len(frames) * fmt.fps / fps)) * fps / fmt.fps).astype(int)
        frames = frames[np.clip(index, 0, len(frames) - 1)]
    frames = frames[: fmt.frames]
    if frames.shape[1:3] != (fmt.height, fmt.width):
        frames = np.stack([_scale(f, fmt.width, fmt.height) for f in frames])
    return frames


def _scale(image: np.ndarray, width: int, height: int) -> np.ndarray:
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
    return frame.reformat(width=width, height=height, interpolation="AREA").to_ndarray(format="rgb24")


def file_name(token: str, source: dict[str, Any]) -> str:
    return f"{token}.jpg" if source["role"] == "reference_image" else f"{token}.mp4"


def make_one(source: dict[str, Any], target: Path, fmt: MediaFormat, seed: int) -> None:
    """Encode one blinded file from its source description (see plan.py's source keys)."""
    if source["role"] == "reference_image":
        _save_image(Path(source["path"]), target)
        return
    clip = read_video(source.get("video") or source["path"])
    frames = clip.frames.numpy()
    if source["role"] == "candidate":
        if source.get("perturbation"):
            frames = apply_transform(source["perturbation"], frames, seed=seed, fps=clip.fps)
        frames = conform(frames, clip.fps, fmt)
        write_video(frames, target, fps=fmt.fps, options=MP4_OPTIONS)
    else:  # the reference motion clip: re-encoded (no metadata) at its own size, length and fps
        write_video(frames, target, fps=clip.fps or fmt.fps, options=MP4_OPTIONS)


def _save_image(path: Path, target: Path) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            rgb = img.convert("RGB")
    except (OSError, UnidentifiedImageError) as exc:
        raise InputError(f"cannot read reference photo: {exc}", file=path, fix="pass JPEG or PNG photos") from exc
    rgb.thumbnail((IMAGE_SIDE, IMAGE_SIDE))
    tmp = target.with_name(f".{target.name}.tmp")
    rgb.save(tmp, format="JPEG", quality=92)  # a fresh JPEG: no EXIF, no comment, no file name
    os.replace(tmp, target)


def make_media(
    sources: dict[str, dict[str, Any]],
    tokenize: Tokenizer,
    media_dir: Path,
    fmt: MediaFormat,
    *,
    seed: int = 0,
    progress: bool = True,
) -> tuple[int, int]:
    """Make every missing file (a rich progress bar while it runs); returns (made, already there)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    media_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(media_dir / file_name(tokenize(key), s), s) for key, s in sorted(sources.items())]
    todo = [(target, s) for target, s in jobs if not target.is_file()]
    columns = (TextColumn("blinded media"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not progress) as bar:
        task = bar.add_task("media", total=len(jobs), completed=len(jobs) - len(todo))
        for target, source in todo:
            make_one(source, target, fmt, seed)
            bar.advance(task)
    return len(todo), len(jobs) - len(todo)


def write_key(path: Path, tokenize: Tokenizer, sources: dict[str, dict[str, Any]], fmt: MediaFormat) -> None:
    """``private/key.json``: the secret and token → source (method, video, sha256, perturbation)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tokens = {tokenize(key): {"source_key": key, **s} for key, s in sorted(sources.items())}
    body = {"secret": tokenize.secret, "format": asdict(fmt), "tokens": tokens}
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(body, indent=1))
    os.replace(tmp, path)


def read_key(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(
            "the study's private key is missing",
            file=path,
            fix="this folder was not made by `jtbench study create` or private/ was removed",
        )
    return json.loads(path.read_text())
