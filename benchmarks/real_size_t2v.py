"""The real-size ZeroScope base (UNet3D, VAE, OpenCLIP-H text tower) with random weights, in memory.

For timing only (``train_step.py``, ``gpu_check.py``): a step costs the same whatever the
weights are, so the parts are built from their configs on the target device (no download, no
5 GB write and re-read). :func:`real_size_base` routes every method's ``load_for_settings`` to a
fresh build — adapters mutate the UNet they get (LoRA, adapters), so each call gets its own —
and gives DreamVideo a real-size random ViT-H/14 image tower in place of its Hub download.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

REAL_VAE = {
    "in_channels": 3, "out_channels": 3, "latent_channels": 4,
    "down_block_types": ("DownEncoderBlock2D",) * 4, "up_block_types": ("UpDecoderBlock2D",) * 4,
    "block_out_channels": (128, 256, 512, 512), "layers_per_block": 2, "norm_num_groups": 32, "sample_size": 512,
}
REAL_TEXT = {
    "vocab_size": 49408, "hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 23,
    "num_attention_heads": 16, "max_position_embeddings": 77, "projection_dim": 1024, "hidden_act": "gelu",
    "bos_token_id": 49406, "eos_token_id": 49407, "pad_token_id": 49407,
}
#: OpenCLIP ViT-H/14's vision tower (DreamVideo's appearance encoder) as a transformers config.
REAL_IMAGE_TOWER = {
    "hidden_size": 1280, "intermediate_size": 5120, "num_hidden_layers": 32, "num_attention_heads": 16,
    "patch_size": 14, "image_size": 224, "projection_dim": 1024, "hidden_act": "gelu",
}


def build_components(tiny: bool, device: torch.device | str, seed: int = 0):
    """The base model: tiny from its saved folder, or real-size random weights built on ``device``."""
    from jtbench.methods.t2v.base_model import REAL_UNET_CONFIG, T2VComponents, load_base_model
    from jtbench.methods.t2v.tiny import TINY_SCHEDULER, ensure_tiny_base

    tiny_dir = ensure_tiny_base()  # also provides the (real) CLIP tokenizer files
    if tiny:
        return load_base_model(tiny_dir).to(device)
    from diffusers import AutoencoderKL, DDIMScheduler, UNet3DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    with torch.device(device):
        unet = UNet3DConditionModel(**REAL_UNET_CONFIG)
        vae = AutoencoderKL(**REAL_VAE)
        text = CLIPTextModel(CLIPTextConfig(**REAL_TEXT))
    tokenizer = CLIPTokenizer.from_pretrained(tiny_dir / "tokenizer")
    return T2VComponents(unet, vae, text, tokenizer, DDIMScheduler(**TINY_SCHEDULER), "random real-size").freeze()


def build_image_tower(device: torch.device | str, seed: int = 0) -> Any:
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    with torch.device(device):
        return CLIPVisionModelWithProjection(CLIPVisionConfig(**REAL_IMAGE_TOWER)).eval().requires_grad_(False)


@contextmanager
def real_size_base(device: torch.device | str) -> Iterator[None]:
    """Within the block, every ``load_for_settings`` (and DreamVideo's image encoder) returns a fresh
    real-size random build on ``device``, whatever the settings name."""
    import baselines.dreamvideo.image_encoder as dreamvideo_encoder
    from jtbench.methods.t2v import base_model

    original = base_model.load_for_settings

    def load_for_settings(settings: Any) -> Any:
        return build_components(False, device)

    # Adapters that imported the function by name hold their own reference: swap those too.
    holders = [m for m in list(sys.modules.values()) if getattr(m, "load_for_settings", None) is original]
    original_encoder = dreamvideo_encoder.encoder_for_settings
    try:
        for module in holders:
            module.load_for_settings = load_for_settings
        dreamvideo_encoder.encoder_for_settings = lambda cfg, settings: build_image_tower(device)
        yield
    finally:
        for module in holders:
            module.load_for_settings = original
        dreamvideo_encoder.encoder_for_settings = original_encoder
