"""CustomTTT's optimizer, shared by the two LoRA phases (``adapter.py``) and test-time training (``ttt.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn


def make_lion(params: Sequence[nn.Parameter], lr: float, cfg: dict[str, Any]):
    """Lion (CT-supp §1: betas 0.9/0.99, weight decay 0.1, decoupled as in lion-pytorch)."""
    from lion_pytorch import Lion

    opt = cfg["optimizer"]
    return Lion(params, lr=lr, betas=tuple(opt["betas"]), weight_decay=float(opt["weight_decay"]))
