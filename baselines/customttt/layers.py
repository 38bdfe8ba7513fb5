"""Which UNet layers CustomTTT adapts: the paper's ΔW_s^{2,6} and ΔW_t^{2,5}, mapped onto UNet3D.

CT-supp §3 indexes U-Net layers i = 0…8 and says "there is no motion module in i = 4". We read
i as down_blocks.0–3 (0–3), the mid block (4) and up_blocks.0–3 (5–8) of an AnimateDiff-v1-style
UNet (SD 1.5 + motion modules in every down/up block, none in the mid block). The reading is
confirmed by the parameter count: LoRA rank 32 on every linear of ``attn1``, ``attn2`` and ``ff``
(not ``proj_in``/``proj_out``) in the spatial transformers of down_blocks.2 (2 × 1280 ch) and
up_blocks.1 (3 × 1280 ch), and in the motion modules of down_blocks.2 (2) and up_blocks.0 (3)
gives 5 × 1,196,032 + 5 × 1,228,800 = **12,124,160 = the 12.12 M of CT-supp Table 1** (our
arithmetic, with SD's 768-d text and AnimateDiff's two temporal self-attentions + ff per module).

On ZeroScope/ModelScope, index 2 = down_blocks.2 and index 6 = up_blocks.1 exist with the same
layout, so spatial and the first temporal set map one-to-one. Index 5 = up_blocks.0 is an
``UpBlock3D`` with no temporal transformer here; we take the temporal transformers of the first
up block that has them, up_blocks.1 (3 × 1280 ch, the same count and width as AnimateDiff's
up_blocks.0 motion modules, and the decoder level that mirrors down_blocks.2). The rule is
stated structurally — "the deepest down block with cross-attention" and "the first up block with
cross-attention" — so it also selects layers on the tiny test UNet. On ZeroScope this gives
6,062,080 spatial + 6,144,000 temporal = 12.21 M parameters (the spatial difference is the
1024-d text of ZeroScope's cross-attention against SD's 768-d).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from jtbench.errors import InputError
from jtbench.methods.t2v.inject import Target, find_targets

KEYWORDS: tuple[str, ...] = ("attn1", "attn2", "ff")


def auto_blocks(unet: nn.Module) -> list[str]:
    """[deepest CrossAttnDownBlock3D, first CrossAttnUpBlock3D] (down_blocks.2, up_blocks.1 on ZeroScope)."""
    down = [f"down_blocks.{i}" for i, b in enumerate(unet.down_blocks) if type(b).__name__ == "CrossAttnDownBlock3D"]
    up = [f"up_blocks.{i}" for i, b in enumerate(unet.up_blocks) if type(b).__name__ == "CrossAttnUpBlock3D"]
    if not down or not up:
        raise InputError("the UNet has no cross-attention down/up block for CustomTTT's layers",
                         fix="use a UNet3DConditionModel base (ZeroScope/ModelScope)")
    return [down[-1], up[0]]


def _blocks(unet: nn.Module, spec: str | Sequence[str]) -> list[str]:
    blocks = auto_blocks(unet) if spec == "auto" else list(spec)
    names = dict(unet.named_modules())
    for b in blocks:
        if b not in names:
            raise InputError(f"CustomTTT layer block {b!r} does not exist in this UNet",
                             fix="use `auto` or block paths such as down_blocks.2 in config.yaml (layers.*)")
    return blocks


def spatial_targets(unet: nn.Module, spec: str | Sequence[str] = "auto",
                    keywords: Sequence[str] = KEYWORDS) -> list[Target]:
    """attn1/attn2/ff linears of the spatial transformers (``<block>.attentions.*``)."""
    prefixes = tuple(f"{b}.attentions." for b in _blocks(unet, spec))
    return [t for t in find_targets(unet, {"Transformer2DModel": tuple(keywords)}) if t.name.startswith(prefixes)]


def temporal_targets(unet: nn.Module, spec: str | Sequence[str] = "auto",
                     keywords: Sequence[str] = KEYWORDS) -> list[Target]:
    """attn1/attn2/ff linears of the temporal transformers (``<block>.temp_attentions.*``)."""
    prefixes = tuple(f"{b}.temp_attentions." for b in _blocks(unet, spec))
    return [t for t in find_targets(unet, {"TransformerTemporalModel": tuple(keywords)})
            if t.name.startswith(prefixes)]
