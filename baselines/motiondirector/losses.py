"""MotionDirector's temporal loss with its appearance-debiased term (official ``finetune_unet``).

``L_temporal = MSE(pred, ε) + MSE(α·pred − β·pred[:, :, k], α·ε − β·ε[:, :, k])`` with β = 1,
α = √(β² + 1) and k a random anchor frame, broadcast over frames; latents are (B, C, F, h, w).
Subtracting the anchor frame removes what all frames share (appearance) from the target, so the
temporal LoRA is pushed towards what changes between frames (motion).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def appearance_debiased_loss(pred: torch.Tensor, target: torch.Tensor, anchor: int, beta: float = 1.0) -> torch.Tensor:
    alpha = math.sqrt(beta**2 + 1)
    pred_d = alpha * pred - beta * pred[:, :, anchor : anchor + 1]
    target_d = alpha * target - beta * target[:, :, anchor : anchor + 1]
    return F.mse_loss(pred_d.float(), target_d.float(), reduction="mean")


def temporal_loss(pred: torch.Tensor, target: torch.Tensor, anchor: int, beta: float = 1.0) -> torch.Tensor:
    plain = F.mse_loss(pred.float(), target.float(), reduction="mean")
    return plain + appearance_debiased_loss(pred, target, anchor, beta)


def spatial_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MSE on the one-frame prediction (same as JointTuner's OFS loss, but temporal layers skipped)."""
    return F.mse_loss(pred[:, :, 0].float(), target.float(), reduction="mean")
