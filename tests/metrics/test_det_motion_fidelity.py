"""MotFid@DeT and its hybrid against DeT's evaluation.py re-expressed (``_det_reference``).

The tracker is the Lucas–Kanade stand-in on both sides (the formula, alignment, normalisation and
mask box are what is compared); CoTracker3's own predictor is compared in
``test_cotracker_call_matches_dets`` where a checkout is present. Each quirk is shown to move the value.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from _det_inputs import TOL, clips_fixture, record, reference_tracks, score_one, soft_mask_fixture, with_mask  # noqa: F401
from _det_reference import box_from_mask_png, hybrid_video, motion_fidelity_video, tracklets

from jtbench.errors import InputError
from jtbench.io.video import read_video
from jtbench.metrics import det

CASES = {  # (generated, reference, with mask)
    "49f vs 16f, whole frame": ("gen_49f", "ref_16f", False),
    "pan 16f vs 16f, soft mask": ("pan_16f", "ref_16f", True),
    "16f vs 49f, soft mask": ("ref_16f", "gen_49f", True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_motion_fidelity_and_hybrid_match_det(case, clips, soft_mask, tiny_hub, tmp_path):
    gen_name, ref_name, masked = CASES[case]
    reference = with_mask(clips[ref_name], soft_mask, tmp_path) if masked else clips[ref_name]
    ours = score_one(tiny_hub, clips[gen_name], "MotFid@DeT", reference=reference)
    hybrid = score_one(tiny_hub, clips[gen_name], "MotFid-Hybrid@DeT (seed 0)", reference=reference).value
    gen = reference_tracks(clips[gen_name], soft_mask if masked else None)
    ref = reference_tracks(clips[ref_name], soft_mask if masked else None)
    theirs = motion_fidelity_video(gen, ref)
    ids = torch.randint(0, gen.shape[0], (50,), generator=torch.Generator().manual_seed(0))
    theirs_hybrid = hybrid_video(gen, ref, ids)
    record(case, "MotFid@DeT", ours.value, theirs)
    record(case, "MotFid-Hybrid@DeT (seed 0)", hybrid, theirs_hybrid)
    assert ours.value == pytest.approx(theirs, abs=TOL) and hybrid == pytest.approx(theirs_hybrid, abs=TOL)
    assert ("first-frame mask 00.mask.png" in ours.note) == masked
    assert ("whole-frame 50x50 grid" in ours.note) != masked
    assert "lk_tracker" in ours.note
    if masked:
        assert gen.shape[0] < 2500
        assert det.file_sha256(soft_mask) in ours.note


def test_a_static_clip_is_nan_as_in_det_with_a_note(clips, tiny_hub):
    ours = score_one(tiny_hub, clips["static_12f"], "MotFid@DeT", reference=clips["ref_16f"])
    gen, ref = reference_tracks(clips["static_12f"], None), reference_tracks(clips["ref_16f"], None)
    assert math.isnan(motion_fidelity_video(gen, ref)) and math.isnan(ours.value)
    assert "zero-length step" in ours.note and "NaN" in ours.note


def test_one_still_reference_step_makes_every_row_nan():
    """Hand-made tracks: a stationary step in one reference track; NaN on both sides."""
    gen = torch.cumsum(torch.rand(4, 5, 2) + 0.1, dim=1)
    ref = torch.cumsum(torch.rand(4, 5, 2) + 0.1, dim=1)
    assert math.isfinite(det.motion_fidelity_det(gen, ref))
    assert det.motion_fidelity_det(gen, ref) == pytest.approx(motion_fidelity_video(gen, ref), abs=TOL)
    ref[2, 3] = ref[2, 2]
    assert math.isnan(det.motion_fidelity_det(gen, ref)) and math.isnan(motion_fidelity_video(gen, ref))
    assert "0 generated and 1 reference" in det.nan_note(gen, ref)


def test_truncating_linspace_alignment():
    gen, ref = torch.zeros(1, 49, 2), torch.zeros(1, 16, 2)
    gen[0, :, 0] = torch.arange(49)
    aligned, _ = det.align_lengths(gen, ref)
    assert aligned[0, :, 0].tolist() == [0, 3, 6, 9, 12, 16, 19, 22, 25, 28, 32, 35, 38, 41, 44, 48]


def test_box_mask_leaves_out_the_last_row_and_column(soft_mask):
    array = np.zeros((6, 8), dtype=np.uint8)
    array[1, 2] = 3
    array[4, 6] = 200  # any nonzero pixel counts
    box = det.box_mask(array)
    assert box.sum() == 3 * 4 and box[1:4, 2:6].all() and not box[4].any() and not box[:, 6].any()
    torch.testing.assert_close(det.read_box_mask(soft_mask)[0], box_from_mask_png(soft_mask)[0, 0])
    with pytest.raises(InputError, match="empty"):
        det.box_mask(np.zeros((4, 4), dtype=np.uint8))


# each quirk changes the value when altered
def test_the_initial_position_is_kept(clips, tiny_hub, monkeypatch):
    before = score_one(tiny_hub, clips["gen_49f"], "MotFid@DeT", reference=clips["ref_16f"]).value

    def steps_only(tracks):  # altered: the first vector a copy of the first step, not the start position
        steps = tracks[:, 1:] - tracks[:, :-1]
        return torch.nn.functional.normalize(torch.cat([steps[:, :1], steps], dim=1), dim=-1)

    monkeypatch.setattr(det, "motion_vectors", steps_only)
    assert abs(score_one(tiny_hub, clips["gen_49f"], "MotFid@DeT", reference=clips["ref_16f"]).value - before) > 1e-4


def test_the_truncating_linspace_moves_the_value(monkeypatch):
    torch.manual_seed(5)
    gen, ref = torch.cumsum(torch.randn(200, 49, 2), dim=1), torch.cumsum(torch.randn(200, 16, 2), dim=1)
    before = det.motion_fidelity_det(gen, ref)
    assert before == pytest.approx(motion_fidelity_video(gen, ref), abs=TOL)

    def rounded(g, r):  # altered: rounded instead of truncated indices
        return g[:, torch.linspace(0, g.shape[1] - 1, r.shape[1]).round().long()], r

    monkeypatch.setattr(det, "align_lengths", rounded)
    assert abs(det.motion_fidelity_det(gen, ref) - before) > 1e-4


def test_no_identity_subtraction_and_division_by_w_and_h(clips, tiny_hub):
    gen, ref = reference_tracks(clips["gen_49f"], None), reference_tracks(clips["ref_16f"], None)
    normalised = det.motion_fidelity_det(gen, ref)
    pixels = det.motion_fidelity_det(gen * torch.tensor([240.0, 160.0]), ref * 192.0)  # altered: no division
    assert abs(normalised - pixels) > 1e-4
    assert normalised == pytest.approx(score_one(tiny_hub, clips["gen_49f"], "MotFid@DeT", reference=clips["ref_16f"])
                                       .value, abs=1e-12)  # fmt: skip
    same = score_one(tiny_hub, clips["pan_16f"], "MotFid@DeT", reference=clips["pan_16f"]).value
    pan = reference_tracks(clips["pan_16f"], None)
    subtracted = float((det.cosine_matrix(pan, pan) - torch.eye(2500, dtype=torch.float64)).max(dim=1).values.mean())
    assert same == pytest.approx(1.0, abs=1e-9) and same - subtracted > 1e-5  # a video matches itself: 1


def test_the_mask_changes_the_grid_and_the_value(clips, soft_mask, tiny_hub, tmp_path):
    whole = score_one(tiny_hub, clips["pan_16f"], "MotFid@DeT", reference=clips["ref_16f"]).value
    masked = score_one(tiny_hub, clips["pan_16f"], "MotFid@DeT", reference=with_mask(clips["ref_16f"], soft_mask,
                                                                                  tmp_path)).value  # fmt: skip
    assert abs(whole - masked) > 1e-4


def test_the_hybrid_seed_moves_the_value():
    torch.manual_seed(3)
    gen, ref = torch.rand(300, 8, 2), torch.rand(300, 8, 2)
    assert abs(det.hybrid_score(gen, ref, 0) - det.hybrid_score(gen, ref, 1)) > 1e-6
    assert det.hybrid_score(gen, ref, 0) == pytest.approx(hybrid_video(gen, ref, det.hybrid_indices(300, 0)), abs=TOL)


@pytest.mark.slow
def test_cotracker_call_matches_dets(clips, soft_mask, tmp_path, monkeypatch):
    """DeT's ``get_tracklets`` through CoTracker3's own ``CoTrackerPredictor(checkpoint=...)`` against jtbench's
    tracker on the same seeded real-size weights: grid 50, the mask rule and the support grid are the predictor's.
    Needs a local co-tracker checkout (``JTBENCH_COTRACKER_DIR``; CC-BY-NC, never vendored)."""
    from jtbench.models.trackers import COTRACKER3_OFFLINE, CoTracker3Offline, find_cotracker_checkout, grid_point_mask

    checkout = find_cotracker_checkout()
    if not isinstance(checkout, Path):
        pytest.skip("no local co-tracker checkout (set JTBENCH_COTRACKER_DIR)")
    files = CoTracker3Offline().build_tiny(tmp_path, seed=0)  # the real architecture, seeded random weights
    monkeypatch.syspath_prepend(str(checkout))
    from cotracker.predictor import CoTrackerPredictor

    predictor = CoTrackerPredictor(checkpoint=str(files[COTRACKER3_OFFLINE.id]))
    tracker = CoTracker3Offline().load(files, torch.device("cpu"), torch.float32)
    frames = read_video(clips["pan_16f"]).frames[:3]  # short: CoTracker3 is slow on a CPU
    box = box_from_mask_png(soft_mask)
    for mask in (None, box):
        theirs = tracklets(predictor, frames, mask)
        ours = tracker.track(frames, 50, None if mask is None else mask[0, 0]) / torch.tensor([300.0, 200.0])
        record("CoTracker3 call" + (" with mask" if mask is not None else ""), "tracks (normalised)",
                float((ours - theirs).abs().max()), 0.0)  # fmt: skip
        torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)
    assert theirs.shape[0] == int(grid_point_mask(box[0, 0], 50).sum()) < 2500
