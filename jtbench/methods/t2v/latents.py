"""VAE encode/decode in the official layout, and latent caching for training items.

Encoding follows the official ``tensor_to_vae_latent``: frames are encoded independently with
``latent_dist.sample()`` (so the 16 identical frames of an image item get 16 different latent
samples) and scaled by 0.18215. Decoding follows diffusers 0.18's ``decode_latents`` +
``tensor2vid``: ``(x / 2 + 0.5).clamp(0, 1) * 255`` truncated to uint8.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch


@torch.no_grad()
def encode_frames(vae, pixels: torch.Tensor, scale: float, *, chunk: int = 16) -> torch.Tensor:
    """``[B, F, 3, H, W]`` in [-1, 1] → latents ``[B, 4, F, H/8, W/8]`` (× ``scale``).

    ``chunk`` only bounds memory (like the official VAE slicing); encoding is per frame, so the
    result does not depend on it apart from the order of the random draws.
    """
    b, f = pixels.shape[:2]
    flat = pixels.reshape(b * f, *pixels.shape[2:]).to(device=vae.device, dtype=vae.dtype)
    parts = [vae.encode(flat[i : i + chunk]).latent_dist.sample() for i in range(0, flat.shape[0], chunk)]
    latents = torch.cat(parts).reshape(b, f, *parts[0].shape[1:]).permute(0, 2, 1, 3, 4)
    return latents * scale


@torch.no_grad()
def decode_latents(vae, latents: torch.Tensor, scale: float, *, chunk: int = 8) -> torch.Tensor:
    """Latents ``[B, 4, F, h, w]`` → float video ``[B, F, 3, H, W]`` in [-1, 1] (unclamped)."""
    b, c, f, h, w = latents.shape
    flat = (latents / scale).permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w).to(vae.dtype)
    images = torch.cat([vae.decode(flat[i : i + chunk]).sample for i in range(0, flat.shape[0], chunk)])
    return images.reshape(b, f, *images.shape[1:]).float()


def to_uint8_frames(video: torch.Tensor) -> torch.Tensor:
    """``[F, 3, H, W]`` in [-1, 1] → ``uint8 [F, H, W, 3]``, truncating like diffusers 0.18's tensor2vid."""
    frames = (video / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1)
    # Contiguous: a permuted (strided) array handed to the mp4 encoder is read wrongly by PyAV.
    return (frames * 255).to(torch.uint8).cpu().contiguous()


@dataclass
class EncodedItem:
    """A training item after caching: its latents, the pixels (the OFS flip re-encodes them) and caption."""

    kind: str  # "image" | "video"
    latents: torch.Tensor  # [1, 4, F, h, w]
    pixels: torch.Tensor  # [1, F, 3, H, W] in [-1, 1]
    prompt: str
    source: Path


def cache_latents(items, vae, scale: float, *, cache_file: Path | None = None) -> list[EncodedItem]:
    """Encode every item once before training (official ``cache_latents: True``): the random clip
    start and the VAE sample are frozen at caching time. With ``cache_file`` the result is reused."""
    if cache_file is not None and Path(cache_file).is_file():
        return torch.load(cache_file, weights_only=False)
    out = [
        EncodedItem(it.kind, encode_frames(vae, it.pixels[None], scale).cpu(), it.pixels[None], it.prompt, it.source)
        for it in items
    ]
    if cache_file is not None:
        Path(cache_file).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(cache_file).with_name(f".{Path(cache_file).name}.tmp")
        torch.save(out, tmp)
        tmp.replace(cache_file)
    return out
