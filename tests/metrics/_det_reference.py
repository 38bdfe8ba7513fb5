"""DeT's ``evaluation.py`` (Shi-qingyu/DeT @2a2f4dd) re-expressed step by step, for the det profile's parity tests.

DeT's repository carries no licence, so nothing here is its code: each function follows the
formula and call sequence of the named DeT function, written independently of jtbench's
:mod:`jtbench.metrics.det` (no import from it). Inputs are read DeT's way: decord (torch bridge)
for CLIP and DINO, the tracker's frames as float ``[1, T, 3, H, W]``; Hugging Face models are
called through ``model(**processor(...))`` exactly as DeT calls them. The image processors are
the PIL ones ``from_pretrained`` gave before transformers 4.52 (DeT pins ``transformers>=4.40``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy.spatial.distance import cdist


def decord_frames(path: Path) -> torch.Tensor:
    """Every frame through ``decord.VideoReader`` with the torch bridge: ``uint8 [F, H, W, 3]``."""
    import decord

    decord.bridge.set_bridge("torch")
    reader = decord.VideoReader(str(path))
    return reader.get_batch(list(range(len(reader))))


# -- motion_fidelity / get_tracklets / get_cosine_similarity_score / get_frechet_similarity_score --
def box_from_mask_png(path: Path) -> torch.Tensor:
    """``motion_fidelity``'s box: mask /255, nonzero rows/cols, ``box[minx:maxx, miny:maxy] = 1``; ``[1,1,H,W]``."""
    segm = torch.from_numpy(np.array(Image.open(path))).float() / 255
    nz = segm.nonzero()
    box = torch.zeros_like(segm)
    box[nz[:, 0].min() : nz[:, 0].max(), nz[:, 1].min() : nz[:, 1].max()] = 1
    return box[None, None]


def tracklets(predictor, frames: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """``get_tracklets``: ``predictor(video, grid_size=50, segm_mask=mask)``, ``b t l c -> (b l) t c``, x/W, y/H."""
    video = frames.permute(0, 3, 1, 2)[None].float()
    height, width = video.shape[-2:]
    tracks, _ = predictor(video, grid_size=50, segm_mask=mask)
    tracks = tracks.permute(0, 2, 1, 3).reshape(-1, tracks.shape[1], 2).clone()
    tracks[:, :, 0] = tracks[:, :, 0] / width
    tracks[:, :, 1] = tracks[:, :, 1] / height
    return tracks


def _match_lengths(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    n1, n2 = a.shape[1], b.shape[1]
    if n1 > n2:
        a = a[:, torch.linspace(0, n1 - 1, n2).to(torch.int32)]
    elif n1 < n2:
        b = b[:, torch.linspace(0, n2 - 1, n1).to(torch.int32)]
    return a, b


def cosine_similarity_matrix(gen: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """``get_cosine_similarity_score``: [initial position, steps], normalised, einsum, mean over time (float32)."""
    gen, ref = _match_lengths(gen, ref)
    sequences = []
    for t in (gen, ref):
        seq = torch.cat([t[:, 0, :].unsqueeze(1), t[:, 1:] - t[:, :-1]], dim=1)
        sequences.append(seq / seq.norm(dim=-1, keepdim=True))
    return torch.einsum("ntc, mtc -> nmt", sequences[0], sequences[1]).mean(dim=-1)


def motion_fidelity_video(gen: torch.Tensor, ref: torch.Tensor) -> float:
    """One video's term of ``motion_fidelity`` (no --add_frechet_score): ``S.max(dim=1)[0].mean()``."""
    return float(cosine_similarity_matrix(gen, ref).max(dim=1)[0].mean())


def frechet_similarity_matrix(gen: torch.Tensor, ref: torch.Tensor) -> np.ndarray:
    """``get_frechet_similarity_score``: a loop of scipy ``cdist(...).mean()`` per pair, 1 / (1 + d)."""
    gen, ref = _match_lengths(gen, ref)
    distances = np.zeros((gen.shape[0], ref.shape[0]))
    for i in range(gen.shape[0]):
        for j in range(ref.shape[0]):
            distances[i, j] = cdist(gen[i].cpu().numpy(), ref[j].cpu().numpy(), metric="euclidean").mean()
    return 1 / (1 + distances)


def hybrid_video(gen: torch.Tensor, ref: torch.Tensor, ids: torch.Tensor) -> float:
    """``motion_fidelity`` with --add_frechet_score, given the 50 indices its ``torch.randint`` drew."""
    cosine = cosine_similarity_matrix(gen, ref)
    frechet = torch.from_numpy(frechet_similarity_matrix(gen[ids], ref[ids]))
    return float(0.5 * cosine.max(dim=1)[0].mean() + 0.5 * frechet.max(dim=1)[0].mean())


# -- CLIP_Score / calculate_clip ------------------------------------------------------------------
def output_folder(gen_root: Path, eval_prompt: str) -> Path:
    """The folder ``motion_fidelity`` looks in for an eval prompt's videos (trailing spaces, '_', final '.')."""
    while eval_prompt.endswith(" "):
        eval_prompt = eval_prompt[:-1]
    eval_prompt = eval_prompt.replace(" ", "_")
    return gen_root / (eval_prompt[:-1] if eval_prompt.endswith(".") else eval_prompt)


@torch.no_grad()
def clip_score_of_root(model, processor, gen_root: Path) -> dict[str, float]:
    """``CLIP_Score``: for each folder, prompt = stem with '_' → ' ' plus '.', every mp4 → mean diag logits."""
    scores = {}
    for data in Path(gen_root).iterdir():
        prompt = data.stem.replace("_", " ") + "."
        for video in data.iterdir():
            if video.is_file() and video.suffix.endswith("mp4"):
                frames = decord_frames(video)
                # DeT passes (text, images) positionally: CLIPProcessor's order before transformers 5, which
                # made images the first parameter; the keywords say what DeT's call meant
                inputs = processor(text=[prompt] * len(frames), images=frames, return_tensors="pt", padding=True)
                logits = torch.diagonal(model(**inputs).logits_per_image)
                scores[os.path.join(data.name, video.name)] = logits.mean().item()
    return scores


# -- temporal_consistency / calculate_dino ------------------------------------------------------------
@torch.no_grad()
def temporal_consistency_video(model, processor, path: Path) -> float:
    """``calculate_dino``: pooler_output, normalised; diagonals of the first- and previous-frame similarities."""
    video = decord_frames(path).permute(0, 3, 1, 2)
    pooled = F.normalize(model(**processor(video, return_tensors="pt")).pooler_output, p=2, dim=-1)
    first = pooled[[0]].repeat(len(video), 1)
    prev_ids = torch.arange(0, len(video)) - 1
    prev_ids[0] = 0
    prev = pooled[prev_ids]
    first_sim = torch.diagonal(torch.einsum("f c, l c->f l", pooled, first)).mean()
    prev_sim = torch.diagonal(torch.einsum("f c, l c->f l", pooled, prev)).mean()
    return float((first_sim + prev_sim) / 2)
