"""Hugging Face CLIP ViT-B/32 and DINO ViT-B/16 folders, loaded as DeT's ``evaluation.py`` loads them.

DeT (``Shi-qingyu/DeT`` @2a2f4dd) reads ``CLIPModel`` / ``CLIPProcessor`` from
``openai/clip-vit-base-patch32`` and ``ViTModel`` / ``ViTImageProcessor`` from
``facebook/dino-vitb16``. Two things are pinned down here:

* **the PIL image processors.** DeT needs ``transformers>=4.40``; until 4.52 ``from_pretrained``
  gave the slow (PIL) processors, which transformers 5 replaced by torchvision ones that resize
  differently. jtbench loads the PIL classes explicitly, as it does for PickScore.
* **DINO's pooler.** HF's DINO conversion saved ``ViTModel(add_pooling_layer=False)``, so the
  released ``facebook/dino-vitb16`` has no ``pooler.dense`` and ``ViTModel.from_pretrained``
  initialises it at random on every load; DeT's T-Cons reads ``pooler_output`` through it. A
  folder without pooler weights gets :data:`POOLER_SEED`'s pooler here (ViT's own init rule:
  truncated normal, std ``initializer_range``, zero bias), so the number is reproducible but, as
  in DeT, depends on a random layer; :attr:`HfDino.pooler` records where the pooler came from.

Tiny mode saves few-layer models of the same classes with ``save_pretrained`` (and the
processors' configs), so ``--backbones tiny`` runs this loading code.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from jtbench.errors import InputError, WeightsError
from jtbench.models.base import BACKBONES, Backbone, load_hf_folder
from jtbench.models.pickscore import (
    TINY_TEXT,
    TINY_VISION,
    load_clip_tokenizer,
    pil_image_processor_class,
    projected,
    save_clip_processor_files,
)
from jtbench.weights.catalog import WeightSpec, register_weights

HF_CLIP_VIT_B_32 = register_weights(
    WeightSpec(
        id="hf-clip-vit-base-patch32",
        filename="clip-vit-base-patch32",
        hf_repo="openai/clip-vit-base-patch32",
        sha256=None,  # a folder: locked on first download (weights/lock.py)
        licence="MIT (openai/CLIP; model card)",
        used_by=("clip_t_det",),
        is_dir=True,
    )
)
HF_DINO_VITB16 = register_weights(
    WeightSpec(
        id="hf-dino-vitb16",
        filename="dino-vitb16",
        hf_repo="facebook/dino-vitb16",
        sha256=None,
        licence="Apache-2.0 (model card)",
        used_by=("t_cons_det",),
        is_dir=True,
    )
)

#: The seed of the pooler a DINO folder without one gets (recorded on the model and in the profile).
POOLER_SEED = 0
#: Tiny DINO: ViT-B/16's patch and image size, 2 layers of width 32.
TINY_DINO = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 37,
    "image_size": 224,
    "patch_size": 16,
    "qkv_bias": True,
}


def _vit_pil_processor_class() -> type:
    try:
        from transformers.models.vit.image_processing_pil_vit import ViTImageProcessorPil
    except ImportError:  # transformers 4.x: the default ViT processor is the PIL one
        from transformers import ViTImageProcessor as ViTImageProcessorPil
    return ViTImageProcessorPil



# -- CLIP ViT-B/32 ------------------------------------------------------------------------------
@dataclass
class HfClip:
    """A loaded HF ``CLIPModel`` with its PIL image processor and tokenizer."""

    model: Any
    image_processor: Any
    tokenizer: Any
    device: torch.device
    dtype: torch.dtype

    @property
    def logit_scale(self) -> float:
        """``exp(logit_scale)``: what ``logits_per_image`` multiplies the cosine by (100 released)."""
        return float(self.model.logit_scale.detach().exp().float().cpu())

    @torch.inference_mode()
    def image_embeds(self, frames: torch.Tensor) -> torch.Tensor:
        """Projected embeddings of ``uint8 [N, H, W, 3]`` frames through the PIL processor."""
        pixels = self.image_processor(images=list(frames), return_tensors="pt")["pixel_values"]
        return projected(self.model.get_image_features(pixel_values=pixels.to(self.device, self.dtype)))

    @torch.inference_mode()
    def text_embeds(self, text: str, copies: int = 1) -> torch.Tensor:
        """Projected embeddings of ``copies`` copies of ``text`` in one call, *not* truncated (as ``CLIPProcessor``
        without ``truncation``). DeT encodes the prompt once per frame; a batch of copies rounds slightly
        differently from one copy (≈1e-7 relative), which the ×100 logit scale makes visible."""
        tokens = self.tokenizer([text] * copies, padding=True, return_tensors="pt")
        limit = self.model.config.text_config.max_position_embeddings
        if tokens["input_ids"].shape[1] > limit:
            raise InputError(
                f"the prompt is {tokens['input_ids'].shape[1]} tokens, longer than CLIP's {limit}",
                fix="DeT's CLIPProcessor call has no truncation and fails on it too; shorten the prompt",
            )
        tokens = {k: v.to(self.device) for k, v in tokens.items() if k in ("input_ids", "attention_mask")}
        return projected(self.model.get_text_features(**tokens))


@BACKBONES.register("hf_clip_vit_b_32")
class HfClipViTB32(Backbone):
    """``openai/clip-vit-base-patch32`` as a Hugging Face folder (DeT's CLIP score)."""

    name = "hf_clip_vit_b_32"
    weights = (HF_CLIP_VIT_B_32,)

    def load(self, files: dict[str, Path], device: torch.device, dtype: torch.dtype) -> HfClip:
        from transformers import CLIPModel

        folder = files[HF_CLIP_VIT_B_32.id]
        model = load_hf_folder(CLIPModel, folder, HF_CLIP_VIT_B_32, "CLIPModel")
        processor = load_hf_folder(pil_image_processor_class(), folder, HF_CLIP_VIT_B_32, "CLIP image processor")
        model = model.to(device=device, dtype=dtype).eval()
        return HfClip(model, processor, load_clip_tokenizer(folder), torch.device(device), dtype)

    def build_tiny(self, out_dir: Path, seed: int) -> dict[str, Path]:
        from transformers import CLIPConfig, CLIPModel

        torch.manual_seed(seed)
        config = CLIPConfig(text_config=TINY_TEXT, vision_config={**TINY_VISION, "patch_size": 32}, projection_dim=32)
        model = CLIPModel(config).eval()
        with torch.no_grad():
            model.logit_scale.fill_(float(torch.tensor(100.0).log()))  # the released value, not the init's 14.3
        folder = out_dir / HF_CLIP_VIT_B_32.filename
        model.save_pretrained(folder)
        save_clip_processor_files(folder)
        return {HF_CLIP_VIT_B_32.id: folder}


# -- DINO ViT-B/16 ------------------------------------------------------------------------------
@dataclass
class HfDino:
    """A loaded HF DINO ``ViTModel`` (with a pooler) and its PIL image processor."""

    model: Any
    image_processor: Any
    device: torch.device
    dtype: torch.dtype
    pooler: str  # "checkpoint", or "seed <n> (sha256 …)" when the folder had none

    @torch.inference_mode()
    def pooler_output(self, frames: torch.Tensor) -> torch.Tensor:
        """``pooler_output`` of ``uint8 [N, H, W, 3]`` frames (squash to 224², mean/std 0.5 as configured)."""
        pixels = self.image_processor(images=list(frames.permute(0, 3, 1, 2)), return_tensors="pt")["pixel_values"]
        return self.model(pixel_values=pixels.to(self.device, self.dtype)).pooler_output


def seeded_pooler(model: Any, seed: int = POOLER_SEED) -> str:
    """Give ``model.pooler.dense`` ViT's init from ``seed``; returns its record (seed and weight digest)."""
    generator = torch.Generator().manual_seed(seed)
    dense = model.pooler.dense
    with torch.no_grad():
        weight = torch.empty(dense.weight.shape, dtype=torch.float32)
        torch.nn.init.trunc_normal_(weight, mean=0.0, std=model.config.initializer_range, generator=generator)
        dense.weight.copy_(weight)
        dense.bias.zero_()
    digest = hashlib.sha256(weight.numpy().tobytes()).hexdigest()
    return f"seed {seed} (sha256 {digest[:16]})"


@BACKBONES.register("hf_dino_vitb16")
class HfDinoViTB16(Backbone):
    """``facebook/dino-vitb16`` as a Hugging Face folder (DeT's Temporal Consistency)."""

    name = "hf_dino_vitb16"
    weights = (HF_DINO_VITB16,)

    def load(self, files: dict[str, Path], device: torch.device, dtype: torch.dtype) -> HfDino:
        from transformers import ViTModel

        folder = files[HF_DINO_VITB16.id]
        model, info = load_hf_folder(ViTModel, folder, HF_DINO_VITB16, "ViTModel", add_pooling_layer=True,
                                       output_loading_info=True)  # fmt: skip
        missing = [k for k in info.get("missing_keys", ()) if k.startswith("pooler.")]
        other = [k for k in info.get("missing_keys", ()) if not k.startswith("pooler.")]
        if other:
            raise WeightsError(f"the DINO checkpoint lacks {len(other)} weights ({', '.join(other[:3])} …)",
                               file=folder, fix=f"download {HF_DINO_VITB16.hf_repo} again")  # fmt: skip
        pooler = seeded_pooler(model) if missing else "checkpoint"
        processor = load_hf_folder(_vit_pil_processor_class(), folder, HF_DINO_VITB16, "ViT image processor")
        model = model.to(device=device, dtype=dtype).eval()
        return HfDino(model, processor, torch.device(device), dtype, pooler)

    def build_tiny(self, out_dir: Path, seed: int) -> dict[str, Path]:
        """Without pooler weights, as the released folder (the load then seeds one)."""
        from transformers import ViTConfig, ViTModel

        torch.manual_seed(seed)
        folder = out_dir / HF_DINO_VITB16.filename
        ViTModel(ViTConfig(**TINY_DINO), add_pooling_layer=False).eval().save_pretrained(folder)
        _vit_pil_processor_class()(
            do_resize=True, size={"height": 224, "width": 224}, resample=2, do_rescale=True,
            do_normalize=True, image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5],
        ).save_pretrained(folder)  # fmt: skip
        return {HF_DINO_VITB16.id: folder}
