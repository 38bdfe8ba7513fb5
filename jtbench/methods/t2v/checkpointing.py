"""Gradient checkpointing around the UNet3D's blocks, which diffusers does not provide.

``UNet3DConditionModel.enable_gradient_checkpointing()`` raises in diffusers (its blocks carry a
flag their forward never reads). The official patched UNets of JointTuner and MotionDirector
checkpoint (non-reentrant) every resnet, temporal conv, spatial transformer and temporal
transformer, and ``transformer_in``; we do the same by wrapping those modules' ``forward`` on
the instance, so the stock diffusers forward (and any LoRA inside) is untouched.
"""

from __future__ import annotations

import functools

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

#: The module classes the official patched UNet checkpoints.
CHECKPOINTED = ("ResnetBlock2D", "TemporalConvLayer", "Transformer2DModel", "TransformerTemporalModel")
_PLAIN = "_jtbench_plain_forward"


def enable_gradient_checkpointing(unet: nn.Module, classes: tuple[str, ...] = CHECKPOINTED) -> int:
    """Checkpoint each module of ``classes`` whenever gradients are enabled; returns how many."""
    count = 0
    for module in unet.modules():
        if type(module).__name__ not in classes or hasattr(module, _PLAIN):
            continue
        inner = module.forward
        setattr(module, _PLAIN, inner)

        @functools.wraps(inner)
        def forward(*args, _inner=inner, **kwargs):
            if torch.is_grad_enabled():
                return checkpoint(_inner, *args, use_reentrant=False, **kwargs)
            return _inner(*args, **kwargs)

        module.forward = forward
        count += 1
    return count


def disable_gradient_checkpointing(unet: nn.Module) -> int:
    count = 0
    for module in unet.modules():
        if hasattr(module, _PLAIN):
            module.forward = getattr(module, _PLAIN)
            delattr(module, _PLAIN)
            count += 1
    return count
