"""OpenAI CLIP (ViT-B/32, ViT-L/14) and the LAION aesthetic head, loaded the way the anchors load them.

Both JointTuner (CLIP-T, CLIP-I) and VBench (Bkgd-Con, Aesth-Q) call openai-clip's
``clip.load(name, device)``. jtbench calls the same function on the local file with
``jit=False``, so the published TorchScript archives (``ViT-B-32.pt``, ``ViT-L-14.pt``) are read
exactly as published: openai-clip rebuilds ``clip.model.CLIP`` from the archive's state dict and
casts its matmul weights to fp16 (``convert_weights``); on CPU it then calls ``.float()``. That is
why the anchors ran these models in fp16 on CUDA (``anchor_fp16_on_cuda``) and why CPU numbers
differ slightly from GPU ones.

Tiny mode writes a few-layer ``clip.model.CLIP`` as a traced TorchScript archive with fp16
matmul weights — the published files' format — so ``load`` runs the same openai-clip code path.
A random model's ``logit_scale.exp()`` is 1/0.07 ≈ 14.29 (the released checkpoints have 100).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from jtbench.errors import WeightsError
from jtbench.models.base import BACKBONES, Backbone
from jtbench.weights.catalog import WeightSpec, register_weights

_OPENAI = "https://openaipublic.azureedge.net/clip/models"
_B32_SHA = "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af"
_L14_SHA = "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836"

OPENAI_CLIP_VIT_B_32 = register_weights(
    WeightSpec(
        id="openai-clip-vit-b-32",
        filename="ViT-B-32.pt",
        urls=(f"{_OPENAI}/{_B32_SHA}/ViT-B-32.pt",),
        sha256=_B32_SHA,  # openai-clip's own download check: the URL's folder is the file's SHA-256
        licence="MIT (openai/CLIP)",
        used_by=("clip_t", "clip_i", "background_consistency"),
        vbench_path="clip_model/ViT-B-32.pt",
    )
)
OPENAI_CLIP_VIT_L_14 = register_weights(
    WeightSpec(
        id="openai-clip-vit-l-14",
        filename="ViT-L-14.pt",
        urls=(f"{_OPENAI}/{_L14_SHA}/ViT-L-14.pt",),
        sha256=_L14_SHA,
        licence="MIT (openai/CLIP)",
        used_by=("aesthetic_quality",),
        vbench_path="clip_model/ViT-L-14.pt",
    )
)
LAION_AESTHETIC_LINEAR = register_weights(
    WeightSpec(
        id="laion-aesthetic-linear-vit-l-14",
        filename="sa_0_4_vit_l_14_linear.pth",
        # VBench HEAD's address first; 0.1.5's ``blob/...?raw=true`` form is the fallback.
        urls=(
            "https://raw.githubusercontent.com/LAION-AI/aesthetic-predictor/main/sa_0_4_vit_l_14_linear.pth",
            "https://github.com/LAION-AI/aesthetic-predictor/blob/main/sa_0_4_vit_l_14_linear.pth?raw=true",
        ),
        sha256=None,  # not published; `jtbench weights verify` reports it as unchecked
        licence="MIT (LAION-AI/aesthetic-predictor)",
        used_by=("aesthetic_quality",),
        vbench_path="aesthetic_model/emb_reader/sa_0_4_vit_l_14_linear.pth",
    )
)


def _tiny_clip_config(embed_dim: int, patch: int) -> dict[str, int]:
    """``clip.model.CLIP`` arguments for a tiny stand-in.

    openai-clip's ``build_model`` infers head counts as ``width // 64``, so widths are 64 (one
    head); the 224 px input, 77-token context and 49,408-token vocabulary stay real because the
    preprocessing and ``clip.tokenize`` produce exactly those shapes.
    """
    return {
        "embed_dim": embed_dim,
        "image_resolution": 224,
        "vision_layers": 2,
        "vision_width": 64,
        "vision_patch_size": patch,
        "context_length": 77,
        "vocab_size": 49408,
        "transformer_width": 64,
        "transformer_heads": 1,
        "transformer_layers": 2,
    }


TINY_VIT_B_32 = _tiny_clip_config(embed_dim=32, patch=32)
TINY_VIT_L_14 = _tiny_clip_config(embed_dim=48, patch=14)


@dataclass
class OpenAIClip:
    """A loaded openai-clip model with the PIL transform ``clip.load`` returned for it."""

    model: Any  # clip.model.CLIP, eval mode
    preprocess: Callable[[Any], torch.Tensor]  # PIL image → normalised [3, n, n] (JT's CLIP-T/I path)
    device: torch.device
    dtype: torch.dtype

    @property
    def input_resolution(self) -> int:
        return int(self.model.visual.input_resolution)

    @property
    def logit_scale(self) -> torch.Tensor:
        """``logit_scale.exp()`` of the checkpoint (100 for OpenAI's, ≈14.29 for random weights), fp32."""
        return self.model.logit_scale.detach().exp().float().cpu()

    @torch.inference_mode()
    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        """``encode_image`` on one batch; the model casts inputs to its own dtype, as in the anchors."""
        return self.model.encode_image(pixels.to(self.device))

    @torch.inference_mode()
    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """``encode_text`` of ``clip.tokenize(texts, truncate=True)`` (77 tokens, EOT kept when cut)."""
        import clip

        tokens = clip.tokenize(list(texts), truncate=True).to(self.device)
        return self.model.encode_text(tokens)


def cast_openai_clip(model: nn.Module, dtype: torch.dtype) -> nn.Module:
    """Put ``model`` in openai-clip's mixed precision for ``dtype``.

    For fp16 this reproduces ``clip.model.convert_weights``: conv/linear/attention weights and the
    two projection matrices in ``dtype``; layer norms and embeddings stay fp32 (openai-clip's
    ``LayerNorm`` computes in fp32 and casts back). fp32 is a plain ``.float()``.
    """
    model.float()
    if dtype == torch.float32:
        return model
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear, nn.MultiheadAttention)):
            module.to(dtype)
        for name in ("text_projection", "proj"):
            param = getattr(module, name, None)
            if isinstance(param, torch.Tensor):
                param.data = param.data.to(dtype)
    return model


def load_openai_clip(path: Path, device: torch.device, dtype: torch.dtype) -> OpenAIClip:
    """``clip.load(path, device, jit=False)`` then the precision the hub asked for."""
    import clip

    try:
        model, preprocess = clip.load(str(path), device=device, jit=False)
    except (RuntimeError, KeyError, OSError, EOFError, ValueError) as exc:
        raise WeightsError(
            f"openai-clip could not load this file as a CLIP checkpoint: {exc}",
            file=path,
            fix="delete it and fetch the published file again (`jtbench weights download`)",
        ) from exc
    cast_openai_clip(model, dtype)
    return OpenAIClip(model=model.eval(), preprocess=preprocess, device=torch.device(device), dtype=dtype)


def write_tiny_openai_clip(path: Path, config: dict[str, int], seed: int) -> Path:
    """A seeded random ``clip.model.CLIP`` saved like OpenAI's files: traced TorchScript, fp16 matmuls."""
    import clip
    from clip.model import CLIP

    torch.manual_seed(seed)
    model = CLIP(**config).eval()
    cast_openai_clip(model, torch.float16)
    image = torch.zeros(1, 3, config["image_resolution"], config["image_resolution"])
    text = clip.tokenize(["a tiny clip"])
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python-side shapes are expected
        # check_trace=False: the re-trace check trips over fp16 attention masks on CPU.
        traced = torch.jit.trace_module(
            model,
            {"forward": (image, text), "encode_image": (image,), "encode_text": (text,)},
            check_trace=False,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    traced.save(str(path))
    return path


class _OpenAIClipBackbone(Backbone):
    """One openai-clip checkpoint; subclasses name the weight file and the tiny configuration."""

    weight: ClassVar[WeightSpec]
    tiny_config: ClassVar[dict[str, int]]
    anchor_fp16_on_cuda = True

    def load(self, files: dict[str, Path], device: torch.device, dtype: torch.dtype) -> OpenAIClip:
        return load_openai_clip(files[self.weight.id], device, dtype)

    def build_tiny(self, out_dir: Path, seed: int) -> dict[str, Path]:
        return {self.weight.id: write_tiny_openai_clip(out_dir / self.weight.filename, self.tiny_config, seed)}


@BACKBONES.register("clip_vit_b_32")
class OpenAIClipViTB32(_OpenAIClipBackbone):
    """CLIP ViT-B/32: CLIP-T and CLIP-I (JointTuner) and Bkgd-Con (VBench)."""

    name = "clip_vit_b_32"
    weight = OPENAI_CLIP_VIT_B_32
    weights = (OPENAI_CLIP_VIT_B_32,)
    tiny_config = TINY_VIT_B_32


@BACKBONES.register("clip_vit_l_14")
class OpenAIClipViTL14(_OpenAIClipBackbone):
    """CLIP ViT-L/14: the image encoder under VBench's aesthetic head."""

    name = "clip_vit_l_14"
    weight = OPENAI_CLIP_VIT_L_14
    weights = (OPENAI_CLIP_VIT_L_14,)
    tiny_config = TINY_VIT_L_14


@BACKBONES.register("laion_aesthetic_linear")
class LaionAestheticLinear(Backbone):
    """LAION aesthetic predictor v1: ``nn.Linear(768, 1)`` on normalised CLIP ViT-L/14 image features.

    VBench keeps it in fp32 even when CLIP runs in fp16 (features are cast to fp32 first), hence
    no ``anchor_fp16_on_cuda``. Not the "improved" MLP predictor (``ava+logos-l14``).
    """

    name = "laion_aesthetic_linear"
    weights = (LAION_AESTHETIC_LINEAR,)

    def load(self, files: dict[str, Path], device: torch.device, dtype: torch.dtype) -> nn.Linear:
        path = files[LAION_AESTHETIC_LINEAR.id]
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            weight = state["weight"]
            head = nn.Linear(weight.shape[1], weight.shape[0])
            head.load_state_dict(state)
        except (RuntimeError, KeyError, OSError, EOFError, AttributeError, IndexError, TypeError) as exc:
            raise WeightsError(
                f"not the LAION linear aesthetic head (a state dict with weight [1, 768] and bias [1]): {exc}",
                file=path,
                fix="a 4 kB download is GitHub's error page (VBench issue #187): fetch the raw file again",
            ) from exc
        return head.to(device=device, dtype=dtype).eval()

    def build_tiny(self, out_dir: Path, seed: int) -> dict[str, Path]:
        torch.manual_seed(seed)
        head = nn.Linear(TINY_VIT_L_14["embed_dim"], 1)  # in-features = the tiny ViT-L/14's embedding size
        path = out_dir / LAION_AESTHETIC_LINEAR.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(head.state_dict(), path)
        return {LAION_AESTHETIC_LINEAR.id: path}
