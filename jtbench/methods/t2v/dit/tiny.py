"""Tiny seeded random CogVideoX and Wan pipelines, saved as diffusers folders (brief §5.2).

Configs are diffusers' own test configs (``tests/pipelines/cogvideo``, ``tests/pipelines/wan``) with
two layers for block coverage; the schedulers are the **real** ones (CogVideoX-2B's v-prediction
zero-SNR DPM config, Wan's UniPC flow config); the text encoders are tiny T5 / UMT5 and the
tokenizer a WordLevel vocabulary built offline (no Hub). Written once under
``$JTBENCH_CACHE/tiny/<family>-<seed>`` and loaded back through the real loader.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch

from jtbench.paths import cache_dir

TEXT_DIM = 32
TEXT_TOKENS = 16
TINY_TEXT = {"d_model": TEXT_DIM, "d_kv": 8, "d_ff": 37, "num_layers": 2, "num_heads": 4, "vocab_size": 1000,
             "pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0}
TINY_COGVIDEOX = {
    "num_attention_heads": 4, "attention_head_dim": 8, "in_channels": 4, "out_channels": 4, "time_embed_dim": 2,
    "text_embed_dim": TEXT_DIM, "num_layers": 2, "sample_width": 12, "sample_height": 8, "sample_frames": 49,
    "patch_size": 2, "temporal_compression_ratio": 4, "max_text_seq_length": TEXT_TOKENS,
}
TINY_COGVIDEOX_VAE = {
    "in_channels": 3, "out_channels": 3, "down_block_types": ("CogVideoXDownBlock3D",) * 4,
    "up_block_types": ("CogVideoXUpBlock3D",) * 4, "block_out_channels": (8, 8, 8, 8), "latent_channels": 4,
    "layers_per_block": 1, "norm_num_groups": 2, "temporal_compression_ratio": 4,
}
#: CogVideoX-2B's scheduler (hub scheduler_config.json; the trainer reads it as CogVideoXDPMScheduler).
COGVIDEOX_SCHEDULER = {
    "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "clip_sample": False,
    "set_alpha_to_one": True, "prediction_type": "v_prediction", "rescale_betas_zero_snr": True,
    "snr_shift_scale": 3.0, "timestep_spacing": "trailing", "num_train_timesteps": 1000, "steps_offset": 0,
}
TINY_WAN = {
    "patch_size": (1, 2, 2), "num_attention_heads": 2, "attention_head_dim": 12, "in_channels": 16,
    "out_channels": 16, "text_dim": TEXT_DIM, "freq_dim": 256, "ffn_dim": 32, "num_layers": 2,
    "cross_attn_norm": True, "qk_norm": "rms_norm_across_heads", "rope_max_seq_len": 32,
}
TINY_WAN_VAE = {"base_dim": 3, "z_dim": 16, "dim_mult": [1, 1, 1, 1], "num_res_blocks": 1,
                "temperal_downsample": [False, True, True]}
WAN_SCHEDULER = {"prediction_type": "flow_prediction", "use_flow_sigmas": True, "num_train_timesteps": 1000,
                 "flow_shift": 3.0}
_DONE = ".complete"


def _write_tokenizer(out: Path, max_length: int) -> None:
    """A WordLevel tokenizer (lower-cased words, pad 0, eos 1 appended) saved as tokenizer.json."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    words = ["<pad>", "</s>", "<unk>"] + [f"w{i}" for i in range(TINY_TEXT["vocab_size"] - 3)]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                   model_max_length=max_length)
    fast.save_pretrained(out)


_Part = tuple[Any, dict[str, Any]]  # (diffusers class, its config)


def _save_tiny_pipeline(out: Path, seed: int, pipeline: str, transformer: _Part, vae: _Part, scheduler: _Part,
                        text_encoder: tuple[Any, Any]) -> Path:
    """Seed once, then save the parts in a fixed order (so a seed always gives the same weights), the
    tiny text encoder ``(model class, config class)``, the tokenizer and ``model_index.json``."""
    out = Path(out)
    torch.manual_seed(seed)
    for sub, (cls, config) in (("transformer", transformer), ("vae", vae), ("scheduler", scheduler)):
        cls(**config).save_pretrained(out / sub)
    text_cls, text_cfg_cls = text_encoder
    text_cls(text_cfg_cls(**TINY_TEXT)).save_pretrained(out / "text_encoder")
    _write_tokenizer(out / "tokenizer", TEXT_TOKENS)
    (out / "model_index.json").write_text(json.dumps({"_class_name": pipeline, "jtbench_tiny_seed": seed}))
    return out


def _build_tiny_cogvideox(out: Path, seed: int, transformer: dict[str, Any], vae: dict[str, Any],
                          scheduler: dict[str, Any]) -> Path:
    from diffusers import AutoencoderKLCogVideoX, CogVideoXDPMScheduler, CogVideoXTransformer3DModel
    from transformers import T5Config, T5EncoderModel

    return _save_tiny_pipeline(out, seed, "CogVideoXPipeline", (CogVideoXTransformer3DModel, transformer),
                               (AutoencoderKLCogVideoX, vae), (CogVideoXDPMScheduler, scheduler),
                               (T5EncoderModel, T5Config))


def build_tiny_cogvideox(out: Path, seed: int = 0) -> Path:
    return _build_tiny_cogvideox(out, seed, TINY_COGVIDEOX, TINY_COGVIDEOX_VAE, COGVIDEOX_SCHEDULER)


#: The 5B differences that matter to the code: 3-D RoPE (head dim 16: even axes) and latent scale 0.7.
TINY_COGVIDEOX_5B = {**TINY_COGVIDEOX, "num_attention_heads": 2, "attention_head_dim": 16,
                     "use_rotary_positional_embeddings": True}


def build_tiny_cogvideox_5b(out: Path, seed: int = 0) -> Path:
    return _build_tiny_cogvideox(out, seed, TINY_COGVIDEOX_5B, {**TINY_COGVIDEOX_VAE, "scaling_factor": 0.7},
                                 {**COGVIDEOX_SCHEDULER, "snr_shift_scale": 1.0})


def build_tiny_wan(out: Path, seed: int = 0) -> Path:
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    return _save_tiny_pipeline(out, seed, "WanPipeline", (WanTransformer3DModel, TINY_WAN),
                               (AutoencoderKLWan, TINY_WAN_VAE), (UniPCMultistepScheduler, WAN_SCHEDULER),
                               (UMT5EncoderModel, UMT5Config))


#: Tiny model name (``BaseSpec.tiny_model``) → builder.
BUILDERS = {"cogvideox": build_tiny_cogvideox, "cogvideox-5b": build_tiny_cogvideox_5b, "wan": build_tiny_wan}


def ensure_tiny_dit(family: str, root: Path | None = None, seed: int = 0) -> Path:
    """The tiny ``family`` folder (a key of ``BUILDERS``) under ``$JTBENCH_CACHE/tiny/<family>-<seed>``,
    built once (atomically)."""
    target = Path(root) if root is not None else cache_dir() / "tiny" / f"{family}-{seed}"
    if (target / _DONE).is_file():
        return target
    tmp = target.with_name(f".{target.name}.building")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    BUILDERS[family](tmp, seed)
    (tmp / _DONE).write_text("ok")
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
    return target
