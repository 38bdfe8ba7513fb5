"""The ``det`` profile: MTBench's metrics as DeT's ``evaluation.py`` computes them (Shi-qingyu/DeT @2a2f4dd).

DeT's repository has no licence, so nothing of it is copied: its formulas are re-expressed here
for one video, quirks kept (the README's det section says where each comes from):

* **MotFid@DeT** (cosine, −1…1): CoTracker3 offline on a **50×50** grid (the predictor's resize
  to 384×512; with a mask only the grid points inside the mask's box, plus CoTracker's 6×6
  support grid), tracks divided by the video's W and H; clips of unequal length aligned by
  ``torch.linspace(0, T_long − 1, T_short).to(int32)`` (truncating: 49 → 16 keeps
  0, 3, 6, 9, 12, 16, …, 48); each track becomes ``[p_0, p_1 − p_0, …]`` — the **initial
  position** kept as the first element — each 2-D vector normalised; ``S[n, m]`` = mean over
  time of the dot products, generated tracks as rows; score = mean_n max_m S. **No identity
  subtraction.** A zero-length step (or a track starting at 0, 0) is 0/0 = NaN in DeT and
  ``max`` propagates it: one such step anywhere makes the video NaN. Here that video gets NaN
  and a note saying why (recorded in the row's ``errors``, never silent).
* **First-frame mask** (optional, as in DeT): ``<reference clip>.mask.png`` beside the
  reference clip (``motions/<motion>/00.mask.png``, DAVIS's ``Annotations/480p/<clip>/00000.png``
  copied by ``jtbench data prepare``). DeT's box is the nonzero pixels' bounding box *without*
  its last row and column (``box[minx:maxx, miny:maxy]``); the same box serves both videos.
  Every row's note says which grid was used (the mask's path and SHA-256, or the whole frame).
* **CLIP-T@DeT** (``logits_per_image``, ≈ 100·cos): HF CLIP ViT-B/32 on every frame against the
  prompt *as DeT rebuilds it* from its output folder's name (:func:`det_prompt`), untruncated.
* **T-Cons@DeT** (0–1): HF DINO ViT-B/16 ``pooler_output`` of every frame (squashed to 224²,
  mean/std 0.5), ½ [mean_i cos(f_i, f_0) + mean_i cos(f_i, f_{i−1})] with i from 0 (two
  self-similarities of 1 included). The released checkpoint has no pooler weights: the value
  rests on :data:`~jtbench.models.hf_vision.POOLER_SEED`'s pooler (DeT's is unseeded).
* **MotFid-Hybrid@DeT (seed 0)**: DeT's ``--add_frechet_score`` with its ``torch.randint``
  seeded: ½ MotFid + ½ mean_i max_j 1 / (1 + mean pairwise distance of track i and j) over 50
  track indices drawn with replacement (the same indices pick generated and reference tracks).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import numpy as np
import torch
import torch.nn.functional as F

from jtbench.errors import InputError
from jtbench.io.digest import file_sha256
from jtbench.io.video import read_video
from jtbench.metrics.base import Metric, MetricSpec, MetricValue, Sample, ScoringContext
from jtbench.metrics.clip_preprocess import batched
from jtbench.metrics.motion_fidelity import PAPER_TRACKER, MotionFidelity
from jtbench.models.hf_vision import POOLER_SEED, HfClipViTB32, HfDinoViTB16

CLIP = HfClipViTB32.name
DINO = HfDinoViTB16.name
SOURCE = "Shi-qingyu/DeT evaluation.py @2a2f4dd (formulas re-expressed; the repository has no licence)"
DET_GRID = 50
HYBRID_SEED = 0
HYBRID_TRACKS = 50
MASK_SUFFIX = ".mask.png"


# -- inputs as DeT builds them -------------------------------------------------------------------
def det_prompt(prompt: str) -> str:
    """The prompt DeT's CLIP score reads back from the output folder's name.

    The folder is the eval prompt without trailing spaces, spaces → ``_``, one final ``.``
    dropped; ``CLIP_Score`` then takes ``folder.stem`` (which also cuts at a dot *inside* the
    prompt: "Mr. Smith" → "Mr."), ``_`` → space (underscores of the prompt too), and adds ".".
    """
    name = prompt.rstrip(" ").replace(" ", "_")
    name = name[:-1] if name.endswith(".") else name
    if "/" in name:
        raise InputError(f"the prompt {prompt!r} holds a '/': DeT's output folder would nest and its CLIP score skip "
                         "the video", fix="score this prompt without the det profile")  # fmt: skip
    return PurePosixPath(name).stem.replace("_", " ") + "."


def mask_path(reference_video: Path) -> Path:
    """Where the prepared data keeps a reference clip's first-frame mask (``00.mp4`` → ``00.mask.png``)."""
    return Path(reference_video).with_suffix(MASK_SUFFIX)


def box_mask(mask: np.ndarray) -> torch.Tensor:
    """DeT's box: 1 on ``[minr:maxr, minc:maxc]`` of the nonzero pixels (last row and column left out)."""
    if mask.ndim != 2:
        raise InputError(f"the first-frame mask has shape {mask.shape}, not one channel",
                         fix="save it as a single-channel (L or P mode) PNG, as DAVIS annotations are")  # fmt: skip
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        raise InputError("the first-frame mask is empty (DeT fails on it)", fix="remove the mask or redraw it")
    box = torch.zeros(mask.shape, dtype=torch.float32)
    box[rows.min() : rows.max(), cols.min() : cols.max()] = 1
    return box


def read_box_mask(path: Path) -> tuple[torch.Tensor, str]:
    """The box of the mask PNG at ``path`` and the PNG's SHA-256."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            array = np.array(image)
    except (OSError, UnidentifiedImageError) as exc:
        raise InputError(f"cannot read the first-frame mask: {exc}", file=path, fix="replace or remove it") from exc
    try:
        return box_mask(array), file_sha256(path)
    except InputError as exc:
        raise InputError(exc.problem, file=path, fix=exc.fix) from None


# -- the maths, on tracks [N, T, 2] ----------------------------------------------------------------
def align_lengths(gen: torch.Tensor, ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The longer clip's tracks subsampled to the shorter's length by DeT's truncating linspace."""
    t_gen, t_ref = gen.shape[1], ref.shape[1]
    if t_gen > t_ref:
        gen = gen[:, torch.linspace(0, t_gen - 1, t_ref).to(torch.int32)]
    elif t_ref > t_gen:
        ref = ref[:, torch.linspace(0, t_ref - 1, t_gen).to(torch.int32)]
    return gen, ref


def motion_vectors(tracks: torch.Tensor) -> torch.Tensor:
    """``[p_0, p_1 − p_0, …]`` per track, each 2-D vector normalised (0/0 → NaN, as DeT)."""
    vectors = torch.cat([tracks[:, :1], tracks[:, 1:] - tracks[:, :-1]], dim=1)
    return vectors / vectors.norm(dim=-1, keepdim=True)


def cosine_matrix(gen: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """``S[n, m]`` = mean over time of ⟨gen vector n, ref vector m⟩ (float64, one matmul)."""
    gen, ref = align_lengths(gen.double(), ref.double())
    a, b = motion_vectors(gen), motion_vectors(ref)
    return a.reshape(a.shape[0], -1) @ b.reshape(b.shape[0], -1).T / a.shape[1]


def motion_fidelity_det(gen: torch.Tensor, ref: torch.Tensor) -> float:
    """mean_n max_m S[n, m] on normalised tracks; NaN wherever DeT's is (``max`` propagates NaN)."""
    return float(cosine_matrix(gen, ref).max(dim=1).values.mean())


def trajectory_similarity(gen: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """DeT's "Fréchet" part: 1 / (1 + mean of all T×T point distances) for every pair of tracks (float64)."""
    gen, ref = align_lengths(gen.double(), ref.double())
    distances = torch.cdist(gen[:, None], ref[None], compute_mode="donot_use_mm_for_euclid_dist")
    return 1.0 / (1.0 + distances.mean(dim=(-2, -1)))


def hybrid_indices(count: int, seed: int = HYBRID_SEED) -> torch.Tensor:
    """DeT's 50 ``torch.randint`` track indices (with replacement), from a seeded generator."""
    return torch.randint(0, count, (HYBRID_TRACKS,), generator=torch.Generator().manual_seed(seed))


def hybrid_score(gen: torch.Tensor, ref: torch.Tensor, seed: int = HYBRID_SEED) -> float:
    """½ mean_n max_m S + ½ mean_i max_j trajectory similarity over the seeded indices."""
    ids = hybrid_indices(gen.shape[0], seed)
    cosine = cosine_matrix(gen, ref).max(dim=1).values.mean()
    trajectory = trajectory_similarity(gen[ids], ref[ids]).max(dim=1).values.mean()
    return float(0.5 * cosine + 0.5 * trajectory)


def nan_note(gen: torch.Tensor, ref: torch.Tensor) -> str | None:
    """Why DeT's score is NaN here (zero-length steps or a zero start), or None."""
    gen, ref = align_lengths(gen.double(), ref.double())
    bad = [int(torch.isnan(motion_vectors(t)).any(dim=(1, 2)).sum()) for t in (gen, ref)]
    if not any(bad):
        return None
    return (f"{bad[0]} generated and {bad[1]} reference track(s) have a zero-length step: DeT's 0/0 gives NaN and "
            "max() spreads it to the video (its dataset mean would be NaN too)")  # fmt: skip


# -- the metrics ---------------------------------------------------------------------------------
def _spec(name: str, column: str, description: str, backbones: tuple[str, ...], **needs: bool) -> MetricSpec:
    return MetricSpec(name=name, column=column, description=description, source=SOURCE, version="1",
                      backbones=backbones, paper=False, profile="det", **needs)  # fmt: skip


class MotionFidelityDeT(MotionFidelity):
    """DeT's Motion Fidelity: initial position + steps, no identity subtraction, NaN kept."""

    spec = _spec("motion_fidelity_det", "MotFid@DeT", "mean over generated tracks of the best time-mean cosine "
                 "with a reference track, CoTracker3 50×50 grid (cosine)", (PAPER_TRACKER,), needs_reference_video=True)

    def normalised_tracks(self, sample: Sample, ctx: ScoringContext) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        """Both videos' tracks divided by their own W and H, and the notes the row carries."""
        notes: list[str] = []
        mask = None
        if sample.reference_video is not None and (path := mask_path(sample.reference_video)).is_file():
            mask = ctx.cached(("det.mask", str(path.resolve()), path.stat().st_mtime_ns), lambda: read_box_mask(path))
            notes.append(f"first-frame mask {path.name} beside the reference clip (sha256 {mask[1]}): grid points "
                         "inside its box, plus CoTracker's support grid")  # fmt: skip
        else:
            notes.append(f"no first-frame mask beside the reference clip: whole-frame {DET_GRID}x{DET_GRID} grid")
        tracker, gen, ref = self.tracks(sample, ctx, DET_GRID, mask)
        if gen.shape[0] == 0:
            raise InputError("the first-frame mask's box holds none of the 50x50 grid points", fix="check the mask")
        if not tracker.paper_tracker:
            notes.insert(0, f"tracks from {tracker.name}: {tracker.description}")
        reference = read_video_size(sample.reference_video, ctx)
        video = sample.video
        scale = torch.tensor([video.width, video.height], dtype=torch.float32)
        return gen / scale, ref / torch.tensor(reference[::-1], dtype=torch.float32), notes

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        gen, ref, notes = self.normalised_tracks(sample, ctx)
        if (why := nan_note(gen, ref)) is not None:
            notes.append(why)
        return MetricValue(self.combine(gen, ref), "; ".join(notes))

    def combine(self, gen: torch.Tensor, ref: torch.Tensor) -> float:
        return motion_fidelity_det(gen, ref)


class MotionFidelityHybridDeT(MotionFidelityDeT):
    """DeT's ``--add_frechet_score`` variant, its random track indices seeded (DeT's are not)."""

    spec = _spec("motion_fidelity_hybrid_det", f"MotFid-Hybrid@DeT (seed {HYBRID_SEED})",
                 f"½ MotFid@DeT + ½ best 1/(1 + mean point distance) over {HYBRID_TRACKS} seeded track indices",
                 (PAPER_TRACKER,), needs_reference_video=True)  # fmt: skip

    def combine(self, gen: torch.Tensor, ref: torch.Tensor) -> float:
        if gen.shape[0] != ref.shape[0]:
            raise InputError(f"the hybrid score needs as many generated as reference tracks ({gen.shape[0]} vs "
                             f"{ref.shape[0]})", fix="track both clips on the same grid and mask")  # fmt: skip
        return hybrid_score(gen, ref)


def read_video_size(path: Path, ctx: ScoringContext) -> tuple[int, int]:
    """(height, width) of a reference clip, read once per file."""
    path = Path(path)
    return ctx.cached(("det.size", str(path), path.stat().st_mtime_ns), lambda: read_video(path).frames.shape[1:3])


class ClipTDeT(Metric):
    """DeT's CLIP score: the mean over every frame of ``logits_per_image`` against DeT's rebuilt prompt."""

    spec = _spec("clip_t_det", "CLIP-T@DeT", "mean over all frames of HF CLIP ViT-B/32 logits_per_image "
                 "(≈ 100·cos) against the prompt as DeT rebuilds it", (CLIP,), needs_prompt=True)  # fmt: skip

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        if not sample.prompt:
            raise InputError("CLIP-T@DeT needs the prompt", file=sample.video.source, fix="give a case_id or prompt")
        model = ctx.hub.get(CLIP)
        text = det_prompt(sample.prompt)
        frames = sample.video.frames
        images = torch.cat(list(batched(ctx, lambda a, b: model.image_embeds(frames[a:b]), len(frames), CLIP,
                                        224, 224)))  # fmt: skip
        with torch.inference_mode():  # HF CLIPModel's logits_per_image: x / ‖x‖, text @ image.T, × exp(scale)
            texts = model.text_embeds(text, copies=len(frames))
            texts = texts / texts.norm(p=2, dim=-1, keepdim=True)
            images = images / images.norm(p=2, dim=-1, keepdim=True)
            logits = torch.diagonal(texts @ images.T) * model.model.logit_scale.exp()  # DeT: diag(logits_per_image)
        plain = sample.prompt.rstrip(" ").removesuffix(".") + "."
        note = f"DeT reads the prompt back from its folder name as {text!r}" if text != plain else None
        return MetricValue(float(logits.mean()), note)


class TConsDeT(Metric):
    """DeT's Temporal Consistency: DINO pooler cosines with the first and the previous frame."""

    spec = _spec("t_cons_det", "T-Cons@DeT", "½ [mean cos(f_i, f_0) + mean cos(f_i, f_i−1)] of HF DINO ViT-B/16 "
                 f"pooler outputs (pooler seeded {POOLER_SEED}: the released checkpoint has none)", (DINO,))

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        model = ctx.hub.get(DINO)
        frames = sample.video.frames
        pooled = torch.cat(list(batched(ctx, lambda a, b: model.pooler_output(frames[a:b]), len(frames), DINO,
                                        224, 224)))  # fmt: skip
        note = None if model.pooler == "checkpoint" else f"DINO pooler not in the checkpoint: drawn from {model.pooler}"
        return MetricValue(temporal_consistency_det(pooled), note)


def temporal_consistency_det(pooled: torch.Tensor) -> float:
    """½ [mean_i cos(f_i, f_0) + mean_i cos(f_i, f_{i−1})], i from 0 (previous of frame 0 is frame 0)."""
    features = F.normalize(pooled, p=2, dim=-1)
    previous = features[torch.clamp(torch.arange(len(features)) - 1, min=0)]
    first = (features * features[:1]).sum(dim=-1).mean()
    prev = (features * previous).sum(dim=-1).mean()
    return float((first + prev) / 2)
