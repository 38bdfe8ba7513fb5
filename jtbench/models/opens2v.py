"""OpenS2V-Eval's aesthetic scorer: Hugging Face CLIP ViT-L/14 ``image_embeds`` and its MLP head.

``get_aesscore.py`` (OpenS2V-Nexus @210eb08) loads ``CLIPVisionModelWithProjection`` and
``CLIPProcessor`` from ``openai/clip-vit-large-patch14`` and an MLP state dict
(``BestWishYsh/OpenS2V-Weight/aesthetic-model.pth``, keys ``layers.{0,2,4,6,7}``): 768 → 1024 →
128 → 64 → 16 → 1 with dropouts and no activations (the improved-aesthetic-predictor shape; not
VBench's linear head that Aesth-Q uses). It runs in fp32 on CUDA.

Its pinned transformers 4.51.3 gave ``CLIPProcessor.from_pretrained`` the PIL ("slow") image
processor (the "use_fast=True will be the default behavior in v4.52" era); transformers 5 picks
the torchvision one, whose resize differs. The PIL processor is loaded explicitly here, as for
PickScore. Tiny mode saves a tiny ``CLIPModel`` (text + vision, projection 768 so the real head
shape fits) with ``save_pretrained`` — the published repo's format — plus its processor files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from jtbench.models.base import BACKBONES, Backbone, load_hf_folder, load_strict, read_state_dict
from jtbench.models.pickscore import (
    pil_image_processor_class,
    save_clip_processor_files,
)
from jtbench.weights.catalog import WeightSpec, register_weights

HF_CLIP_VIT_L_14 = register_weights(
    WeightSpec(
        id="hf-clip-vit-large-patch14",
        filename="clip-vit-large-patch14",
        hf_repo="openai/clip-vit-large-patch14",
        licence="MIT (openai/CLIP; model card)",
        used_by=("aesthetics_opens2v",),
        is_dir=True,
    )
)
OPENS2V_AESTHETIC_MLP = register_weights(
    WeightSpec(
        id="opens2v-aesthetic-mlp",
        filename="aesthetic-model.pth",
        urls=("https://huggingface.co/BestWishYsh/OpenS2V-Weight/resolve/main/aesthetic-model.pth",),
        sha256=None,  # not published: locked on first download
        licence="see the BestWishYsh/OpenS2V-Weight model card (not verified offline)",
        used_by=("aesthetics_opens2v",),
    )
)

EMBED_DIM = 768  # CLIP ViT-L/14's projection: the head's input
#: Tiny CLIP: narrow and shallow, the real 224 px / patch 14 input and the real 768-d projection.
TINY_VISION = {"hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4, "num_hidden_layers": 2,
               "patch_size": 14, "image_size": 224, "hidden_act": "quick_gelu",
               "projection_dim": EMBED_DIM}  # fmt: skip
TINY_TEXT = {"hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4, "num_hidden_layers": 2,
             "max_position_embeddings": 77, "vocab_size": 49408, "hidden_act": "quick_gelu",
             "projection_dim": EMBED_DIM}  # fmt: skip


class AestheticMLP(nn.Module):
    """768 → 1024 → 128 → 64 → 16 → 1, dropouts between, no activation (the published key layout)."""

    def __init__(self, width: int = EMBED_DIM) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(width, 1024), nn.Dropout(0.2), nn.Linear(1024, 128), nn.Dropout(0.2),
            nn.Linear(128, 64), nn.Dropout(0.1), nn.Linear(64, 16), nn.Linear(16, 1),
        )  # fmt: skip

    def forward(self, embeds: torch.Tensor) -> torch.Tensor:
        return self.layers(embeds)


@dataclass
class HFClipVision:
    """``CLIPVisionModelWithProjection`` with its PIL image processor."""

    model: Any
    image_processor: Any
    device: torch.device
    dtype: torch.dtype

    @torch.inference_mode()
    def image_embeds(self, images: Sequence[Any]) -> torch.Tensor:
        """Projected, un-normalised embeddings ``[N, 768]`` of PIL images (processor → ``image_embeds``)."""
        pixels = self.image_processor(images=list(images), return_tensors="pt")["pixel_values"]
        return self.model(pixel_values=pixels.to(self.device, self.dtype)).image_embeds


@BACKBONES.register("hf_clip_vit_l_14")
class HFClipViTL14(Backbone):
    """openai/clip-vit-large-patch14 through transformers (OpenS2V's Aesthetics); fp32 as OpenS2V runs it."""

    name = "hf_clip_vit_l_14"
    weights = (HF_CLIP_VIT_L_14,)

    def load(self, files: dict[str, Path], device: torch.device, dtype: torch.dtype) -> HFClipVision:
        from transformers import CLIPVisionModelWithProjection

        folder = files[HF_CLIP_VIT_L_14.id]
        model = load_hf_folder(CLIPVisionModelWithProjection, folder, HF_CLIP_VIT_L_14, "CLIP vision model")
        processor = load_hf_folder(pil_image_processor_class(), folder, HF_CLIP_VIT_L_14, "CLIP image processor")
        return HFClipVision(model.to(device=device, dtype=dtype).eval(), processor, torch.device(device), dtype)

    def build_tiny(self, out_dir: Path, seed: int) -> dict[str, Path]:
        from transformers import CLIPConfig, CLIPModel

        torch.manual_seed(seed)
        folder = out_dir / HF_CLIP_VIT_L_14.filename
        config = CLIPConfig(text_config=TINY_TEXT, vision_config=TINY_VISION, projection_dim=EMBED_DIM)
        CLIPModel(config).eval().save_pretrained(folder)
        save_clip_processor_files(folder)  # the tokenizer too: CLIPProcessor (OpenS2V's loader) needs one
        return {HF_CLIP_VIT_L_14.id: folder}


@BACKBONES.register("opens2v_aesthetic_mlp")
class OpenS2VAestheticMLP(Backbone):
    """OpenS2V's aesthetic head on L2-normalised ``image_embeds``; raw 1–10 scale; fp32."""

    name = "opens2v_aesthetic_mlp"
    weights = (OPENS2V_AESTHETIC_MLP,)

    def load(self, files: dict[str, Path], device: torch.device, dtype: torch.dtype) -> AestheticMLP:
        path = files[OPENS2V_AESTHETIC_MLP.id]
        fix = "fetch aesthetic-model.pth from BestWishYsh/OpenS2V-Weight again"
        head = AestheticMLP()
        load_strict(head, read_state_dict(path, fix=fix), path=path, network="OpenS2V's aesthetic MLP", fix=fix)
        return head.to(device=device, dtype=dtype).eval()

    def build_tiny(self, out_dir: Path, seed: int) -> dict[str, Path]:
        """The real head shape (0.9 M parameters) with seeded weights: it reads the tiny CLIP's 768-d output.

        Weights ~ N(0, 1/fan_out) keep the embedding's norm through the five layers (PyTorch's default
        init shrinks it ~100x, leaving a head that ignores the frame); the last bias centres it on 5.
        """
        generator = torch.Generator().manual_seed(seed)
        head = AestheticMLP()
        with torch.no_grad():
            for layer in head.layers:
                if isinstance(layer, nn.Linear):
                    layer.weight.normal_(0.0, layer.out_features**-0.5, generator=generator)
                    layer.bias.normal_(0.0, 0.01, generator=generator)
            head.layers[-1].bias.fill_(5.0)
        path = out_dir / OPENS2V_AESTHETIC_MLP.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(head.state_dict(), path)
        return {OPENS2V_AESTHETIC_MLP.id: path}
