"""Load a diffusers text-to-video base model: UNet3D, VAE, CLIP text encoder + tokenizer, DDIM.

Both paper bases (ZeroScope v2 576w, ModelScope 1.7B) are diffusers folders with the same UNet
architecture (reference/methods.md §1); JointTuner and MotionDirector load them component by
component (``load_primary_models``), which we mirror so that a local folder, a Hub id or the
tiny random pipeline all go through the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from jtbench.errors import InputError, WeightsError
from jtbench.methods.t2v.parts import freeze_parts, move_parts

#: ``--base`` name → Hugging Face repository (diffusers layout: unet/ vae/ text_encoder/ tokenizer/ scheduler/).
BASE_MODELS: dict[str, str] = {
    "zeroscope": "cerspense/zeroscope_v2_576w",
    "modelscope": "damo-vilab/text-to-video-ms-1.7b",
}

#: The real-size UNet config of both bases (the ``UNet3DConditionModel()`` defaults are the
#: ModelScope layout; ZeroScope v2 576w is a fine-tune of it with the same architecture).
REAL_UNET_CONFIG: dict[str, Any] = {
    "sample_size": 32,
    "in_channels": 4,
    "out_channels": 4,
    "down_block_types": ("CrossAttnDownBlock3D", "CrossAttnDownBlock3D", "CrossAttnDownBlock3D", "DownBlock3D"),
    "up_block_types": ("UpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D"),
    "block_out_channels": (320, 640, 1280, 1280),
    "layers_per_block": 2,
    "norm_num_groups": 32,
    "cross_attention_dim": 1024,
    "attention_head_dim": 64,
}

#: The latent scale both bases use (``vae.config.scaling_factor``; the official code hard-codes it).
LATENT_SCALE = 0.18215


@dataclass
class T2VComponents:
    """The five parts of a text-to-video base model, loaded and ready (all frozen, eval mode)."""

    unet: Any
    vae: Any
    text_encoder: Any
    tokenizer: Any
    scheduler: Any
    source: str

    @property
    def device(self) -> torch.device:
        return next(self.unet.parameters()).device

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def latent_scale(self) -> float:
        return float(getattr(self.vae.config, "scaling_factor", LATENT_SCALE))

    def to(self, device: str | torch.device, *, unet_dtype: torch.dtype | None = None,
           frozen_dtype: torch.dtype | None = None) -> T2VComponents:
        """Move everything to ``device``; UNet and the frozen encoders may get different dtypes
        (training keeps fp32 UNet master weights while the VAE and text encoder run in fp16)."""
        move_parts(device, ((self.unet, unet_dtype), (self.vae, frozen_dtype), (self.text_encoder, frozen_dtype)))
        return self

    def freeze(self) -> T2VComponents:
        freeze_parts(self.unet, self.vae, self.text_encoder)
        return self

    @torch.no_grad()
    def encode_prompt(self, prompts: list[str]) -> torch.Tensor:
        """CLIP last hidden states ``[B, 77, D]`` (padded to max length, truncated, no attention
        mask — as the official ``get_prompt_ids`` + ``text_encoder(ids)[0]``)."""
        ids = self.tokenizer(
            prompts, padding="max_length", max_length=self.tokenizer.model_max_length,
            truncation=True, return_tensors="pt",
        ).input_ids
        device = next(self.text_encoder.parameters()).device
        return self.text_encoder(ids.to(device))[0]


def resolve_base(base: str | Path) -> str:
    """A ``--base`` name, a Hub id or a local folder → what ``from_pretrained`` receives."""
    text = str(base)
    if text in BASE_MODELS:
        return BASE_MODELS[text]
    if Path(text).expanduser().is_dir():
        return str(Path(text).expanduser())
    if "/" in text and not Path(text).exists():
        return text  # a Hub id
    raise InputError(
        f"unknown base model {text!r}",
        fix=f"use one of {', '.join(BASE_MODELS)}, a Hugging Face id, or a local diffusers folder",
    )


def load_base_model(base: str | Path, *, offline: bool = True) -> T2VComponents:
    """Load every component from a diffusers folder or Hub id; offline never touches the network."""
    from diffusers import AutoencoderKL, DDIMScheduler, UNet3DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    ref = resolve_base(base)
    common = {"local_files_only": offline}
    parts = {
        "unet": (UNet3DConditionModel, "unet"),
        "vae": (AutoencoderKL, "vae"),
        "text_encoder": (CLIPTextModel, "text_encoder"),
        "tokenizer": (CLIPTokenizer, "tokenizer"),
        "scheduler": (DDIMScheduler, "scheduler"),
    }
    loaded: dict[str, Any] = {}
    for key, (cls, sub) in parts.items():
        try:
            if key == "scheduler":
                # Both official scripts run DDIM from the model's own scheduler config.
                loaded[key] = cls.from_config(cls.load_config(ref, subfolder=sub, **common))
            else:
                loaded[key] = cls.from_pretrained(ref, subfolder=sub, **common)
        except (OSError, ValueError) as exc:
            how = "it is not in the local Hugging Face cache" if offline else f"loading failed: {exc}"
            raise WeightsError(
                f"cannot load the {sub} of base model {ref!r}: {how}",
                file=Path(ref) / sub if Path(ref).is_dir() else None,
                fix=(f"run `huggingface-cli download {ref}` on a machine with network access (or drop --offline), "
                     "or pass a local diffusers folder"),
            ) from exc
    components = T2VComponents(source=ref, **loaded)
    return components.freeze()


def load_for_settings(settings: Any) -> Any:
    """The base model a run asks for: ``overrides['base_path']``, the tiny pipeline or the paper base.

    ``settings`` is a :class:`jtbench.methods.base.RunSettings`. A DiT base (its registry entry in
    :mod:`jtbench.methods.t2v.bases`) returns :class:`~jtbench.methods.t2v.dit.components.DiTComponents`.
    """
    from jtbench.methods.t2v.bases import BASES

    if settings.base_model in BASES and BASES.get(settings.base_model).is_dit:
        return load_dit_for_settings(BASES.get(settings.base_model), settings)
    override = settings.overrides.get("base_path")
    if override:
        return load_base_model(override, offline=settings.offline)
    if settings.backbones == "tiny":
        from jtbench.methods.t2v.tiny import ensure_tiny_base

        return load_base_model(ensure_tiny_base(), offline=True)
    return load_base_model(settings.base_model, offline=settings.offline)


def load_dit_for_settings(spec: Any, settings: Any) -> Any:
    """A DiT base through the same three sources: ``base_path``, the tiny folder of its family, its Hub id."""
    from jtbench.methods.t2v.dit.components import load_dit_base

    override = settings.overrides.get("base_path")
    if override:
        return load_dit_base(spec, resolve_base(override), offline=settings.offline)
    if settings.backbones == "tiny":
        from jtbench.methods.t2v.dit.tiny import ensure_tiny_dit

        return load_dit_base(spec, str(ensure_tiny_dit(spec.tiny_model or spec.family)), offline=True)
    return load_dit_base(spec, spec.hub_id, offline=settings.offline)


def build_meta_unet(base: str = "zeroscope") -> Any:
    """The real-size UNet on the meta device (no memory, no weights): for parameter counting."""
    from diffusers import UNet3DConditionModel

    if base not in BASE_MODELS:
        raise InputError(f"unknown base model {base!r}", fix=f"use one of {', '.join(BASE_MODELS)}")
    with torch.device("meta"):
        return UNet3DConditionModel(**REAL_UNET_CONFIG)
