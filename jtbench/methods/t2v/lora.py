"""LoRA wrappers for ``nn.Linear``: the classic (cloneofsimo-style) one and JointTuner's gated one.

Both follow the official ``LoraInjectedLinear`` of JointTuner/MotionDirector: ``lora_down``
Linear(in, r) initialised normal(std 1/r), ``lora_up`` Linear(r, out) initialised to zeros (so
an untrained wrapper is exactly the base layer), dropout on the branch *output*, rank clipped to
min(in, out). The base linear is kept as ``base`` and never trained.
"""

from __future__ import annotations

import torch
from torch import nn


class LoRALinear(nn.Module):
    """``base(x) + dropout(up(down(x))) * scale`` — MotionDirector's LoRA, where ``scale`` is used
    (0/1 switches during training, the user's path scale at inference)."""

    def __init__(self, base: nn.Linear, rank: int = 32, dropout: float = 0.1, scale: float = 1.0) -> None:
        super().__init__()
        self.base = base
        self.rank = min(rank, base.in_features, base.out_features)
        factory = {"device": base.weight.device, "dtype": torch.float32}
        self.lora_down = nn.Linear(base.in_features, self.rank, bias=False, **factory)
        self.lora_up = nn.Linear(self.rank, base.out_features, bias=False, **factory)
        self.dropout = nn.Dropout(dropout)
        self.scale = scale
        if base.weight.device.type != "meta":
            nn.init.normal_(self.lora_down.weight, std=1.0 / self.rank)
            nn.init.zeros_(self.lora_up.weight)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        """The LoRA update before scaling, computed in the LoRA weights' dtype."""
        return self.dropout(self.lora_up(self.lora_down(x.to(self.lora_down.weight.dtype))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        if self.scale == 0:
            return out
        return out + (self.branch(x) * self.scale).to(out.dtype)


class GatedLoRALinear(LoRALinear):
    """JointTuner's Adaptive LoRA (paper Eq. 6, official ``LoraInjectedLinear``).

    ``base(x) + dropout(up(down(x))) * g`` with ``g = mean(sigmoid(gate(x)))``, ``gate`` a
    Linear(in, 1, no bias) with PyTorch's default init. The official code reduces with
    ``mean(dim=0)`` twice; for the 3-D inputs these linears see — (B·F, tokens, C) spatially,
    (B·h·w, F, C) temporally — that is one scalar per wrapped linear per call, averaged over
    batch, frames and tokens (so the two CFG halves share one gate at inference). Quirk kept:
    ``scale`` is stored but **ignored**, the gate is the only scale (``--lora_scale`` of the
    official inference script has no effect).
    """

    def __init__(self, base: nn.Linear, rank: int = 32, dropout: float = 0.1, scale: float = 1.0) -> None:
        super().__init__(base, rank, dropout, scale)
        self.lora_gate = nn.Linear(base.in_features, 1, bias=False, device=base.weight.device, dtype=torch.float32)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        g = torch.sigmoid(self.lora_gate(x.to(self.lora_gate.weight.dtype)))
        return g.mean(dim=0).mean(dim=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        return out + (self.branch(x) * self.gate(x)).to(out.dtype)


class CogVideoXGatedLoRALinear(GatedLoRALinear):
    """The gated LoRA of JointTuner's CogVideoX code (``examples/CogVideo/.../lora.py``), which differs
    from the ZeroScope copy in two places: the gate weight is initialised N(0, 1/r) like ``lora_down``,
    and the gate is **multiplied by** ``scale`` (``--lora_alpha`` = 1, comment "for cogvideo"). The
    branch and the gate are cast to the input dtype before they are multiplied, as upstream."""

    def __init__(self, base: nn.Linear, rank: int = 128, dropout: float = 0.1, scale: float = 1.0) -> None:
        super().__init__(base, rank, dropout, scale)
        if base.weight.device.type != "meta":
            nn.init.normal_(self.lora_gate.weight, std=1.0 / self.rank)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        gate = (self.gate(x) * self.scale).to(x.dtype)
        return out + self.branch(x).to(x.dtype) * gate


LORA_CLASSES: dict[str, type[LoRALinear]] = {"lora": LoRALinear, "gated_lora": GatedLoRALinear,
                                      "gated_lora_cogvideox": CogVideoXGatedLoRALinear}


class LoRABankLinear(nn.Module):
    """Several classic LoRA branches on one base linear, at most one active at a time.

    Equivalent to MotionDirector's per-video spatial LoRAs, which it builds by wrapping the
    already-wrapped linears again and switching all but one to scale 0 each step (MD issue #38):
    every branch sees the same input, so nesting with one active branch is one branch's sum.
    """

    def __init__(self, base: nn.Linear, count: int, rank: int = 32, dropout: float = 0.1) -> None:
        super().__init__()
        self.base = base
        self.rank = min(rank, base.in_features, base.out_features)
        factory = {"device": base.weight.device, "dtype": torch.float32}
        self.lora_down = nn.ModuleList(nn.Linear(base.in_features, self.rank, bias=False, **factory)
                                       for _ in range(count))
        self.lora_up = nn.ModuleList(nn.Linear(self.rank, base.out_features, bias=False, **factory)
                                     for _ in range(count))
        self.dropout = nn.Dropout(dropout)
        self.active = 0
        self.scale = 1.0
        if base.weight.device.type != "meta":
            for down, up in zip(self.lora_down, self.lora_up, strict=True):
                nn.init.normal_(down.weight, std=1.0 / self.rank)
                nn.init.zeros_(up.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        if self.scale == 0:
            return out
        down, up = self.lora_down[self.active], self.lora_up[self.active]
        branch = self.dropout(up(down(x.to(down.weight.dtype))))
        return out + (branch * self.scale).to(out.dtype)
