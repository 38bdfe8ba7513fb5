"""The ``dummy`` method: no GPU, no weights, deterministic synthetic videos of the right shape.

It lets the whole pipeline (plan → train → sample → score → report) run on a laptop and in CI.
"Training" one combination reads the subject's first image and the motion's first clip and
stores, as its checkpoint, the subject image and the clip's global motion path (per-frame
translation found by phase correlation). "Sampling" pastes the subject onto a background
whose colour depends on the prompt's background, moves it along that path, and adds a faint
seeded texture: 16 frames at 8 FPS, the same bytes for the same case and seed every time.
The videos resemble nothing a real method makes; the scores they get mean nothing.

Two variants give the demo something to rank (each its own registered method, so runs keep
them apart): ``dummy-static`` holds the subject still, ``dummy-noise`` draws seeded noise.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from jtbench.errors import InputError
from jtbench.execution.store import ArtifactStore
from jtbench.io.video import read_video, write_video
from jtbench.methods.base import Checkpoint, MethodAdapter, RunSettings, SampleRequest, TrainingData, TrainUnit

# Frames are DEFAULT_SIZE² unless the request or `--set size=N` says otherwise. Small on purpose: with
# tiny backbones RAFT (Dyn-Deg), AMT (Mot-Smth) and MUSIQ (Img-Q) keep their real architectures, so
# their CPU cost grows with the pixel count, and the demo has to finish in minutes on a laptop.
DEFAULT_SIZE = 128
SUBJECT_FRACTION = 0.5  # the subject's longer side, relative to the frame's shorter side
MOTION_GRID = 64  # phase correlation runs on frames resized to this square


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def phase_shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(dy, dx) that moves grey image ``a`` onto ``b``, in pixels, by phase correlation."""
    fa, fb = np.fft.fft2(a), np.fft.fft2(b)
    cross = fb * np.conj(fa)
    cross /= np.abs(cross) + 1e-9
    corr = np.fft.ifft2(cross).real
    dy, dx = np.unravel_index(int(np.argmax(corr)), corr.shape)
    h, w = corr.shape
    return float(dy - h if dy > h // 2 else dy), float(dx - w if dx > w // 2 else dx)


def motion_path(frames: np.ndarray, num_frames: int) -> list[tuple[float, float]]:
    """Cumulative (dy, dx) per frame as fractions of the frame size; the first frame is (0, 0)."""
    grey = [
        np.asarray(Image.fromarray(f).convert("L").resize((MOTION_GRID, MOTION_GRID), Image.BILINEAR), np.float64)
        for f in frames
    ]
    path = [(0.0, 0.0)]
    for a, b in zip(grey, grey[1:], strict=False):
        dy, dx = phase_shift(a - a.mean(), b - b.mean())
        last = path[-1]
        path.append((last[0] + dy / MOTION_GRID, last[1] + dx / MOTION_GRID))
    path = path[:num_frames]
    return path + [path[-1]] * (num_frames - len(path))


def _background(background: str, height: int, width: int) -> np.ndarray:
    """A vertical gradient whose colours are fixed by the background id."""
    seed = _stable_int(background)
    top = np.array([(seed >> s) & 0xFF for s in (0, 8, 16)], np.float64)
    bottom = 255 - top * 0.5
    t = np.linspace(0, 1, height)[:, None, None]
    return np.broadcast_to(top * (1 - t) + bottom * t, (height, width, 3)).copy()


class DummyMethod(MethodAdapter):
    name = "dummy"
    description = "synthetic videos from the reference image and clip: no GPU, no weights (demo, pipeline tests)"
    gpus = 0.0  # the planner asks for no GPU for this method's jobs
    families = None  # draws from the references: any --base

    def sampling_units(self, combination) -> list[TrainUnit]:
        return [TrainUnit(self.name, "combination", combination.subject, combination.motion)]

    def train(self, unit: TrainUnit, data: TrainingData, settings: RunSettings, workdir: Path) -> Checkpoint:
        if not data.subject_images or not data.motion_clips:
            raise InputError(
                f"unit {unit.key} needs a subject image and a motion clip",
                file=workdir,
                fix="prepare the data (jtbench data prepare, or --demo)",
            )
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        clip = read_video(data.motion_clips[0], min_frames=1)
        path = motion_path(clip.frames.numpy(), 16)
        with Image.open(data.subject_images[0]) as img:
            subject = img.convert("RGB")
        subject.thumbnail((DEFAULT_SIZE * 2, DEFAULT_SIZE * 2))
        ArtifactStore.write_atomic(workdir / "subject.png", subject.save)
        meta = {
            "method": self.name,
            "unit": unit.key,
            "subject_image": str(data.subject_images[0]),
            "motion_clip": str(data.motion_clips[0]),
            "motion_path": path,
            "base_model": settings.base_model,
        }
        ArtifactStore.write_json(workdir / "dummy.json", meta)
        return Checkpoint(unit, workdir, {"motion_path": path})

    def sample(
        self, checkpoints: Sequence[Checkpoint], requests: Sequence[SampleRequest], settings: RunSettings, out_dir: Path
    ) -> list[Path]:
        ckpt = checkpoints[0]
        meta = json.loads((Path(ckpt.path) / "dummy.json").read_text())
        with Image.open(Path(ckpt.path) / "subject.png") as img:
            subject = img.convert("RGB")
        size = int(settings.overrides.get("size", DEFAULT_SIZE))  # `--set size=N`: the one knob it has
        written = []
        for request in requests:
            frames = self.render(subject, meta["motion_path"], request, size)
            out = Path(out_dir) / request.case.case_id / f"{request.seed}.mp4"
            written.append(write_video(frames, out, fps=request.fps))
        return written

    def render(
        self, subject: Image.Image, path: Sequence[Sequence[float]], request: SampleRequest, size: int = DEFAULT_SIZE
    ) -> np.ndarray:
        """uint8 [T, H, W, 3]: the subject moving along ``path`` over the background's gradient."""
        height, width = request.height or size, request.width or size
        scale = SUBJECT_FRACTION * min(height, width) / max(subject.size)
        sprite = np.asarray(
            subject.resize((max(1, round(subject.width * scale)), max(1, round(subject.height * scale))), Image.BICUBIC)
        )
        sh, sw = sprite.shape[:2]
        rng = np.random.default_rng(_stable_int(f"{request.case.case_id}/{request.seed}"))
        texture = rng.normal(0, 6, (height, width, 3))
        base = _background(request.case.background, height, width) + texture
        frames = np.empty((request.num_frames, height, width, 3), np.uint8)
        for t in range(request.num_frames):
            dy, dx = path[min(t, len(path) - 1)]
            top = int(np.clip(round((height - sh) / 2 + dy * height), 0, height - sh))
            left = int(np.clip(round((width - sw) / 2 + dx * width), 0, width - sw))
            frame = base.copy()
            frame[top : top + sh, left : left + sw] = sprite
            frames[t] = np.clip(frame, 0, 255).astype(np.uint8)
        return frames


class DummyStatic(DummyMethod):
    """The subject held still in the middle of the frame: right appearance, no motion at all."""

    name = "dummy-static"
    description = "the subject's image held still (demo: right appearance, no motion; no GPU, no weights)"

    def render(
        self, subject: Image.Image, path: Sequence[Sequence[float]], request: SampleRequest, size: int = DEFAULT_SIZE
    ) -> np.ndarray:
        return super().render(subject, [(0.0, 0.0)], request, size)


class DummyNoise(DummyMethod):
    """Seeded uniform noise in every frame: neither the subject nor the motion."""

    name = "dummy-noise"
    description = "seeded noise frames (demo: neither the subject nor the motion; no GPU, no weights)"

    def render(
        self, subject: Image.Image, path: Sequence[Sequence[float]], request: SampleRequest, size: int = DEFAULT_SIZE
    ) -> np.ndarray:
        height, width = request.height or size, request.width or size
        rng = np.random.default_rng(_stable_int(f"noise/{request.case.case_id}/{request.seed}"))
        return rng.integers(0, 256, (request.num_frames, height, width, 3), dtype=np.uint8)
