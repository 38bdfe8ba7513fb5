"""Real-size metric architectures with seeded random weights, written in the published file formats.

For timing only (``score_speed.py``): the files load through the backbones' real ``load`` code,
so loading and compute cost what the published checkpoints cost. Backbones whose tiny build is
already the real architecture (AMT-S, RAFT-large, the LK stand-in) are not listed here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from jtbench.models.base import BACKBONES


def _clip_files(name: str, config: dict[str, int]) -> Callable[[Path, int], dict[str, Path]]:
    def build(out: Path, seed: int) -> dict[str, Path]:
        from jtbench.models.clip import write_tiny_openai_clip

        backbone = BACKBONES.get(name)
        return {backbone.weight.id: write_tiny_openai_clip(out / backbone.weight.filename, config, seed)}

    return build


def _openai_clip_config(embed: int, layers: int, width: int, patch: int, text_width: int) -> dict[str, int]:
    return dict(
        embed_dim=embed,
        image_resolution=224,
        vision_layers=layers,
        vision_width=width,
        vision_patch_size=patch,
        context_length=77,
        vocab_size=49408,
        transformer_width=text_width,
        transformer_heads=text_width // 64,
        transformer_layers=12,
    )


def _laion_head(out: Path, seed: int) -> dict[str, Path]:
    from jtbench.models.clip import LAION_AESTHETIC_LINEAR

    torch.manual_seed(seed)
    path = out / LAION_AESTHETIC_LINEAR.filename
    torch.save(torch.nn.Linear(768, 1).state_dict(), path)
    return {LAION_AESTHETIC_LINEAR.id: path}


def _dino(out: Path, seed: int) -> dict[str, Path]:
    from jtbench.models.dino import DINO_VITB16_WEIGHTS, build_dino_vit, randomise_

    model = build_dino_vit(embed_dim=768, depth=12, num_heads=12)
    randomise_(model, seed)
    path = out / DINO_VITB16_WEIGHTS.filename
    torch.save(model.state_dict(), path)
    return {DINO_VITB16_WEIGHTS.id: path}


def _musiq(out: Path, seed: int) -> dict[str, Path]:
    from jtbench.models.musiq import MUSIQ_SPAQ_WEIGHTS, build_musiq, randomise_

    model = build_musiq()  # pyiqa's defaults are the published MUSIQ configuration
    randomise_(model, seed)
    path = out / MUSIQ_SPAQ_WEIGHTS.filename
    torch.save(model.state_dict(), path)
    return {MUSIQ_SPAQ_WEIGHTS.id: path}


def _pickscore(out: Path, seed: int) -> dict[str, Path]:
    """The tiny build writes the processor/tokenizer folder; the model folder is replaced by ViT-H/14."""
    from transformers import CLIPConfig, CLIPModel

    from jtbench.models.pickscore import PICKSCORE_V1

    files = BACKBONES.get("pickscore")().build_tiny(out, seed)
    torch.manual_seed(seed)
    config = CLIPConfig(
        text_config=dict(
            hidden_size=1024,
            intermediate_size=4096,
            num_attention_heads=16,
            num_hidden_layers=24,
            max_position_embeddings=77,
            vocab_size=49408,
            hidden_act="gelu",
            projection_dim=1024,
        ),
        vision_config=dict(
            hidden_size=1280,
            intermediate_size=5120,
            num_attention_heads=16,
            num_hidden_layers=32,
            patch_size=14,
            image_size=224,
            hidden_act="gelu",
            projection_dim=1024,
        ),
        projection_dim=1024,
    )
    CLIPModel(config).eval().save_pretrained(out / PICKSCORE_V1.filename)
    return files


def _viclip(out: Path, seed: int) -> dict[str, Path]:
    """ViCLIP at the released size (427.6 M), ``{'model': ...}`` in VBench's layout (``out/ViCLIP/``)."""
    from jtbench.models.viclip import full_viclip_config, write_viclip

    return write_viclip(out, full_viclip_config(), seed)


def _hf_clip_vit_l_14(out: Path, seed: int) -> dict[str, Path]:
    """openai/clip-vit-large-patch14's configuration as a ``CLIPModel`` folder (the tiny build's processor files)."""
    from transformers import CLIPConfig, CLIPModel

    from jtbench.models.opens2v import HF_CLIP_VIT_L_14

    files = BACKBONES.get("hf_clip_vit_l_14")().build_tiny(out, seed)
    torch.manual_seed(seed)
    text = dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12,
                max_position_embeddings=77, vocab_size=49408, hidden_act="quick_gelu", projection_dim=768)
    vision = dict(hidden_size=1024, intermediate_size=4096, num_attention_heads=16, num_hidden_layers=24,
                  patch_size=14, image_size=224, hidden_act="quick_gelu", projection_dim=768)  # fmt: skip
    config = CLIPConfig(text_config=text, vision_config=vision, projection_dim=768)
    CLIPModel(config).eval().save_pretrained(files[HF_CLIP_VIT_L_14.id])
    return files


def _hf_clip_b32(out: Path, seed: int) -> dict[str, Path]:
    """The tiny build's processor and tokenizer; the model: ``CLIPConfig()`` (= openai/clip-vit-base-patch32)."""
    from transformers import CLIPConfig, CLIPModel

    files = BACKBONES.get("hf_clip_vit_b_32")().build_tiny(out, seed)
    torch.manual_seed(seed)
    folder = next(iter(files.values()))
    CLIPModel(CLIPConfig(projection_dim=512)).eval().save_pretrained(folder)
    return files


def _hf_dino_b16(out: Path, seed: int) -> dict[str, Path]:
    """``ViTConfig()`` (= facebook/dino-vitb16: 768-d, 12 layers, 16 px patches), no pooler, as released."""
    from transformers import ViTConfig, ViTModel

    files = BACKBONES.get("hf_dino_vitb16")().build_tiny(out, seed)
    torch.manual_seed(seed)
    ViTModel(ViTConfig(), add_pooling_layer=False).eval().save_pretrained(next(iter(files.values())))
    return files


#: Backbones whose tiny build is not already the real architecture. AMT-S, RAFT-large and the LK
#: stand-in have no smaller configuration, so their own ``build_tiny`` is used as is.
PAPER_SIZE_BUILDERS: dict[str, Callable[[Path, int], dict[str, Path]]] = {
    "clip_vit_b_32": _clip_files("clip_vit_b_32", _openai_clip_config(512, 12, 768, 32, 512)),
    "clip_vit_l_14": _clip_files("clip_vit_l_14", _openai_clip_config(768, 24, 1024, 14, 768)),
    "laion_aesthetic_linear": _laion_head,
    "dino_vitb16": _dino,
    "musiq_spaq": _musiq,
    "pickscore": _pickscore,
    "viclip": _viclip,
    "hf_clip_vit_l_14": _hf_clip_vit_l_14,
    "hf_clip_vit_b_32": _hf_clip_b32,
    "hf_dino_vitb16": _hf_dino_b16,
}
