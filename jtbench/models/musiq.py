"""MUSIQ-SPAQ, the Img-Q backbone: pyiqa's MUSIQ architecture with the SPAQ regression head.

VBench builds ``pyiqa.archs.musiq_arch.MUSIQ(pretrained_model_path=<spaq ckpt>)`` directly
(bypassing ``pyiqa.create_metric``) and sets ``model.training = False`` on the top module only,
which selects MUSIQ's inference branch (inputs mapped to [-1, 1], multi-scale patches at full
resolution plus longer side 224 and 384). Submodules left in training mode are harmless: every
dropout rate is 0 and there is no BatchNorm. We call ``.eval()``, which takes the same branch.

The loaded object is the pyiqa module itself: ``model(frames)`` with ``frames`` ``[B, 3, H, W]``
in [0, 1] returns the MOS ``[B, 1]`` on SPAQ's 0–100 scale.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from jtbench.errors import WeightsError
from jtbench.models.base import BACKBONES, Backbone, load_strict, read_state_dict
from jtbench.weights.catalog import WeightSpec, register_weights

MUSIQ_SPAQ_WEIGHTS = register_weights(
    WeightSpec(
        id="musiq-spaq",
        filename="musiq_spaq_ckpt-358bb6af.pth",
        urls=(
            "https://github.com/chaofengc/IQA-PyTorch/releases/download/v0.1-weights/musiq_spaq_ckpt-358bb6af.pth",
            "https://huggingface.co/chaofengc/IQA-PyTorch-Weights/resolve/main/musiq_spaq_ckpt-358bb6af.pth",
        ),
        licence="MUSIQ weights: Apache-2.0 (google-research); converted and hosted by pyiqa",
        used_by=("imaging_quality",),
        vbench_path="pyiqa_model/musiq_spaq_ckpt-358bb6af.pth",
    )
)

#: MUSIQ's published models use 64-d attention heads (384 hidden / 6 heads); the head count is
#: the one hyper-parameter a state dict does not reveal.
HEAD_DIM = 64
#: Stem width fixed by pyiqa's MUSIQ (``resnet_token_dim = 64``, bottleneck x4).
_STEM_CHANNELS = 256
#: Published image pyramid (VBench uses pyiqa's defaults).
LONGER_SIDE_LENGTHS = (224, 384)
#: The tiny stand-in: same family and file layout, smaller transformer (the conv stem is fixed).
TINY_CONFIG = {"hidden_size": 128, "mlp_dim": 256, "num_heads": 2, "num_layers": 2}


def build_musiq(**config: Any) -> torch.nn.Module:
    """pyiqa's MUSIQ with ``num_class=1`` (SPAQ is a regressor) and no download attempt."""
    from pyiqa.archs.musiq_arch import MUSIQ  # heavy import, deferred until a model is wanted

    options = {"num_class": 1, "longer_side_lengths": list(LONGER_SIDE_LENGTHS)} | config
    return MUSIQ(pretrained=False, pretrained_model_path=None, **options)


def config_from_state_dict(state: dict[str, torch.Tensor], file: Path) -> dict[str, Any]:
    """Architecture of a MUSIQ checkpoint, read from its tensor shapes (heads: 64-d each)."""
    prefix = "transformer_encoder."
    try:
        hidden, embed_in = state["embedding.weight"].shape
        blocks = [k for k in state if k.startswith(prefix + "transformer.encoderblock_")]
        num_layers = 1 + max(int(k.split(".")[2].rsplit("_", 1)[1]) for k in blocks)
        mlp_dim = state[prefix + "transformer.encoderblock_0.mlp.fc1.weight"].shape[0]
        num_scales = state[prefix + "scaleembed_input.scale_emb"].shape[0]
        grid = math.isqrt(state[prefix + "posembed_input.position_emb"].shape[1])
        head = state.get("head.weight", state.get("head.0.weight"))
        num_class = head.shape[0]
    except (KeyError, ValueError, IndexError, AttributeError) as exc:
        raise WeightsError(
            f"not a pyiqa MUSIQ state dict (missing or malformed {exc})",
            file=file,
            fix="pass musiq_spaq_ckpt-358bb6af.pth from the pyiqa weight release",
        ) from exc
    token_patch = math.isqrt(embed_in // _STEM_CHANNELS)
    return {
        "patch_size": token_patch * 4,
        "num_class": num_class,
        "hidden_size": hidden,
        "mlp_dim": mlp_dim,
        "num_heads": max(1, hidden // HEAD_DIM),
        "num_layers": num_layers,
        "num_scales": num_scales,
        "spatial_pos_grid_size": grid,
    }


def randomise_(module: torch.nn.Module, seed: int) -> None:
    """Seeded weights with real spread, and a head centred on a plausible MOS (about 50)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in module.named_parameters():
            if name.startswith("head") and name.endswith("bias"):
                param.fill_(50.0)
            elif name.startswith("head"):
                param.copy_(torch.randn(param.shape, generator=gen) * 5 * param.shape[-1] ** -0.5)
            elif name.endswith(("position_emb", "scale_emb", ".cls")):
                param.copy_(torch.randn(param.shape, generator=gen))
            elif param.ndim >= 2:
                param.copy_(torch.randn(param.shape, generator=gen) * param[0].numel() ** -0.5)
            else:
                base = 1.0 if name.endswith("weight") else 0.0  # norm scales
                param.copy_(base + 0.1 * torch.randn(param.shape, generator=gen))


@BACKBONES.register("musiq_spaq")
class MusiqSpaq(Backbone):
    """MUSIQ trained on SPAQ (``musiq_spaq_ckpt-358bb6af.pth``): per-image MOS, 0–100."""

    name = "musiq_spaq"
    weights = (MUSIQ_SPAQ_WEIGHTS,)

    def load(self, files: dict[str, Path], device: torch.device, dtype: torch.dtype) -> torch.nn.Module:
        path = Path(files[MUSIQ_SPAQ_WEIGHTS.id])
        state = read_state_dict(path, fix="re-download musiq_spaq_ckpt-358bb6af.pth (`jtbench weights download`)")
        model = build_musiq(**config_from_state_dict(state, path))
        # pyiqa's load_pretrained_network, minus its print
        load_strict(model, state, path=path, network="pyiqa's MUSIQ",
                    fix="pass musiq_spaq_ckpt-358bb6af.pth from the pyiqa weight release")
        return model.to(device=device, dtype=dtype).eval().requires_grad_(False)

    def build_tiny(self, out_dir: Path, seed: int) -> dict[str, Path]:
        model = build_musiq(**TINY_CONFIG)
        randomise_(model, seed)
        path = Path(out_dir) / MUSIQ_SPAQ_WEIGHTS.filename
        torch.save(model.state_dict(), path)
        return {MUSIQ_SPAQ_WEIGHTS.id: path}
