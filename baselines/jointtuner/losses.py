"""JointTuner's two losses (paper Eqs. 7 and 8, official ``finetune_unet``) and the Table 3 offsets.

Latents are ``(B, C, F, h, w)``. The official code adds the offset noise ε′ to the model
*prediction* (the paper writes it on the target; equal in distribution since ε′ is symmetric):
``L_AiT = λ · MSE(pred + ε′, ε)`` with λ = 10. ``L_OFS = MSE(pred[:, :, 0], ε_frame)`` on a
one-frame UNet input, without λ.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def _frame_offset(b: int, c: int, f: int, h: int, w: int) -> tuple[int, ...]:
    """Noise-Frame (the default): one value per latent pixel, shared by channels and frames —
    the paper's (1, H, W, 1) in (F, H, W, C) order."""
    return (b, 1, 1, h, w)


def _pixel_offset(b: int, c: int, f: int, h: int, w: int) -> tuple[int, ...]:
    """Noise-Pixel: one value per frame and channel (classic offset noise), (F, 1, 1, C)."""
    return (b, c, f, 1, 1)


def _video_offset(b: int, c: int, f: int, h: int, w: int) -> tuple[int, ...]:
    """Noise-Video: i.i.d. over the whole latent, (F, H, W, C)."""
    return (b, c, f, h, w)


#: Offset-noise kind → shape rule; "none" (−Offset Noise and later ablations) draws nothing.
OFFSET_SHAPES: dict[str, Callable[..., tuple[int, ...]] | None] = {
    "frame": _frame_offset,
    "pixel": _pixel_offset,
    "video": _video_offset,
    "none": None,
}


def offset_noise(kind: str, like: torch.Tensor, generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float32) -> torch.Tensor | None:
    """ε′ for a prediction shaped like ``like`` (B, C, F, h, w), or None for ``"none"``. ``dtype``: fp32
    for the UNet code; the CogVideoX code draws it in the prediction's dtype."""
    if kind not in OFFSET_SHAPES:
        raise ValueError(f"unknown offset-noise kind {kind!r}; use one of {', '.join(OFFSET_SHAPES)}")
    rule = OFFSET_SHAPES[kind]
    if rule is None:
        return None
    # UNet: drawn in fp32 like the official ``torch.randn(b, 1, 1, h, w)``, whatever the prediction's dtype.
    return torch.randn(rule(*like.shape), generator=generator, device=like.device, dtype=dtype)


def ait_loss(
    pred: torch.Tensor, noise: torch.Tensor, offset: torch.Tensor | None, weight: float = 10.0
) -> torch.Tensor:
    """Appearance-independent temporal loss: ``weight · MSE(pred + ε′, ε)`` (mean, in fp32)."""
    shifted = pred if offset is None else pred + offset
    return F.mse_loss(shifted.float(), noise.float(), reduction="mean") * weight


def ofs_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Original-feature-space loss on the one-frame prediction: ``MSE(pred[:, :, 0], target)``."""
    return F.mse_loss(pred[:, :, 0].float(), target.float(), reduction="mean")
