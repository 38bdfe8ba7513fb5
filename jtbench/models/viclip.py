"""ViCLIP (InternVid-10M-FLT), the video-text model of VBench's overall_consistency / temporal_style.

VBench 0.1.5 builds ``third_party/ViCLIP`` at one fixed size (vision ViT-L/14 over 8 frames with a
temporal position embedding, a 12-layer CLIP text encoder with a **32-token** context) and loads
``{CACHE_DIR}/ViCLIP/ViClip-InternVid-10M-FLT.pth`` strictly from its ``'model'`` entry. Its text
tokenizer reads openai-clip's ``bpe_simple_vocab_16e6.txt.gz`` from the same cache folder.

jtbench builds the same network from openai-clip's ``Transformer`` / ``LayerNorm`` (the blocks
ViCLIP copied; same parameter names) at the size the checkpoint's shapes give — head counts are
``width // 64`` as in both released encoders — so the published file loads strictly and a tiny
file in the same format (``{'model': state_dict}``) runs the same loading code. Importing VBench's
own modules is avoided on purpose: its tokenizer module downloads the BPE file with ``wget`` at
import time when the cache lacks it. The parity test checks this network against VBench's classes.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from jtbench.errors import InputError, WeightsError
from jtbench.models.base import BACKBONES, Backbone, load_strict
from jtbench.weights.catalog import WeightSpec, register_weights

VICLIP_WEIGHTS = register_weights(
    WeightSpec(
        id="viclip-internvid-10m-flt",
        filename="ViClip-InternVid-10M-FLT.pth",
        urls=("https://huggingface.co/OpenGVLab/VBench_Used_Models/resolve/main/ViClip-InternVid-10M-FLT.pth",),
        sha256=None,  # not published: locked on first download
        licence="see OpenGVLab/InternVideo (ViCLIP) and the VBench_Used_Models card (not verified offline)",
        used_by=("overall_consistency_vbench",),
        vbench_path="ViCLIP/ViClip-InternVid-10M-FLT.pth",
    )
)
VICLIP_BPE = register_weights(
    WeightSpec(
        id="viclip-bpe",
        filename="bpe_simple_vocab_16e6.txt.gz",
        # VBench's own wget address; openai-clip's installed package ships the same file
        urls=("https://raw.githubusercontent.com/openai/CLIP/main/clip/bpe_simple_vocab_16e6.txt.gz",),
        licence="MIT (openai/CLIP)",
        used_by=("overall_consistency_vbench",),
        vbench_path="ViCLIP/bpe_simple_vocab_16e6.txt.gz",
        package_file="clip:bpe_simple_vocab_16e6.txt.gz",
    )
)

HEAD_WIDTH = 64  # both released encoders: heads = width // 64 (1024 → 16, 768 → 12)
#: Tiny stand-in: the real input (8 frames, 224 px, patch 14) and context (32), narrow and shallow.
TINY_VICLIP = {"vision_width": 64, "vision_layers": 2, "text_width": 64, "text_layers": 2, "embed_dim": 32}


def _layer_count(state: dict[str, torch.Tensor], prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
    return len({m.group(1) for key in state if (m := pattern.match(key))})


class ViClipVision(nn.Module):
    """ViCLIP's video ViT: per-frame patches (a 1-frame Conv3d), spatial then temporal position
    embeddings, one joint transformer over the class token and every (patch, frame) token."""

    def __init__(self, width: int, layers: int, patch: int, output_dim: int, frames: int = 8, size: int = 224) -> None:
        from clip.model import Transformer

        super().__init__()
        self.conv1 = nn.Conv3d(3, width, (1, patch, patch), (1, patch, patch), bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(width))
        self.positional_embedding = nn.Parameter(torch.zeros((size // patch) ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.temporal_positional_embedding = nn.Parameter(torch.zeros(1, frames, width))
        self.transformer = Transformer(width, layers, width // HEAD_WIDTH)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.zeros(width, output_dim))

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """``[B, T, 3, H, W]`` normalised frames → ``[B, output_dim]`` (the class token, projected)."""
        x = self.conv1(video.permute(0, 2, 1, 3, 4))  # [B, C, T, h, w]
        batch, width, frames = x.shape[:3]
        x = x.flatten(3).permute(0, 2, 3, 1)  # [B, T, h*w, C]
        x = x + self.positional_embedding[1:]
        temporal = self.temporal_positional_embedding
        x = x + (temporal.mean(1) if frames == 1 else temporal[0]).unsqueeze(1)  # frame t: + temporal[t]
        x = x.transpose(1, 2).reshape(batch, -1, width)  # patch-major, frame-minor, as ViCLIP orders them
        cls = (self.class_embedding + self.positional_embedding[0]).expand(batch, 1, width)
        x = self.ln_pre(torch.cat([cls, x], dim=1))
        x = self.transformer(x.permute(1, 0, 2))
        return self.ln_post(x[0]) @ self.proj


class ViClipText(nn.Module):
    """ViCLIP's text encoder: openai-clip's causal text transformer with its own context length."""

    def __init__(self, width: int, layers: int, context: int, vocab: int, embed_dim: int) -> None:
        from clip.model import LayerNorm, Transformer

        super().__init__()
        mask = torch.full((context, context), float("-inf"), device="cpu").triu_(1)  # real even when built on meta
        self.transformer = Transformer(width, layers, width // HEAD_WIDTH, attn_mask=mask)
        self.token_embedding = nn.Embedding(vocab, width)
        self.positional_embedding = nn.Parameter(torch.zeros(context, width))
        self.ln_final = LayerNorm(width)
        self.text_projection = nn.Parameter(torch.zeros(width, embed_dim))

    @property
    def context(self) -> int:
        return int(self.positional_embedding.shape[0])

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.token_embedding(tokens) + self.positional_embedding
        x = self.ln_final(self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2))
        return x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)] @ self.text_projection  # the EOT token


class ViClip(nn.Module):
    """The checkpoint's three parts under their published names (``temp``: unused at inference)."""

    def __init__(self, config: dict[str, int]) -> None:
        super().__init__()
        self.vision_encoder = ViClipVision(
            config["vision_width"], config["vision_layers"], config["patch"], config["embed_dim"], config["frames"]
        )
        self.text_encoder = ViClipText(
            config["text_width"], config["text_layers"], config["context"], config["vocab"], config["embed_dim"]
        )
        self.temp = nn.Parameter(torch.tensor(0.01))


def viclip_config(state: dict[str, torch.Tensor]) -> dict[str, int]:
    """Sizes read off a ViCLIP state dict (the released file: 1024/24 vision, 768/12 text, 768-d)."""
    try:
        conv = state["vision_encoder.conv1.weight"]
        return {
            "vision_width": int(conv.shape[0]),
            "patch": int(conv.shape[-1]),
            "vision_layers": _layer_count(state, "vision_encoder.transformer.resblocks."),
            "frames": int(state["vision_encoder.temporal_positional_embedding"].shape[1]),
            "embed_dim": int(state["vision_encoder.proj"].shape[1]),
            "text_width": int(state["text_encoder.token_embedding.weight"].shape[1]),
            "vocab": int(state["text_encoder.token_embedding.weight"].shape[0]),
            "context": int(state["text_encoder.positional_embedding"].shape[0]),
            "text_layers": _layer_count(state, "text_encoder.transformer.resblocks."),
        }
    except (KeyError, IndexError) as exc:
        raise WeightsError(f"not a ViCLIP state dict (missing {exc})", fix=_FIX) from exc


_FIX = (
    "fetch ViClip-InternVid-10M-FLT.pth again (VBench keeps it at $VBENCH_CACHE_DIR/ViCLIP/) "
    "or pass --weights viclip-internvid-10m-flt=PATH"
)


def read_viclip_state(path: Path) -> dict[str, torch.Tensor]:
    """``torch.load(path)['model']`` as VBench reads it, with ``weights_only`` (a file cannot run code)."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        state = checkpoint["model"]
    except Exception as exc:  # corrupt file, pickled objects, no 'model' entry
        raise WeightsError(f"cannot read a ViCLIP checkpoint ({{'model': state_dict}}): {exc}", file=path,
                           fix=_FIX) from exc  # fmt: skip
    if not isinstance(state, dict):
        raise WeightsError(f"the checkpoint's 'model' entry is a {type(state).__name__}", file=path, fix=_FIX)
    return state


class ViClipTokenizer:
    """VBench's ``CLIP_TEXT.tokenize``: SOT + BPE + EOT, cut to the context with EOT kept last, zero-padded."""

    def __init__(self, bpe_path: Path, context: int) -> None:
        from clip.simple_tokenizer import SimpleTokenizer

        self.bpe = SimpleTokenizer(bpe_path=str(bpe_path))
        self.context = context
        self.sot, self.eot = self.bpe.encoder["<|startoftext|>"], self.bpe.encoder["<|endoftext|>"]

    def __call__(self, text: str) -> torch.Tensor:
        tokens = [self.sot, *self.bpe.encode(text), self.eot]
        if len(tokens) > self.context:  # truncate=True
            tokens = [*tokens[: self.context - 1], self.eot]
        out = torch.zeros(1, self.context, dtype=torch.int)
        out[0, : len(tokens)] = torch.tensor(tokens)
        return out


@dataclass
class ViClipModel:
    """A loaded ViCLIP with its tokenizer; features as VBench's ``get_vid_features`` / ``get_text_features``."""

    model: ViClip
    tokenizer: ViClipTokenizer
    device: torch.device
    dtype: torch.dtype

    @property
    def frames(self) -> int:
        return int(self.model.vision_encoder.temporal_positional_embedding.shape[1])

    @torch.inference_mode()
    def video_features(self, pixels: torch.Tensor) -> torch.Tensor:
        """``[B, T, 3, 224, 224]`` → L2-normalised fp32 ``[B, D]``."""
        features = self.model.vision_encoder(pixels.to(self.device, self.dtype)).float()
        return features / features.norm(dim=-1, keepdim=True)

    @torch.inference_mode()
    def text_features(self, text: str) -> torch.Tensor:
        """The prompt cut to the context (32 tokens in the release) → L2-normalised fp32 ``[1, D]``."""
        if not text:
            raise InputError("ViCLIP needs a prompt", fix="give the video a case_id or a prompt")
        features = self.model.text_encoder(self.tokenizer(text).to(self.device)).float()
        return features / features.norm(dim=-1, keepdim=True)


@BACKBONES.register("viclip")
class ViClipInternVid(Backbone):
    """ViCLIP-L/14 (InternVid-10M-FLT): VBench's overall_consistency / temporal_style; fp32 as VBench runs it."""

    name = "viclip"
    weights = (VICLIP_WEIGHTS, VICLIP_BPE)

    def load(self, files: dict[str, Path], device: torch.device, dtype: torch.dtype) -> ViClipModel:
        path = files[VICLIP_WEIGHTS.id]
        state = read_viclip_state(path)
        with torch.device("meta"):  # no second copy of the weights: the file's tensors become the parameters
            model = ViClip(viclip_config(state))
        load_strict(model, state, path=path, network="ViCLIP", fix=_FIX, assign=True)
        model = model.to(device=device, dtype=dtype).eval()
        tokenizer = ViClipTokenizer(files[VICLIP_BPE.id], model.text_encoder.context)
        return ViClipModel(model, tokenizer, torch.device(device), dtype)

    def build_tiny(self, out_dir: Path, seed: int) -> dict[str, Path]:
        return write_viclip(out_dir, tiny_viclip_config(), seed)


def tiny_viclip_config() -> dict[str, int]:
    return {**TINY_VICLIP, "patch": 14, "frames": 8, "context": 32, "vocab": 49408}


def full_viclip_config() -> dict[str, int]:
    """The released sizes (VBench's ``ViCLIP``: 427.6 M parameters)."""
    return {"vision_width": 1024, "vision_layers": 24, "text_width": 768, "text_layers": 12, "embed_dim": 768,
            "patch": 14, "frames": 8, "context": 32, "vocab": 49408}  # fmt: skip


def random_viclip_state(config: dict[str, int], seed: int) -> dict[str, Any]:
    """Every parameter drawn from a seeded normal (std 0.02; norms 1 ± 0.1): no zero embedding hides a bug."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in ViClip(config).state_dict().items():
        noise = torch.randn(value.shape, generator=generator)
        state[key] = 1 + 0.1 * noise if key.endswith(("ln_1.weight", "ln_2.weight", "ln_pre.weight", "ln_post.weight",
                                                          "ln_final.weight")) else 0.02 * noise  # fmt: skip
    return state


def write_viclip(out_dir: Path, config: dict[str, int], seed: int) -> dict[str, Path]:
    """``{'model': state_dict}`` at VBench's layout (``ViCLIP/<file>``) plus openai-clip's BPE file beside it."""
    import clip

    folder = out_dir / "ViCLIP"
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / VICLIP_WEIGHTS.filename
    torch.save({"model": random_viclip_state(config, seed)}, weights)
    bpe = folder / VICLIP_BPE.filename
    shutil.copyfile(Path(clip.__file__).parent / VICLIP_BPE.filename, bpe)
    return {VICLIP_WEIGHTS.id: weights, VICLIP_BPE.id: bpe}
