"""DINO ViT-B/16 (Subj-Con) and ViT-S/16 (DreamVideo's DINO-I): timm's ViT, DINO's position resampling.

VBench loads ``facebookresearch/dino:main`` ``dino_vitb16`` through torch.hub. timm builds the same
architecture with the same state-dict keys, but two details differ from DINO's
``vision_transformer.py`` and both change the features on VBench's non-square 224-short-side
frames, so :class:`DinoVisionTransformer` replaces them:

* DINO resamples the 14x14 position grid with bicubic ``F.interpolate`` given a *scale factor*
  ``(side // 16 + 0.1) / 14`` (no antialias). PyTorch maps coordinates with that factor, so the
  ``+0.1`` shifts every sample slightly; timm resamples to an exact size with antialiasing
  (max difference 0.015 on random embeddings).
* DINO's patch convolution silently drops the right/bottom remainder when a side is not a
  multiple of 16; timm asserts divisibility.

DINO also skips resampling only when the token count matches *and* the pixel height equals the
pixel width; a 224x231 frame (14x14 patches) is therefore still resampled with factor 14.1/14.
That quirk is kept.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from timm.models.vision_transformer import VisionTransformer

from jtbench.errors import InputError, WeightsError
from jtbench.models.base import BACKBONES, Backbone, load_strict, read_state_dict
from jtbench.weights.catalog import WeightSpec, register_weights

DINO_VITB16_WEIGHTS = register_weights(
    WeightSpec(
        id="dino-vitb16",
        filename="dino_vitbase16_pretrain.pth",
        urls=("https://dl.fbaipublicfiles.com/dino/dino_vitbase16_pretrain/dino_vitbase16_pretrain.pth",),
        torch_hub="facebookresearch/dino:main",
        licence="Apache-2.0",
        used_by=("subject_consistency",),
        # VBench's local mode wgets it here; its torch.hub mode leaves it in $TORCH_HOME/hub/checkpoints.
        vbench_path="dino_model/dino_vitbase16_pretrain.pth",
    )
)

DINO_VITS16_WEIGHTS = register_weights(
    WeightSpec(
        id="dino-vits16",
        filename="dino_deitsmall16_pretrain.pth",
        # the address facebookresearch/dino's hubconf.py gives for dino_vits16
        urls=("https://dl.fbaipublicfiles.com/dino/dino_deitsmall16_pretrain/dino_deitsmall16_pretrain.pth",),
        torch_hub="facebookresearch/dino:main",
        sha256=None,  # not published; locked on first download (weights/lock.py)
        licence="Apache-2.0",
        used_by=("dino_i_dreamvideo",),
        # torch.hub leaves it in $TORCH_HOME/hub/checkpoints/ under this name (a resolver candidate)
    )
)

#: DINO's ViTs all use 64-dimensional attention heads (tiny 192/3, small 384/6, base 768/12);
#: the head count is the one hyper-parameter a state dict does not reveal.
HEAD_DIM = 64
#: The tiny stand-in: same family and file layout, 128-d, 2 heads, 2 blocks, 224px/16 grid.
TINY_CONFIG = {"embed_dim": 128, "depth": 2, "num_heads": 2, "patch_size": 16, "img_size": 224, "mlp_ratio": 4.0}
#: ViT-S/16's stand-in: ``vit_small``'s width and heads (384 = 6 x 64) with 2 blocks instead of 12.
TINY_VITS16_CONFIG = {"embed_dim": 384, "depth": 2, "num_heads": 6, "patch_size": 16, "img_size": 224, "mlp_ratio": 4.0}


def dino_interpolate_pos_embed(pos_embed: torch.Tensor, height: int, width: int, patch_size: int) -> torch.Tensor:
    """DINO's ``interpolate_pos_encoding`` for an input of ``height x width`` pixels.

    ``pos_embed`` is ``[1, 1 + N, D]`` (class token first) with ``N`` a square grid. Returns
    ``[1, 1 + (height // p) * (width // p), D]``.
    """
    num_grid = pos_embed.shape[1] - 1
    rows, cols = height // patch_size, width // patch_size
    if rows * cols == num_grid and height == width:
        return pos_embed
    side = math.sqrt(num_grid)
    dim = pos_embed.shape[-1]
    grid = pos_embed[:, 1:].reshape(1, int(side), int(side), dim).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, scale_factor=((rows + 0.1) / side, (cols + 0.1) / side), mode="bicubic")
    if grid.shape[-2:] != (rows, cols):
        raise RuntimeError(f"DINO position resampling gave {tuple(grid.shape[-2:])}, expected {(rows, cols)}")
    grid = grid.permute(0, 2, 3, 1).reshape(1, rows * cols, dim)
    return torch.cat((pos_embed[:, :1], grid), dim=1)


class DinoVisionTransformer(VisionTransformer):
    """timm's ViT whose token preparation follows DINO; ``forward`` returns the normed CLS token."""

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        height, width = x.shape[-2:]
        patch = self.patch_embed.patch_size[0]
        if height < patch or width < patch:
            raise InputError(
                f"DINO needs frames of at least {patch}x{patch} pixels, got {height}x{width}",
                fix="pass larger frames (VBench resizes the short side to 224 first)",
            )
        # A strided conv drops the remainder exactly like DINO's PatchEmbed (no size assert).
        tokens = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        tokens = self.patch_embed.norm(tokens)
        tokens = torch.cat((self.cls_token.expand(tokens.shape[0], -1, -1), tokens), dim=1)
        tokens = tokens + dino_interpolate_pos_embed(self.pos_embed, height, width, patch)
        tokens = self.norm_pre(self.patch_drop(self.pos_drop(tokens)))
        return self.norm(self.blocks(tokens))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """``[B, 3, H, W]`` ImageNet-normalised frames → ``[B, D]`` CLS features (not L2-normalised)."""
        return self.forward_features(x)[:, 0]


def build_dino_vit(
    *, embed_dim: int, depth: int, num_heads: int, patch_size: int = 16, img_size: int = 224, mlp_ratio: float = 4.0
) -> DinoVisionTransformer:
    """DINO's ``vit_*`` recipe in timm terms: qkv bias, LayerNorm eps 1e-6 (timm's default), no head."""
    return DinoVisionTransformer(
        img_size=img_size,
        patch_size=patch_size,
        embed_dim=embed_dim,
        depth=depth,
        num_heads=num_heads,
        mlp_ratio=mlp_ratio,
        qkv_bias=True,
        num_classes=0,
    )


def config_from_state_dict(state: dict[str, torch.Tensor], file: Path) -> dict[str, Any]:
    """Architecture of a DINO ViT checkpoint, read from its tensor shapes (heads: 64-d each)."""
    try:
        dim, _, patch, _ = state["patch_embed.proj.weight"].shape
        grid = state["pos_embed"].shape[1] - 1
        depth = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("blocks."))
        hidden = state["blocks.0.mlp.fc1.weight"].shape[0]
    except (KeyError, ValueError, IndexError) as exc:
        raise WeightsError(
            f"not a DINO ViT state dict (missing or malformed {exc})",
            file=file,
            fix="pass the backbone file dino_vitbase16_pretrain.pth from the DINO release",
        ) from exc
    return {
        "embed_dim": dim,
        "depth": depth,
        "num_heads": max(1, dim // HEAD_DIM),
        "patch_size": patch,
        "img_size": int(math.isqrt(grid)) * patch,
        "mlp_ratio": hidden / dim,
    }


def randomise_(module: torch.nn.Module, seed: int) -> None:
    """Seeded weights with real spread.

    timm's init (std 0.02) makes every frame's CLS nearly identical (Subj-Con ~99.99), which would
    hide errors; gain-2 weights and 0.5-std position embeddings give Subj-Con of 50–90 on the
    sample clips while keeping the position resampling visible in the output.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in module.named_parameters():
            if name in ("pos_embed", "cls_token"):
                param.copy_(0.5 * torch.randn(param.shape, generator=gen))
            elif param.ndim >= 2:
                fan_in = param[0].numel()
                param.copy_(2.0 * torch.randn(param.shape, generator=gen) * fan_in**-0.5)
            else:
                base = 1.0 if "norm" in name and name.endswith("weight") else 0.0
                param.copy_(base + 0.1 * torch.randn(param.shape, generator=gen))


class _DinoBackbone(Backbone):
    """One DINO ViT release file (a plain state dict); subclasses name the file and the tiny stand-in."""

    weight: ClassVar[WeightSpec]
    tiny_config: ClassVar[dict[str, Any]]

    def load(self, files: dict[str, Path], device: torch.device, dtype: torch.dtype) -> DinoVisionTransformer:
        path = Path(files[self.weight.id])
        fix = f"re-download {self.weight.filename}, the plain state dict DINO ships"
        state = read_state_dict(path, fix=fix)
        config = config_from_state_dict(state, path)
        with torch.device("meta"):
            model = build_dino_vit(**config)
        load_strict(model, state, path=path, network=f"a DINO ViT {config}", assign=True, fix=fix)
        return model.to(device=device, dtype=dtype).eval().requires_grad_(False)

    def build_tiny(self, out_dir: Path, seed: int) -> dict[str, Path]:
        model = build_dino_vit(**self.tiny_config)
        randomise_(model, seed)
        path = Path(out_dir) / self.weight.filename
        torch.save(model.state_dict(), path)
        return {self.weight.id: path}


@BACKBONES.register("dino_vitb16")
class DinoViTB16(_DinoBackbone):
    """DINO ViT-B/16 (``dino_vitbase16_pretrain.pth``), returning CLS features after the final norm."""

    name = "dino_vitb16"
    weight = DINO_VITB16_WEIGHTS
    weights = (DINO_VITB16_WEIGHTS,)
    tiny_config = TINY_CONFIG


@BACKBONES.register("dino_vits16")
class DinoViTS16(_DinoBackbone):
    """DINO ViT-S/16 (``vit_small``, ``dino_deitsmall16_pretrain.pth``): DreamVideo's DINO-I backbone.

    Same loader as ViT-B/16: the architecture is read from the state dict (384-d, 12 blocks,
    6 heads of 64), so a ``vit_small`` state dict loads with no extra configuration. DreamVideo
    feeds it 224x224 crops only, so DINO's position resampling never runs for it.
    """

    name = "dino_vits16"
    weight = DINO_VITS16_WEIGHTS
    weights = (DINO_VITS16_WEIGHTS,)
    tiny_config = TINY_VITS16_CONFIG
