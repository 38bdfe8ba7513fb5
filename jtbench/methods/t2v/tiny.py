"""A tiny seeded random text-to-video pipeline, saved as a diffusers folder (reference/methods.md §8).

Tests and the demo must exercise the real loading code, so the tiny model is written in the
same layout as ZeroScope (unet/ vae/ text_encoder/ tokenizer/ scheduler/) and loaded back with
:func:`jtbench.methods.t2v.base_model.load_base_model`. The tokenizer is built offline from the
BPE merges open_clip ships, and tokenises exactly like OpenAI CLIP's.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import torch

from jtbench.paths import cache_dir

TINY_UNET = {
    "block_out_channels": (32, 64),
    "layers_per_block": 1,
    "down_block_types": ("CrossAttnDownBlock3D", "DownBlock3D"),
    "up_block_types": ("UpBlock3D", "CrossAttnUpBlock3D"),
    "cross_attention_dim": 32,
    "attention_head_dim": 8,
    "norm_num_groups": 32,
    "sample_size": 8,
}
TINY_VAE = {
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "block_out_channels": (32, 32, 32, 32),  # four blocks: the real vae_scale_factor of 8
    "layers_per_block": 1,
    "norm_num_groups": 32,
    "sample_size": 64,
}
TINY_TEXT = {
    "vocab_size": 49408,
    "hidden_size": 32,
    "intermediate_size": 37,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "max_position_embeddings": 77,
    "projection_dim": 32,
    "bos_token_id": 49406,
    "eos_token_id": 49407,
    "pad_token_id": 49407,
}
#: SD-style DDIM values (the ModelScope/ZeroScope scheduler family).
TINY_SCHEDULER = {
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "clip_sample": False,
    "set_alpha_to_one": False,
    "steps_offset": 1,
}
_DONE = ".complete"


def write_clip_tokenizer_files(out_dir: Path) -> tuple[Path, Path]:
    """``vocab.json`` + ``merges.txt`` of OpenAI CLIP's BPE, from open_clip's bundled merges."""
    import open_clip

    bpe = Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    lines = gzip.open(bpe, "rt", encoding="utf-8").read().split("\n")
    merges = lines[1 : 49152 - 256 - 2 + 1]
    from open_clip.tokenizer import bytes_to_unicode

    base = list(bytes_to_unicode().values())
    vocab = base + [b + "</w>" for b in base] + ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    out_dir.mkdir(parents=True, exist_ok=True)
    vocab_file, merges_file = out_dir / "vocab.json", out_dir / "merges.txt"
    vocab_file.write_text(json.dumps({tok: i for i, tok in enumerate(vocab)}, ensure_ascii=False))
    merges_file.write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    return vocab_file, merges_file


def build_tiny_base(out_dir: Path, seed: int = 0) -> Path:
    """Build the tiny pipeline from configs with seeded random weights and save it at ``out_dir``."""
    from diffusers import AutoencoderKL, DDIMScheduler, UNet3DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    UNet3DConditionModel(**TINY_UNET).save_pretrained(out_dir / "unet")
    AutoencoderKL(**TINY_VAE).save_pretrained(out_dir / "vae")
    CLIPTextModel(CLIPTextConfig(**TINY_TEXT)).save_pretrained(out_dir / "text_encoder")
    DDIMScheduler(**TINY_SCHEDULER).save_pretrained(out_dir / "scheduler")
    scratch = out_dir / "_bpe"
    vocab, merges = write_clip_tokenizer_files(scratch)
    CLIPTokenizer(str(vocab), str(merges), model_max_length=77).save_pretrained(out_dir / "tokenizer")
    shutil.rmtree(scratch)
    index = {"_class_name": "TextToVideoSDPipeline", "jtbench_tiny_seed": seed}
    (out_dir / "model_index.json").write_text(json.dumps(index))
    return out_dir


def ensure_tiny_base(root: Path | None = None, seed: int = 0) -> Path:
    """The tiny pipeline folder under ``$JTBENCH_CACHE/tiny/t2v-<seed>``, built once (atomically)."""
    target = Path(root) if root is not None else cache_dir() / "tiny" / f"t2v-{seed}"
    if (target / _DONE).is_file():
        return target
    tmp = target.with_name(f".{target.name}.building")
    shutil.rmtree(tmp, ignore_errors=True)
    build_tiny_base(tmp, seed)
    (tmp / _DONE).write_text("ok")
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
    return target
