"""Video perturbations whose worse side is known, as plain frame transforms.

One module for both users: the study's gold items (``jtbench study create``) and the synthetic
judgments of ``jtbench meta-eval --perturb``. What each perturbation is expected to do to each metric
is data (``data_manifests/perturbations.yaml``), loaded and validated here; the transforms are pure
functions of ``uint8 [T, H, W, 3]`` frames, a severity and a seed, so the same inputs give the same
bytes on every machine.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy.ndimage import gaussian_filter

from jtbench.errors import JtbenchError
from jtbench.io.video import read_video, write_video
from jtbench.metrics.base import PAPER_COLUMNS
from jtbench.paths import manifests_dir

__all__ = [
    "EXPECTATIONS",
    "KINDS",
    "TRANSFORMS",
    "Perturbation",
    "apply_transform",
    "load_perturbations",
]

KINDS = ("frames", "prompt", "subject_reference", "motion_reference")
EXPECTATIONS = ("down", "up", "same")

FrameTransform = Callable[[np.ndarray, float, np.random.Generator, float], np.ndarray]


def frozen_first_frame(frames: np.ndarray, severity: float, rng: np.random.Generator, fps: float) -> np.ndarray:
    """Every frame replaced by the first: the static video the paper says CLIP-I and Subj-Con favour."""
    return np.repeat(frames[:1], len(frames), axis=0)


def shuffle_frames(frames: np.ndarray, severity: float, rng: np.random.Generator, fps: float) -> np.ndarray:
    """A seeded permutation of the frames; never the identity for two or more frames."""
    order = rng.permutation(len(frames))
    if len(frames) > 1 and np.array_equal(order, np.arange(len(frames))):
        order = np.roll(order, 1)
    return frames[order]


def reverse_frames(frames: np.ndarray, severity: float, rng: np.random.Generator, fps: float) -> np.ndarray:
    """The clip played backwards."""
    return frames[::-1].copy()


def gaussian_blur(frames: np.ndarray, severity: float, rng: np.random.Generator, fps: float) -> np.ndarray:
    """Spatial Gaussian blur of each frame, sigma = ``severity`` pixels, rounded back to uint8."""
    blurred = gaussian_filter(frames.astype(np.float32), sigma=(0.0, severity, severity, 0.0), mode="reflect")
    return np.clip(np.rint(blurred), 0, 255).astype(np.uint8)


def gaussian_noise(frames: np.ndarray, severity: float, rng: np.random.Generator, fps: float) -> np.ndarray:
    """Seeded Gaussian noise of std ``severity`` grey levels, clipped to 0–255."""
    noise = rng.normal(0.0, severity, size=frames.shape).astype(np.float32)
    return np.clip(np.rint(frames.astype(np.float32) + noise), 0, 255).astype(np.uint8)


def h264_compression(frames: np.ndarray, severity: float, rng: np.random.Generator, fps: float) -> np.ndarray:
    """Round trip through x264 at CRF ``severity`` (one thread, so the bytes are the machine's own)."""
    height, width = frames.shape[1:3]
    with tempfile.TemporaryDirectory(prefix="jtbench-perturb-") as tmp:
        path = write_video(frames, Path(tmp) / "compressed.mp4", fps=fps or 8.0, crf=int(round(severity)))
        decoded = read_video(path).frames.numpy()
    return np.ascontiguousarray(decoded[:, :height, :width])  # write_video pads odd sizes by one pixel


TRANSFORMS: dict[str, FrameTransform] = {
    "frozen_first_frame": frozen_first_frame,
    "shuffle_frames": shuffle_frames,
    "reverse_frames": reverse_frames,
    "gaussian_blur": gaussian_blur,
    "gaussian_noise": gaussian_noise,
    "h264_compression": h264_compression,
}


def apply_transform(
    name: str, frames: np.ndarray, *, severity: float = 0.0, seed: int = 0, fps: float = 8.0
) -> np.ndarray:
    """Apply the transform ``name`` to ``uint8 [T, H, W, 3]`` frames (a numpy array or tensor)."""
    if name not in TRANSFORMS:
        raise JtbenchError(f"unknown frame transform {name!r}; known: {', '.join(TRANSFORMS)}")
    array = np.asarray(frames.numpy() if hasattr(frames, "numpy") else frames)
    if array.dtype != np.uint8 or array.ndim != 4 or array.shape[-1] != 3 or len(array) == 0:
        raise JtbenchError(
            f"perturbation {name!r} expects uint8 [T, H, W, 3] frames with T >= 1, got {array.dtype} {array.shape}"
        )
    return TRANSFORMS[name](array, float(severity), np.random.default_rng(seed), float(fps))


@dataclass(frozen=True)
class Perturbation:
    """One entry of ``perturbations.yaml``: what is changed and how each metric should move."""

    id: str
    kind: str
    description: str
    transform: str | None = None
    severities: tuple[float, ...] = ()
    expected: dict[str, str] = field(default_factory=dict)
    by_construction: tuple[str, ...] = ()
    bias: tuple[str, ...] = ()
    gold_dimension: str | None = None

    @property
    def graded(self) -> bool:
        return len(self.severities) > 1

    def levels(self) -> tuple[float, ...]:
        """The severities to run: the graded list, or a single 0.0 for ungraded perturbations."""
        return self.severities or (0.0,)

    def apply(self, frames: np.ndarray, *, severity: float = 0.0, seed: int = 0, fps: float = 8.0) -> np.ndarray:
        if self.transform is None:
            raise JtbenchError(f"perturbation {self.id!r} ({self.kind}) changes the scoring inputs, not the frames")
        return apply_transform(self.transform, frames, severity=severity, seed=seed, fps=fps)


def _problem(path: Path, entry: str, what: str) -> JtbenchError:
    return JtbenchError(
        f"{path}: perturbation {entry!r}: {what}; fix the entry (the file's header documents each field)"
    )


def _parse(path: Path, name: str, raw: Any, columns: set[str]) -> Perturbation:
    if not isinstance(raw, dict):
        raise _problem(path, name, "must be a mapping")
    unknown = set(raw) - {
        "kind",
        "transform",
        "severities",
        "expected",
        "by_construction",
        "bias",
        "gold",
        "description",
    }
    if unknown:
        raise _problem(path, name, f"unknown field(s) {sorted(unknown)}")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise _problem(path, name, f"kind {kind!r} is not one of {list(KINDS)}")
    transform = raw.get("transform")
    if (kind == "frames") != (transform is not None):
        raise _problem(path, name, "a transform is required for kind 'frames' and not allowed otherwise")
    if transform is not None and transform not in TRANSFORMS:
        raise _problem(path, name, f"transform {transform!r} is not one of {sorted(TRANSFORMS)}")
    expected = dict(raw.get("expected") or {})
    for column, direction in expected.items():
        if column not in columns:
            raise _problem(path, name, f"expected names {column!r}, not a metric column ({sorted(columns)})")
        if direction not in EXPECTATIONS:
            raise _problem(path, name, f"expected[{column!r}] = {direction!r}, not one of {list(EXPECTATIONS)}")
    listed = {key: tuple(raw.get(key) or ()) for key in ("by_construction", "bias")}
    for key, values in listed.items():
        if not set(values) <= set(expected):
            raise _problem(path, name, f"{key} lists {sorted(set(values) - set(expected))} without an expectation")
    severities = tuple(float(s) for s in raw.get("severities") or ())
    if list(severities) != sorted(severities):
        raise _problem(path, name, "severities must be listed mildest first")
    gold = raw.get("gold") or {}
    return Perturbation(
        id=name,
        kind=kind,
        description=str(raw.get("description", "")),
        transform=transform,
        severities=severities,
        expected=expected,
        by_construction=listed["by_construction"],
        bias=listed["bias"],
        gold_dimension=gold.get("dimension"),
    )


def load_perturbations(path: str | Path | None = None, *, columns: set[str] | None = None) -> dict[str, Perturbation]:
    """Read and validate ``perturbations.yaml``; every problem names the file and the entry."""
    path = Path(path) if path is not None else manifests_dir() / "perturbations.yaml"
    if not path.is_file():
        raise JtbenchError(f"{path}: perturbation manifest not found; pass the path of a perturbations.yaml")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise JtbenchError(f"{path}: not valid YAML ({exc}); fix the syntax") from exc
    entries = (data or {}).get("perturbations")
    if not isinstance(entries, dict) or not entries:
        raise JtbenchError(f"{path}: needs a non-empty 'perturbations' mapping")
    allowed = set(columns) if columns is not None else set(PAPER_COLUMNS)
    return {name: _parse(path, name, raw, allowed) for name, raw in entries.items()}
