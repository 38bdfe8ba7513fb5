"""Shared training pieces: seeding, the official bucketing, image/clip items, precision, checkpoints.

Data follow the official ``ImageDataset`` / ``VideoFolderDataset`` (JointTuner and MotionDirector
share them): images resized (no crop, antialiased) to the bucketed size and repeated to 16
identical frames; clips sampled every ``round(native_fps / 8)``-th frame from a random start;
pixels scaled to [-1, 1]; batch size 1, unshuffled, images first then clips.
"""

from __future__ import annotations

import contextlib
import random
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from jtbench.errors import InputError, VideoError
from jtbench.io.video import read_image, read_video, stride_round

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices), as accelerate's ``set_seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# -- the official bucketing (MotionDirector/JointTuner utils/bucketing.py) ----------------------
def sensible_bucket(target_w: int, target_h: int, w: int, h: int, min_size: int = 192) -> tuple[int, int]:
    """``(width, height)`` for an image of size w×h: the long side keeps the target, the short side
    snaps to the nearer of target−64 and target−128 (never below ``min_size``). Quirk kept: the
    target itself is never a candidate, so any non-square input loses at least 64 px (380×384 →
    320×384); only exact squares stay 384×384."""
    if h == w:
        return target_w, target_h
    if h > w:
        ideal = target_w / (h / w)
        return _closest(target_w, ideal, min_size), target_h
    ideal = target_h / (w / h)
    return target_w, _closest(target_h, ideal, min_size)


def _closest(size: int, ideal: float, min_size: int) -> int:
    candidates = [max(min_size, abs(int(size - m))) for m in (64, 128)]
    return min(candidates, key=lambda c: abs(c - ideal))


@dataclass
class TrainItem:
    kind: str  # "image" | "video"
    pixels: torch.Tensor  # [F, 3, H, W] float in [-1, 1]
    prompt: str
    source: Path


OFFICIAL_SIZE = 384


def bucket_size(w: int, h: int, size: int = OFFICIAL_SIZE) -> tuple[int, int]:
    """The official bucket at 384 px; at any other ``size`` (tiny runs) that bucket scaled by
    ``size / 384`` and rounded to a multiple of 8 (jtbench's choice: the upstream constants 64,
    128 and 192 only make sense at 384)."""
    bw, bh = sensible_bucket(OFFICIAL_SIZE, OFFICIAL_SIZE, w, h)
    if size == OFFICIAL_SIZE:
        return bw, bh
    return (max(8, round(bw * size / OFFICIAL_SIZE / 8) * 8), max(8, round(bh * size / OFFICIAL_SIZE / 8) * 8))


def _resize(frames_chw: torch.Tensor, size: int, bucketing: bool) -> torch.Tensor:
    from torchvision.transforms.v2 import functional as TF

    h, w = frames_chw.shape[-2:]
    width, height = bucket_size(w, h, size) if bucketing else (size, size)
    return TF.resize(frames_chw, [height, width], antialias=True)


def load_image_item(path: Path, prompt: str, *, size: int = 384, frames: int = 16, bucketing: bool = True) -> TrainItem:
    """One subject image as 16 identical frames (official ``ImageDataset``)."""
    image = read_image(path).permute(2, 0, 1)  # uint8 [3, H, W]; raises VideoError naming the file
    image = _resize(image, size, bucketing)
    pixels = image.float().div(127.5).sub(1.0).unsqueeze(0).repeat(frames, 1, 1, 1)
    return TrainItem("image", pixels, prompt, Path(path))


def load_clip_item(
    path: Path, prompt: str, *, size: int = 384, frames: int = 16, fps: float = 8.0, bucketing: bool = True,
    rng: random.Random | None = None,
) -> TrainItem:
    """``frames`` frames every ``round(native_fps / fps)``-th from a random start (official
    ``VideoFolderDataset.get_frame_batch``; a clip shorter than that trains on what it has)."""
    clip = read_video(path, min_frames=2)
    stride = min(clip.num_frames, stride_round(clip.fps, fps))
    effective = clip.num_frames // stride
    n = min(frames, effective)
    start = (rng or random).randint(0, effective - n)
    idx = [stride * i for i in range(start, start + n)]
    video = _resize(clip.frames[idx].permute(0, 3, 1, 2), size, bucketing)
    return TrainItem("video", video.float().div(127.5).sub(1.0), prompt, Path(path))


def load_items(
    images: Sequence[Path], image_prompt: str | None, clips: Sequence[Path], clip_prompt: str | None, *,
    size: int, frames: int, fps: float = 8.0, bucketing: bool = True, seed: int = 0,
) -> list[TrainItem]:
    """Images (sorted) then clips (sorted) — the official ``ConcatDataset`` order, unshuffled.
    (Upstream globs the clips unsorted; we sort so runs are reproducible across filesystems.)"""
    rng = random.Random(seed)
    items = [load_image_item(p, image_prompt or "", size=size, frames=frames, bucketing=bucketing)
             for p in sorted(images)]
    items += [load_clip_item(p, clip_prompt or "", size=size, frames=frames, fps=fps, bucketing=bucketing, rng=rng)
              for p in sorted(clips)]
    return items


def require_files(paths: Sequence[Path], what: str) -> None:
    """Fail before any model is loaded if an input is missing (names the file)."""
    if not paths:
        raise InputError(f"no {what} given for this training unit", fix="run `jtbench data prepare` first")
    for p in paths:
        if not Path(p).is_file():
            raise VideoError(f"{what} file does not exist", file=p, fix="run `jtbench data prepare` again")


def epoch_order(items: Sequence[Any], steps: int) -> Iterator[Any]:
    """Step ``i`` trains on ``items[i % len(items)]`` (unshuffled DataLoader, batch 1)."""
    for step in range(steps):
        yield items[step % len(items)]


# -- precision ---------------------------------------------------------------------------------
def dtype_of(precision: str) -> torch.dtype:
    if precision not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r}", fix=f"use one of {', '.join(PRECISIONS)}")
    return PRECISIONS[precision]


def autocast(device: str | torch.device, precision: str) -> contextlib.AbstractContextManager:
    """Mixed precision as accelerate does it: fp32 master weights, matmuls in fp16/bf16."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype_of(precision))


def grad_scaler(device: str | torch.device, precision: str) -> torch.amp.GradScaler:
    """A dynamic loss scaler for fp16 (accelerate's default); a no-op for fp32 and bf16.

    Enabled on the CPU too: ``torch.amp.GradScaler("cpu")`` scales, unscales, skips non-finite
    steps and backs off there exactly as on CUDA, so CPU tests run the same path a GPU run takes."""
    kind = torch.device(device).type
    return torch.amp.GradScaler(kind, enabled=precision == "fp16" and kind in ("cuda", "cpu"))


def use_sdpa(unet) -> None:
    """PyTorch scaled-dot-product attention (official ``enable_torch_2_attn``)."""
    from diffusers.models.attention_processor import AttnProcessor2_0

    unet.set_attn_processor(AttnProcessor2_0())


def make_adamw(params: Sequence[torch.nn.Parameter], cfg: dict[str, Any]) -> torch.optim.AdamW:
    return torch.optim.AdamW(
        params, lr=float(cfg["learning_rate"]), betas=tuple(cfg.get("betas", (0.9, 0.999))),
        weight_decay=float(cfg["weight_decay"]), eps=float(cfg.get("eps", 1e-8)),
    )


# -- training-state checkpoints (limit + resume) ---------------------------------------------
def _rng_state() -> dict[str, Any]:
    rng = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():  # dropout, noise and timesteps are drawn on the GPU in a CUDA run
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return rng


def _restore_rng(rng: dict[str, Any]) -> None:
    random.setstate(rng["python"])
    np.random.set_state(rng["numpy"])
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and torch.cuda.is_available():
        if len(rng["cuda"]) != torch.cuda.device_count():
            raise InputError(f"the training state holds RNG states of {len(rng['cuda'])} GPUs, this machine has "
                             f"{torch.cuda.device_count()}", fix="resume on the same GPUs, or delete checkpoint-*")
        torch.cuda.set_rng_state_all(rng["cuda"])


def save_training_state(
    workdir: Path, step: int, state: dict[str, Any], limit: int | None = 2,
    scaler: torch.amp.GradScaler | None = None,
) -> Path:
    """``workdir/checkpoint-<step>/state.pt`` (adapters, optimizers, RNG incl. CUDA's, the loss
    scaler's scale and growth tracker), keeping the last ``limit``."""
    folder = Path(workdir) / f"checkpoint-{step}"
    folder.mkdir(parents=True, exist_ok=True)
    extra = {"scaler": scaler.state_dict()} if scaler is not None else {}
    tmp = folder / ".state.pt.tmp"
    torch.save({"step": step, "rng": _rng_state(), **extra, **state}, tmp)
    tmp.replace(folder / "state.pt")
    if limit is not None:
        for old in sorted(_checkpoints(workdir), key=lambda p: int(p.name.split("-")[1]))[:-limit]:
            shutil.rmtree(old, ignore_errors=True)
    return folder


def _checkpoints(workdir: Path) -> list[Path]:
    return [p for p in Path(workdir).glob("checkpoint-*") if (p / "state.pt").is_file()]


def load_latest_training_state(workdir: Path, scaler: torch.amp.GradScaler | None = None) -> dict[str, Any] | None:
    """The newest training state under ``workdir`` (RNG and, when given, the loss scaler restored), or None."""
    found = sorted(_checkpoints(workdir), key=lambda p: int(p.name.split("-")[1]))
    if not found:
        return None
    state = torch.load(found[-1] / "state.pt", weights_only=False)
    _restore_rng(state["rng"])
    if scaler is not None and scaler.is_enabled() and "scaler" in state:  # absent: written before jtbench kept it
        if not state["scaler"]:
            raise InputError("the training state was written without an fp16 loss scaler", file=found[-1],
                             fix="resume with the precision it was trained with, or delete checkpoint-*")
        scaler.load_state_dict(state["scaler"])
    return state


# -- one object holding what every training loop needs -------------------------------------------
@dataclass
class TrainingSetup:
    """The loaded base model on its device, the precision policy and cached prompt embeddings.

    The UNet keeps fp32 master weights under autocast; the frozen VAE and text encoder are cast to
    the run's precision (the official ``cast_to_gpu_and_type``)."""

    components: Any  # T2VComponents
    device: torch.device
    precision: str
    scaler: torch.amp.GradScaler
    _prompts: dict[str, torch.Tensor]

    def autocast(self) -> contextlib.AbstractContextManager:
        return autocast(self.device, self.precision)

    def text(self, prompt: str) -> torch.Tensor:
        """The frozen, detached text embedding (computed once per caption; the text encoder has no
        dropout, so this equals the official per-step recomputation)."""
        if prompt not in self._prompts:
            with torch.no_grad(), self.autocast():
                self._prompts[prompt] = self.components.encode_prompt([prompt]).detach()
        return self._prompts[prompt]

    def noised(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(noise, timesteps, noisy)``: N(0, I) noise, one timestep per sample uniform in [0, T)."""
        scheduler = self.components.scheduler
        noise = torch.randn_like(latents)
        t = torch.randint(0, scheduler.config.num_train_timesteps, (latents.shape[0],), device=latents.device).long()
        return noise, t, scheduler.add_noise(latents, noise, t)

    def backward_step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)
        self.scaler.update()
        optimizer.zero_grad(set_to_none=True)


def setup_training(settings: Any, *, gradient_checkpointing: bool) -> TrainingSetup:
    """Load the run's base model (``RunSettings``) and prepare it for LoRA training."""
    from jtbench.methods.t2v.base_model import load_for_settings
    from jtbench.methods.t2v.checkpointing import enable_gradient_checkpointing

    components = load_for_settings(settings)
    device = torch.device(settings.device)
    frozen = dtype_of(settings.precision)
    components.to(device, unet_dtype=torch.float32, frozen_dtype=frozen)
    if gradient_checkpointing:
        enable_gradient_checkpointing(components.unet)
    return TrainingSetup(components, device, settings.precision, grad_scaler(device, settings.precision), {})
