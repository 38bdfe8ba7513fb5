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

from jtbench.methods.t2v.patching import restore_forwards, wrap_forwards

#: The module classes the official patched UNet checkpoints.
CHECKPOINTED = ("ResnetBlock2D", "TemporalConvLayer", "Transformer2DModel", "TransformerTemporalModel")
_PLAIN = "_jtbench_plain_forward"


def _checkpointed(inner):
    @functools.wraps(inner)
    def forward(*args, **kwargs):
        if torch.is_grad_enabled():
            return checkpoint(inner, *args, use_reentrant=False, **kwargs)
        return inner(*args, **kwargs)

    return forward


def enable_gradient_checkpointing(unet: nn.Module, classes: tuple[str, ...] = CHECKPOINTED) -> int:
    """Checkpoint each module of ``classes`` whenever gradients are enabled; returns how many."""
    return wrap_forwards(unet, dict.fromkeys(classes, _checkpointed), _PLAIN)


def disable_gradient_checkpointing(unet: nn.Module) -> int:
    return restore_forwards(unet, _PLAIN)
