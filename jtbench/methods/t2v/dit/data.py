"""DiT training items as the official CogVideoX trainer builds them, and their latent/T5 cache.

Official ``datasets/t2v_dataset.py`` + ``datasets/utils.py`` (JointTuner ``examples/CogVideo/finetune``):

- an image is a **1-frame video** (``[1, 3, H, W]``, one latent frame), resized to H×W without crop
  (``cv2.resize``, bilinear without antialiasing — here ``torchvision`` bilinear, ``antialias=False``);
- a clip keeps every ``n // F``-th frame from frame 0 (the first F of them), or all its frames padded
  with the last one when shorter, each frame resized to H×W (``torchvision`` bilinear);
- pixels → [-1, 1]; one posterior ``sample()`` × scaling factor and the T5 states (padded to 226
  tokens) are computed once per item and cached, then reused every step.

Cache key (quirk **fixed**, see baselines/jointtuner/README.md): the official latent cache is keyed
by ``model_name`` ("cogvideox-t2v") and resolution only, so a 2B cache would be reused by 5B (other
scaling factor); here the key is the model path, the file's SHA-256, the size and frame count.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from jtbench.io.digest import file_sha256
from jtbench.io.video import read_image, read_video


@dataclass
class DiTItem:
    """One cached training item: latents in the VAE layout ``[1, C, f, h, w]`` and its text states."""

    kind: str  # "image" | "video"
    latents: torch.Tensor
    text: torch.Tensor  # [1, L, D]
    prompt: str
    source: Path


def image_pixels(path: Path, height: int, width: int) -> torch.Tensor:
    """``[1, 3, H, W]`` in [-1, 1]: the subject photo as one frame."""
    from torchvision.transforms.v2 import functional as TF

    image = read_image(path).permute(2, 0, 1).float()
    image = TF.resize(image, [height, width], antialias=False)
    return (image / 255.0 * 2.0 - 1.0)[None]


def clip_pixels(path: Path, frames: int, height: int, width: int) -> torch.Tensor:
    """``[F, 3, H, W]`` in [-1, 1]: every ``n // F``-th frame, or all frames padded with the last."""
    from torchvision.transforms.v2 import functional as TF

    clip = read_video(path, min_frames=1).frames  # uint8 [n, H, W, 3]
    n = clip.shape[0]
    if n < frames:
        chosen = torch.cat([clip, clip[-1:].repeat(frames - n, 1, 1, 1)])
    else:
        chosen = clip[list(range(0, n, n // frames))][:frames]
    video = torch.stack([TF.resize(f, [height, width], antialias=True) for f in chosen.permute(0, 3, 1, 2).float()])
    return video / 255.0 * 2.0 - 1.0


def cache_key(model: str, path: Path, *parts: Any) -> str:
    text = "|".join([str(model), file_sha256(path), *map(str, parts)])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def prompt_key(model: str, prompt: str, length: int) -> str:
    return hashlib.sha256(f"{model}|{length}|{prompt}".encode()).hexdigest()[:24]


def _cached(path: Path, compute) -> torch.Tensor:
    from safetensors.torch import load_file, save_file

    if path.is_file():
        return load_file(str(path))["tensor"]
    tensor = compute().detach().to("cpu").contiguous()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    save_file({"tensor": tensor}, str(tmp))
    tmp.replace(path)
    return tensor


def build_items(components: Any, images: list[Path], image_prompt: str, clips: list[Path], clip_prompts: list[str],
                *, frames: int, height: int, width: int, cache: Path) -> list[DiTItem]:
    """Images then clips (dataset order; the sampler shuffles), each encoded once and cached under ``cache``."""
    model = components.source
    length = components.text_length
    items: list[DiTItem] = []
    plan = [("image", p, image_prompt) for p in images] + [("video", p, c) for p, c in zip(clips, clip_prompts,
                                                                                           strict=True)]
    for kind, path, prompt in plan:
        if kind == "image":
            key = cache_key(model, path, "image", height, width)
            latents = _cached(cache / "latents" / f"{key}.safetensors",
                              lambda p=path: components.encode_video(image_pixels(p, height, width)))
        else:
            key = cache_key(model, path, "video", frames, height, width)
            latents = _cached(cache / "latents" / f"{key}.safetensors",
                              lambda p=path: components.encode_video(clip_pixels(p, frames, height, width)))
        text = _cached(cache / "prompts" / f"{prompt_key(model, prompt, length)}.safetensors",
                       lambda q=prompt: components.encode_prompt(q))
        items.append(DiTItem(kind, latents, text, prompt, Path(path)))  # kept in the VAE's / encoder's dtype
    return items
