"""The appearance-guidance image embedder: OpenCLIP ViT-H/14 (laion2b_s32b_b79k), 1024-d.

VGen's ``FrozenOpenCLIPVisionEmbedder`` runs the ViT-H/14 visual tower and its projection on a
224 px centre crop normalised with CLIP's mean/std, giving the 1024-d embedding the motion
adapters are conditioned on. The same weights are published in transformers' format as
``laion/CLIP-ViT-H-14-laion2B-s32B-b79K``; ``CLIPVisionModelWithProjection.image_embeds`` is
OpenCLIP's ``encode_image`` (visual tower + projection). That is also the image tower matching
the ZeroScope/ModelScope text encoder (the OpenCLIP ViT-H/14 text tower). Tiny runs build a
seeded random tower from a config, save it and load it back through the same loader.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch

from jtbench.errors import WeightsError
from jtbench.paths import cache_dir

HF_REPO = "laion/CLIP-ViT-H-14-laion2B-s32B-b79K"
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
TINY_VISION = {
    "hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4, "num_hidden_layers": 2,
    "image_size": 224, "patch_size": 32, "projection_dim": 32, "hidden_act": "gelu",
}


def ensure_tiny_image_encoder(seed: int = 0) -> Path:
    """A tiny ``CLIPVisionModelWithProjection`` saved under ``$JTBENCH_CACHE/tiny`` (built once)."""
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    target = cache_dir() / "tiny" / f"dreamvideo-clip-vision-{seed}"
    if (target / "config.json").is_file():
        return target
    tmp = target.with_name(f".{target.name}.building")
    shutil.rmtree(tmp, ignore_errors=True)
    torch.manual_seed(seed)
    CLIPVisionModelWithProjection(CLIPVisionConfig(**TINY_VISION)).save_pretrained(tmp)
    (tmp / "jtbench_tiny.json").write_text(json.dumps({"seed": seed}))
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
    return target


def load_image_encoder(ref: str | Path, *, offline: bool = True) -> Any:
    """Load the vision tower from a local folder or the Hub (frozen, eval)."""
    from transformers import CLIPVisionModelWithProjection

    try:
        model = CLIPVisionModelWithProjection.from_pretrained(str(ref), local_files_only=offline)
    except (OSError, ValueError) as exc:
        raise WeightsError(
            f"cannot load DreamVideo's appearance image encoder {str(ref)!r}: {exc}",
            file=ref if Path(str(ref)).exists() else None,
            fix=f"run `huggingface-cli download {HF_REPO}` where the network is allowed, or set "
                "image_encoder in baselines/dreamvideo/config.yaml (or overrides) to a local folder",
        ) from exc
    return model.requires_grad_(False).eval()


def encoder_for_settings(cfg: dict[str, Any], settings: Any) -> Any:
    ref = cfg["image_encoder"] if settings.overrides.get("image_encoder") else (
        ensure_tiny_image_encoder() if settings.backbones == "tiny" else cfg["image_encoder"])
    return load_image_encoder(ref, offline=settings.offline or settings.backbones == "tiny")


def preprocess(frames: torch.Tensor, size: int = 224) -> torch.Tensor:
    """``uint8 [N, H, W, 3]`` → normalised ``[N, 3, size, size]``: resize the short side (bicubic), centre crop."""
    from torchvision.transforms.v2 import functional as TF

    x = frames.permute(0, 3, 1, 2)
    x = TF.resize(x, size, interpolation=TF.InterpolationMode.BICUBIC, antialias=True)
    x = TF.center_crop(x, [size, size]).float().div(255.0)
    return TF.normalize(x, list(CLIP_MEAN), list(CLIP_STD))


@torch.no_grad()
def embed_images(encoder: Any, frames: torch.Tensor) -> torch.Tensor:
    """``uint8 [N, H, W, 3]`` → ``[N, projection_dim]`` image embeddings (OpenCLIP ``encode_image``)."""
    size = int(encoder.config.image_size)
    pixels = preprocess(frames, size).to(device=encoder.device, dtype=encoder.dtype)
    return encoder(pixel_values=pixels).image_embeds.float()
