"""Mot-Fid: does the generated video move like the reference clip? (JointTuner ``motion_fidelity_score.py``)

Both videos are tracked on CoTracker's 55×55 grid from frame 0 (:mod:`jtbench.models.trackers`).
Each step of each track becomes a unit direction ``d = (x[:, t+1] − x[:, t]) / |·|``, and

    S[n, m] = mean_t <d_gen[n, t], d_ref[m, t]>,   S ← S − I,   score = 100 · mean_n max_m S[n, m]

with NaN row maxima replaced by 0. The official computation, quirks kept (``motion_fidelity``):

- **identity subtraction** (from DMT): the same-index reference track — the one starting at the
  same grid location — gets −1, so each generated track is scored by its best *other* track;
- **one-sided**: only generated → reference;
- **0/0 = NaN**: a zero-length step is NaN; ``max`` propagates it, so a NaN in a generated track
  zeroes that row, and a NaN in *any* reference track zeroes every row (video score 0);
- **zero-padding**: a generated clip with fewer steps is padded with zero directions to the
  reference length, and the padded steps count in the mean (lowering the score);
- **longer generated clip**: the official einsum crashes; jtbench truncates the generated tracks
  to the reference length and says so in the note (SPEC §6).

Variants beside it, never the default (registered under their own names and columns):

- ``motion_fidelity_nan_safe`` — "Mot-Fid (nan-safe)": a zero-length (or non-finite) step is a
  zero direction — it carries no direction, so it adds nothing to the agreement but still counts
  in the mean, exactly like a step where the point does not move the same way; one still
  reference track becomes a poor match instead of zeroing the video. Clips of different length
  are compared on their common first frames (no padding penalty). Identity subtraction and
  one-sidedness are kept, so values stay comparable with the paper's.
- ``motion_fidelity_symmetric`` — "Mot-Fid (symmetric)": the nan-safe rules, no identity
  subtraction (identical motion scores 100), and the mean of both directions (generated →
  reference and reference → generated), the two-sided form the DMT paper describes.

The similarity is one ``[N, L·2] @ [L·2, M]`` matmul on the hub's device (3025 × 3025 per video)
in float64: the official ran float32, whose rounding differs by ~1e-5 on the 0–100 scale, but a
float32 matmul silently drops to TF32 wherever a process enables it, and float64 cannot.
Reference tracks are computed once per reference file (keyed by its SHA-256 and the tracker)
and generated tracks once per video, shared by all variants.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch

from jtbench.errors import InputError
from jtbench.io.video import file_sha256, read_video
from jtbench.metrics.base import Metric, MetricSpec, MetricValue, Sample, ScoringContext
from jtbench.metrics.memory import COSTS
from jtbench.models.base import BACKBONES
from jtbench.models.trackers import (  # importing registers both trackers
    GRID_SIZE,
    CoTracker3Offline,
    LKTrackerBackbone,
    Tracker,
)

PAPER_TRACKER = CoTracker3Offline.name
STANDIN_TRACKER = LKTrackerBackbone.name


@dataclass(frozen=True)
class MotFidRules:
    """How a Mot-Fid variant treats zero-length steps, clips of different length and self-matches."""

    zero_steps: Literal["nan", "zero"] = "nan"  # 0/0 direction: NaN (official) or a zero vector
    shorter: Literal["pad", "common"] = "pad"  # shorter generated clip: zero-pad (official) or common length
    subtract_identity: bool = True
    symmetric: bool = False


OFFICIAL = MotFidRules()
NAN_SAFE = MotFidRules(zero_steps="zero", shorter="common")
SYMMETRIC = MotFidRules(zero_steps="zero", shorter="common", subtract_identity=False, symmetric=True)


@dataclass(frozen=True)
class MotFidResult:
    score: float  # 0–1 (the metric reports ×100)
    notes: tuple[str, ...] = ()


# -- the maths: pure functions on tracks [N, T, 2] ------------------------------------------------
def unit_displacements(tracks: torch.Tensor, zero_steps: Literal["nan", "zero"] = "nan") -> torch.Tensor:
    """``[N, T, 2]`` → ``[N, T−1, 2]`` unit step directions (0/0 → NaN, or → 0 with ``"zero"``)."""
    steps = tracks[:, 1:] - tracks[:, :-1]
    norms = steps.norm(dim=-1, keepdim=True)
    if zero_steps == "nan":
        return steps / norms
    informative = torch.isfinite(norms) & (norms > 0)
    return torch.where(informative, steps / torch.where(informative, norms, 1.0), 0.0)


def similarity_matrix(gen_units: torch.Tensor, ref_units: torch.Tensor) -> torch.Tensor:
    """``S[n, m] = mean_t <gen[n, t], ref[m, t]>`` as one matmul (same step count required)."""
    n, steps, _ = gen_units.shape
    if ref_units.shape[1] != steps:
        raise ValueError(f"step counts differ: generated {steps}, reference {ref_units.shape[1]}")
    return gen_units.reshape(n, -1) @ ref_units.reshape(ref_units.shape[0], -1).T / steps


def _best_match(similarity: torch.Tensor, dim: int) -> torch.Tensor:
    """Max along ``dim``; ``torch.max`` propagates NaN, which then becomes 0 (official ``nan_to_num``)."""
    return torch.nan_to_num(similarity.max(dim=dim).values, nan=0.0)


def _align(gen: torch.Tensor, ref: torch.Tensor, rules: MotFidRules) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Unit directions of both videos on a shared step axis, plus notes on what was done."""
    notes: list[str] = []
    t_gen, t_ref = gen.shape[1], ref.shape[1]
    if rules.shorter == "common" and t_gen != t_ref:
        common = min(t_gen, t_ref)
        notes.append(f"compared on the first {common} frames of both clips (generated {t_gen}, reference {t_ref})")
        gen, ref = gen[:, :common], ref[:, :common]
    elif t_gen > t_ref:
        notes.append(
            f"generated tracks truncated to the reference length ({t_gen} → {t_ref} frames); "
            "the official script crashes here"
        )
        gen = gen[:, :t_ref]
    gen_units = unit_displacements(gen, rules.zero_steps)
    ref_units = unit_displacements(ref, rules.zero_steps)
    missing = ref_units.shape[1] - gen_units.shape[1]
    if missing > 0:  # official: zero directions appended after normalisation, counted in the mean
        notes.append(f"generated clip shorter than the reference ({t_gen} vs {t_ref} frames): zero-padded as official")
        gen_units = torch.cat([gen_units, gen_units.new_zeros(gen_units.shape[0], missing, 2)], dim=1)
    return gen_units, ref_units, notes


def motion_fidelity_score(
    gen_tracks: torch.Tensor,
    ref_tracks: torch.Tensor,
    rules: MotFidRules = OFFICIAL,
    device: torch.device | str | None = None,
) -> MotFidResult:
    """Mot-Fid of one generated video against its reference, on the 0–1 scale, with notes."""
    for label, tracks in (("generated", gen_tracks), ("reference", ref_tracks)):
        if tracks.ndim != 3 or tracks.shape[-1] != 2 or tracks.shape[1] < 2:
            raise InputError(
                f"{label} tracks must be [N, T >= 2, 2], got {tuple(tracks.shape)}", fix="track a video of 2+ frames"
            )
    if gen_tracks.shape[0] != ref_tracks.shape[0] and rules.subtract_identity:
        raise InputError(
            f"track counts differ ({gen_tracks.shape[0]} vs {ref_tracks.shape[0]}); identity subtraction needs the"
            " same grid for both videos",
            fix="track both videos with the same tracker",
        )
    device = torch.device(device) if device is not None else gen_tracks.device
    gen, ref = (tracks.to(device, torch.float64) for tracks in (gen_tracks, ref_tracks))
    gen_units, ref_units, notes = _align(gen, ref, rules)
    if rules.zero_steps == "nan":
        if torch.isnan(ref_units).any():
            notes.append("a reference track has a zero-length step: official NaN handling scores every track 0")
        elif (bad := int(torch.isnan(gen_units).any(dim=(1, 2)).sum())) > 0:
            notes.append(f"{bad} generated track(s) have zero-length steps and score 0 (official NaN handling)")
    similarity = similarity_matrix(gen_units, ref_units)
    if rules.subtract_identity:
        similarity = similarity - torch.eye(similarity.shape[0], device=device, dtype=similarity.dtype)
    score = _best_match(similarity, dim=1).mean()
    if rules.symmetric:
        score = (score + _best_match(similarity, dim=0).mean()) / 2
    return MotFidResult(float(score), tuple(notes))


# -- the metric ---------------------------------------------------------------------------------
class MotionFidelity(Metric):
    """Official Mot-Fid. ``tracker`` defaults to CoTracker3 in paper mode and LK in tiny mode."""

    spec = MetricSpec(
        name="motion_fidelity",
        column="Mot-Fid",
        description="one-sided best agreement of CoTracker3 unit displacements with the reference clip's tracks",
        source="JointTuner metrics/motion_fidelity_score.py (after DMT motion_fidelity_score.py)",
        backbones=(PAPER_TRACKER,),
        needs_reference_video=True,
    )
    rules: ClassVar[MotFidRules] = OFFICIAL

    def __init__(self, tracker: str | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.tracker = BACKBONES.canonical(tracker) if tracker is not None else None  # fail early on typos

    def tracker_name(self, ctx: ScoringContext) -> str:
        if self.tracker is not None:
            return self.tracker
        return STANDIN_TRACKER if ctx.hub.mode == "tiny" else PAPER_TRACKER

    def tracks(
        self,
        sample: Sample,
        ctx: ScoringContext,
        grid_size: int = GRID_SIZE,
        mask: tuple[torch.Tensor, str] | None = None,
    ) -> tuple[Tracker, torch.Tensor, torch.Tensor]:
        """The tracker and the (generated, reference) tracks ``[N, T, 2]`` in pixels, each cached per file.

        ``mask`` = (segmentation mask, its digest): both videos keep only the grid points inside it.
        """
        if sample.reference_video is None:
            raise InputError(
                f"{self.spec.column} needs a reference video", file=sample.video.source, fix="give reference_video"
            )
        name = self.tracker_name(ctx)
        tracker = ctx.hub.get(name)
        if not isinstance(tracker, Tracker):
            raise InputError(f"backbone {name!r} is not a point tracker", fix="use cotracker3_offline or lk_tracker")
        reference = Path(sample.reference_video)
        video = sample.video
        if name in COSTS:  # the tracker takes a whole clip per call: check that one fits before starting
            cost = COSTS[name].bytes_per_item(video.height, video.width) * video.num_frames
            ctx.memory.batch_size(cost, 1, f"{name} on {video.num_frames} frames of {video.height}x{video.width}")
        segm_mask, mask_digest = mask if mask is not None else (None, "")
        grid = () if grid_size == GRID_SIZE and segm_mask is None else (grid_size, mask_digest)

        def track(frames: torch.Tensor) -> torch.Tensor:
            return tracker.track(frames, grid_size, segm_mask) if grid else tracker.track(frames)

        ref_tracks = ctx.cached(
            ("motion_fidelity.tracks", name, _sha256(reference, ctx), *grid),
            lambda: track(read_video(reference, min_frames=2).frames),
        )
        if video.digest:
            gen_tracks = ctx.cached(("motion_fidelity.tracks", name, video.digest, *grid), lambda: track(video.frames))
        else:  # an in-memory clip has no key to cache under
            gen_tracks = track(video.frames)
        return tracker, gen_tracks, ref_tracks

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        tracker, gen_tracks, ref_tracks = self.tracks(sample, ctx)
        result = motion_fidelity_score(gen_tracks, ref_tracks, self.rules, device=ctx.hub.device)
        notes = list(result.notes)
        if not tracker.paper_tracker:
            notes.insert(0, f"tracks from {tracker.name}: {tracker.description}")
        return MetricValue(result.score * 100.0, "; ".join(notes) or None)


def _sha256(path: Path, ctx: ScoringContext) -> str:
    """The reference file's SHA-256, hashed once per (path, size, mtime) in this context."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise InputError(f"reference video not readable: {exc}", file=path, fix="check the path") from exc
    return ctx.cached(("file_sha256", str(path), stat.st_size, stat.st_mtime_ns), lambda: file_sha256(path))


class MotionFidelityNanSafe(MotionFidelity):
    """Zero-length steps carry no direction (0, not NaN); different lengths compared on the common frames."""

    spec = MetricSpec(
        name="motion_fidelity_nan_safe",
        column="Mot-Fid (nan-safe)",
        description="Mot-Fid with zero-length steps as zero directions and no padding penalty",
        source="jtbench correction of JointTuner metrics/motion_fidelity_score.py",
        backbones=(PAPER_TRACKER,),
        needs_reference_video=True,
        paper=False,
    )
    rules = NAN_SAFE


class MotionFidelitySymmetric(MotionFidelity):
    """Nan-safe rules, no identity subtraction, mean of both matching directions."""

    spec = MetricSpec(
        name="motion_fidelity_symmetric",
        column="Mot-Fid (symmetric)",
        description="two-sided Mot-Fid without identity subtraction (identical motion scores 100)",
        source="jtbench variant; two-sided form as described in the DMT paper (CVPR 2024, Sec. 5.1)",
        backbones=(PAPER_TRACKER,),
        needs_reference_video=True,
        paper=False,
    )
    rules = SYMMETRIC
