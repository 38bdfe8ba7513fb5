"""Move and freeze the parts of a base model: one pair of helpers for the UNet and the DiT components.

A module of its own so that :mod:`jtbench.methods.t2v.base_model` and
:mod:`jtbench.methods.t2v.dit.components` both import it without importing each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


def move_parts(device: str | torch.device, parts: Iterable[tuple[Any, torch.dtype | None]]) -> None:
    """``model.to(device[, dtype])`` for each (model, dtype); ``None`` keeps the model's dtype.

    diffusers 0.42 warns on every dtype cast through ``to()`` even with no fp32-only modules
    (``_keep_in_fp32_modules`` is [] for these models); the cast is what we want, so it is quiet here.
    """
    from diffusers.utils import logging as diffusers_logging

    previous = diffusers_logging.get_verbosity()
    diffusers_logging.set_verbosity_error()
    try:
        for model, dtype in parts:
            model.to(device) if dtype in (None, model.dtype) else model.to(device, dtype)
    finally:
        diffusers_logging.set_verbosity(previous)


def freeze_parts(*models: Any) -> None:
    """No gradients and eval mode: the base's own weights never train (adapters add their own)."""
    for model in models:
        model.requires_grad_(False)
        model.eval()
