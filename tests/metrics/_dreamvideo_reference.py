"""VGen's ``metric/cal_metric_DreamVideo.py`` re-expressed for parity tests, with DINO's own ``vit_small``.

``dreamvideo_reference`` follows ``calculate_metric`` step by step for one video (OpenCV decode,
every frame, one batch, ``ToPILImage``, ``clip.tokenize`` without truncation, per-frame
normalisation, frame mean without re-normalising, a loop over the reference images).
``DinoViT`` re-expresses facebookresearch/dino ``vision_transformer.VisionTransformer`` (explicit
attention, its module names, so a ``vit_small`` state dict loads strictly) — independent of the
timm model jtbench uses.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import torch
import torch.nn.functional as F
import torchvision.transforms as T
from PIL import Image
from torch import nn


class _Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        weights = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((weights @ v).transpose(1, 2).reshape(b, n, c))


class _Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
        self.attn, self.mlp = _Attention(dim, heads), _Mlp(dim, 4 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class _PatchEmbed(nn.Module):
    def __init__(self, dim: int, patch: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)


class DinoViT(nn.Module):
    """DINO's ``vit_small(patch_size=16)`` (384-d, 6 heads; ``depth`` 12 as released); 224x224 inputs only."""

    def __init__(self, depth: int = 12, dim: int = 384, heads: int = 6, patch: int = 16) -> None:
        super().__init__()
        self.patch_embed = _PatchEmbed(dim, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, (224 // patch) ** 2 + 1, dim))
        self.blocks = nn.ModuleList(_Block(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        tokens = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), tokens), dim=1) + self.pos_embed
        for block in self.blocks:
            tokens = block(tokens)
        return self.norm(tokens)[:, 0]


def load_vit_small(path: Path) -> DinoViT:
    """``vit_small()`` + ``load_state_dict(torch.load(path))`` as the script does (depth read from the file)."""
    state = torch.load(path, map_location="cpu")
    depth = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("blocks."))
    model = DinoViT(depth=depth)
    model.load_state_dict(state, strict=True)
    return model.eval()


def dino_preprocess() -> T.Compose:
    return T.Compose(
        [
            T.Resize(256, interpolation=3),  # the script's int code: 3 = bicubic
            T.CenterCrop(224),
            T.ToTensor(),
            T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
        ]
    )


def opencv_frames(path: Path) -> torch.Tensor:
    """Every frame through ``cv2.VideoCapture``, BGR → RGB, as ``uint8 [T, H, W, 3]``."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok or frame is None:
            break
        frames.append(torch.from_numpy(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)))
    capture.release()
    return torch.stack(frames)


def target_files(image_dir: Path) -> list[str]:
    """The script's ``[os.path.join(d, f) for f in os.listdir(d) if f.endswith('.jpg')]``."""
    return [os.path.join(image_dir, f) for f in os.listdir(image_dir) if f.endswith(".jpg")]


@torch.no_grad()
def dreamvideo_reference(
    video: Path, prompt: str, images: list[str], clip_model, clip_preprocess, dino_model
) -> tuple[float, float, float, float]:
    """``calculate_metric`` for one video: (CLIP-T, CLIP-I, DINO-I, TemporalConsistency), 0–1."""
    import clip

    frames = opencv_frames(video).permute(0, 3, 1, 2)  # (n f) c h w with n = 1
    to_pil, dino_pre = T.ToPILImage(), dino_preprocess()
    targets = [Image.open(f) for f in images]
    targets = [t if t.mode == "RGB" else t.convert("RGB") for t in targets]

    text = F.normalize(clip_model.encode_text(clip.tokenize([prompt])), p=2, dim=1)
    gen = clip_model.encode_image(torch.cat([clip_preprocess(to_pil(f)).unsqueeze(0) for f in frames]))
    gen = F.normalize(gen, p=2, dim=1)[None]  # n f c
    gen_dino = dino_model(torch.cat([dino_pre(to_pil(f)).unsqueeze(0) for f in frames]))
    gen_dino = F.normalize(gen_dino, p=2, dim=1)[None]
    target = F.normalize(clip_model.encode_image(torch.cat([clip_preprocess(t).unsqueeze(0) for t in targets])), dim=1)
    target_dino = F.normalize(dino_model(torch.cat([dino_pre(t).unsqueeze(0) for t in targets])), p=2, dim=1)

    per_frame = gen.clone()
    gen, gen_dino = gen.mean(dim=1), gen_dino.mean(dim=1)
    clip_t = (text * gen).sum(dim=1).cpu()
    clip_i = torch.cat([(target[i] * gen).sum(dim=1).cpu() for i in range(target.shape[0])]).mean()
    dino_i = torch.cat([(target_dino[i] * gen_dino).sum(dim=1).cpu() for i in range(target.shape[0])]).mean()
    t_cons = (per_frame[:, :-1] * per_frame[:, 1:]).sum(dim=2).cpu()
    return float(clip_t.mean()), float(clip_i), float(dino_i), float(t_cons.mean())
