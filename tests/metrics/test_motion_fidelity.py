"""Mot-Fid: ours against the official formula re-expressed plainly, its quirks, and the metric end to end."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch

from jtbench.errors import InputError, UnknownNameError, WeightsError
from jtbench.io.video import read_video, write_video
from jtbench.metrics.base import PAPER_METRICS, Sample, ScoringContext, create_metric, list_metrics
from jtbench.metrics.motion_fidelity import (
    NAN_SAFE,
    OFFICIAL,
    SYMMETRIC,
    MotionFidelity,
    motion_fidelity_score,
    unit_displacements,
)
from jtbench.models.base import ModelHub
from jtbench.models.trackers import grid_in_pixels


# -- the official formula, written out the slow, obvious way ---------------------------------------
def official_plain(gen: np.ndarray, ref: np.ndarray) -> float:
    """JT motion_fidelity_score.py on float64 arrays [N, T, 2], with loops; ×100."""

    def units(tracks):
        steps = tracks[:, 1:] - tracks[:, :-1]
        with np.errstate(invalid="ignore", divide="ignore"):
            return steps / np.sqrt((steps**2).sum(axis=-1, keepdims=True))

    dg, dr = units(gen), units(ref)
    if dg.shape[1] < dr.shape[1]:
        dg = np.concatenate([dg, np.zeros((dg.shape[0], dr.shape[1] - dg.shape[1], 2))], axis=1)
    n_gen, n_ref, steps = dg.shape[0], dr.shape[0], dr.shape[1]
    best = []
    for n in range(n_gen):
        row = []
        for m in range(n_ref):
            total = 0.0
            for t in range(steps):
                total += dg[n, t, 0] * dr[m, t, 0] + dg[n, t, 1] * dr[m, t, 1]
            row.append(total / steps - (1.0 if n == m else 0.0))
        best.append(0.0 if any(math.isnan(v) for v in row) else max(row))
    return 100.0 * sum(best) / len(best)


def synthetic_tracks(seed: int, n: int = 36, frames: int = 12, noise: float = 0.6) -> np.ndarray:
    """Grid points under a shared rotation + drift (a smooth motion field) plus per-point jitter."""
    rng = np.random.default_rng(seed)
    start = grid_in_pixels(96, 128, size=int(math.isqrt(n))).double().numpy()
    angle, drift = rng.uniform(-0.05, 0.05), rng.normal(0, 2, size=2)
    centre = start.mean(axis=0)
    out = [start]
    for _ in range(frames - 1):
        prev = out[-1]
        c, s = math.cos(angle), math.sin(angle)
        rotated = (prev - centre) @ np.array([[c, -s], [s, c]]).T + centre
        out.append(rotated + drift + rng.normal(0, noise, size=prev.shape))
    return np.stack(out, axis=1).astype(np.float32).astype(np.float64)


def ours(gen: np.ndarray, ref: np.ndarray, rules=OFFICIAL) -> float:
    return 100.0 * motion_fidelity_score(torch.from_numpy(gen).float(), torch.from_numpy(ref).float(), rules).score


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_the_plain_official_formula(seed):
    ref = synthetic_tracks(seed)
    gen = synthetic_tracks(seed + 100)
    assert abs(ours(gen, ref) - official_plain(gen, ref)) <= 1e-4
    assert abs(ours(ref, ref) - official_plain(ref, ref)) <= 1e-4


def test_matches_the_plain_formula_when_shorter_and_with_nan_rows():
    ref = synthetic_tracks(5, frames=16)
    gen = synthetic_tracks(6, frames=9)
    gen[4, 3] = gen[4, 2]  # a zero-length step: 0/0 = NaN in this generated row only
    expected = official_plain(gen, ref)
    assert abs(ours(gen, ref) - expected) <= 1e-4
    assert expected > 0


def test_identity_subtraction_scores_identical_motion_below_100():
    rng = np.random.default_rng(0)
    walks = np.cumsum(rng.normal(0, 1, size=(49, 16, 2)), axis=1)  # unrelated random walks
    official = ours(walks, walks)
    assert official == pytest.approx(official_plain(walks, walks), abs=1e-4)
    assert official < 60  # each track is scored by its best *other* track
    assert ours(walks, walks, SYMMETRIC) == pytest.approx(100.0, abs=1e-4)
    translation = np.cumsum(np.broadcast_to(rng.normal(0, 1, size=(1, 16, 2)), (49, 16, 2)), axis=1)
    assert ours(translation, translation) == pytest.approx(100.0, abs=1e-4)  # a neighbour matches exactly


def test_zero_padding_of_a_shorter_clip_lowers_the_score():
    ref = synthetic_tracks(7, frames=16, noise=0.2)
    short = ref[:, :8]
    full_score, padded = ours(ref, ref), ours(short, ref)
    assert padded < full_score - 10
    result = motion_fidelity_score(torch.from_numpy(short).float(), torch.from_numpy(ref).float())
    assert "zero-padded" in "; ".join(result.notes)
    # nan-safe compares the common length instead: the same as scoring the first 8 frames of both
    assert ours(short, ref, NAN_SAFE) == pytest.approx(ours(short, ref[:, :8]), abs=1e-4)


def test_one_still_reference_track_zeroes_the_official_score_but_not_nan_safe():
    ref = synthetic_tracks(8)
    gen = synthetic_tracks(9)
    ref[10, 5] = ref[10, 4]
    result = motion_fidelity_score(torch.from_numpy(gen).float(), torch.from_numpy(ref).float())
    assert result.score == 0.0 and official_plain(gen, ref) == 0.0
    assert "scores every track 0" in "; ".join(result.notes)
    assert ours(gen, ref, NAN_SAFE) > 20


def test_nan_safe_treats_zero_length_steps_as_zero_directions():
    tracks = torch.tensor([[[0.0, 0.0], [0.0, 0.0], [3.0, 4.0], [float("nan"), 1.0]]])
    official = unit_displacements(tracks, "nan")
    assert torch.isnan(official[0, 0]).all() and official[0, 1].tolist() == pytest.approx([0.6, 0.8])
    safe = unit_displacements(tracks, "zero")
    torch.testing.assert_close(safe[0], torch.tensor([[0.0, 0.0], [0.6, 0.8], [0.0, 0.0]]))


def test_longer_generated_clip_is_truncated_with_a_note():
    ref = synthetic_tracks(10, frames=10)
    gen = synthetic_tracks(11, frames=15)
    result = motion_fidelity_score(torch.from_numpy(gen).float(), torch.from_numpy(ref).float())
    assert "truncated to the reference length (15 → 10 frames)" in result.notes[0]
    assert 100 * result.score == pytest.approx(official_plain(gen[:, :10], ref), abs=1e-4)


def test_bad_track_shapes_are_input_errors():
    with pytest.raises(InputError, match="N, T >= 2, 2"):
        motion_fidelity_score(torch.zeros(5, 1, 2), torch.zeros(5, 4, 2))
    with pytest.raises(InputError, match="same grid"):
        motion_fidelity_score(torch.zeros(5, 4, 2), torch.zeros(6, 4, 2))


def test_variants_are_registered_beside_the_official_one():
    assert "motion_fidelity" in PAPER_METRICS
    assert {"motion_fidelity_nan_safe", "motion_fidelity_symmetric"} <= set(list_metrics("motion_fidelity*"))
    official, safe = create_metric("Mot-Fid"), create_metric("Mot-Fid (nan-safe)")
    assert type(official) is MotionFidelity and official.spec.paper and official.rules == OFFICIAL
    assert safe.spec.column == "Mot-Fid (nan-safe)" and not safe.spec.paper and safe.rules == NAN_SAFE
    assert create_metric("Mot-Fid (symmetric)").spec.column == "Mot-Fid (symmetric)"


# -- the metric end to end, tiny hub (LK stand-in) --------------------------------------------------
@pytest.fixture(scope="module")
def small_reference(shared_data, tmp_path_factory):
    """car-turn at 112×112 (16 frames) as a reference clip file."""
    clip = read_video(shared_data / "motions" / "car_turn" / "car-turn.mp4")
    frames = np.stack([cv2.resize(f, (112, 112), interpolation=cv2.INTER_AREA) for f in clip.frames.numpy()])
    return write_video(frames, tmp_path_factory.mktemp("motfid") / "reference.mp4", fps=8)


def test_metric_end_to_end_with_the_tiny_hub(tiny_hub, small_reference, tmp_path, monkeypatch):
    ctx = ScoringContext(hub=tiny_hub)
    tracker = tiny_hub.get("lk_tracker")
    calls = []
    real_track = tracker.track
    monkeypatch.setattr(tracker, "track", lambda frames: calls.append(frames.shape) or real_track(frames))

    reference_clip = read_video(small_reference)
    value = create_metric("Mot-Fid").score(Sample(reference_clip, reference_video=small_reference), ctx)
    expected = real_track(reference_clip.frames)
    assert value.value == pytest.approx(100 * motion_fidelity_score(expected, expected).score, abs=1e-4)
    assert 0 < value.value < 100
    assert "lk_tracker" in value.note and "not the paper's CoTracker3" in value.note

    # a longer generated clip: truncated, and the reference is not tracked again
    frames = reference_clip.frames.numpy()
    longer = write_video(np.concatenate([frames, frames[::-1][1:5]]), tmp_path / "longer.mp4", fps=8)
    generated = read_video(longer)
    calls.clear()
    official = create_metric("Mot-Fid").score(Sample(generated, reference_video=small_reference), ctx)
    safe = create_metric("Mot-Fid (nan-safe)").score(Sample(generated, reference_video=small_reference), ctx)
    assert calls == [tuple(generated.frames.shape)]  # generated tracked once, shared by both variants
    assert "truncated to the reference length (20 → 16 frames)" in official.note
    assert "compared on the first 16 frames" in safe.note
    ctx.forget_video(generated.digest)
    assert not any(generated.digest in key for key in ctx.cache)
    assert any(key[0] == "motion_fidelity.tracks" for key in ctx.cache)  # the reference's tracks stay


def test_metric_needs_a_reference_video(tiny_hub, small_reference):
    with pytest.raises(InputError, match="needs a reference video"):
        create_metric("Mot-Fid").score(Sample(read_video(small_reference)), ScoringContext(hub=tiny_hub))


def test_paper_mode_uses_cotracker_and_fails_clearly_without_it(small_reference, tmp_path, monkeypatch):
    monkeypatch.delenv("JTBENCH_COTRACKER_DIR", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    ctx = ScoringContext(hub=ModelHub(backbones="paper"))
    metric = create_metric("Mot-Fid")
    assert metric.tracker_name(ctx) == "cotracker3_offline"
    with pytest.raises(WeightsError, match="scaled_offline.pth"):
        metric.score(Sample(read_video(small_reference), reference_video=small_reference), ctx)
    assert create_metric("Mot-Fid", tracker="lk_tracker").tracker_name(ctx) == "lk_tracker"


def test_tracker_option_is_checked(tiny_hub, small_reference, monkeypatch):
    with pytest.raises(UnknownNameError, match="lk_tracker"):
        create_metric("Mot-Fid", tracker="lk_trakcer")
    monkeypatch.setattr(tiny_hub, "get", lambda name: object())
    sample = Sample(read_video(small_reference), reference_video=small_reference)
    with pytest.raises(InputError, match="not a point tracker"):
        create_metric("Mot-Fid").score(sample, ScoringContext(hub=tiny_hub))
