"""Dyn-Deg: parameters, decision rule and RAFT key map, and parity with VBench's own scorer on tiny RAFT."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _amt_raft_helpers import (
    moving_pattern,
    png_folder,
    short_copy,
    small_copy,
    vbench_dynamic_degree,
    vbench_dynamic_run,
)
from sample_media import BICYCLE_CLIPS, CAR_TURN, SAMPLE_VIDEO
from weights_helpers import load_saved

from jtbench.errors import WeightsError
from jtbench.io.video import read_video
from jtbench.metrics.base import Sample, ScoringContext, create_metric
from jtbench.metrics.dynamic_degree import (
    DynamicDegree,
    DynamicParams,
    analyse,
    dynamic_params,
    is_dynamic,
    kept_indices,
    pair_scores,
    top_magnitude_score,
)
from jtbench.models.base import BACKBONES, ModelHub
from jtbench.models.raft import (
    RAFT_THINGS,
    RaftLarge,
    build_raft_large,
    raft_consecutive_flows,
    raft_flow,
    to_original_keys,
    to_torchvision_keys,
)

SCORE_TOLERANCE = 1e-4  # per-pair top-5 % flow magnitude, in pixels


def _vbench_bare():
    """VBench's DynamicDegree without a model, for its pure methods (set_params, get_score, check_move)."""
    from vbench.dynamic_degree import DynamicDegree as VBenchDynamicDegree

    return object.__new__(VBenchDynamicDegree)


def test_registered_under_paper_names():
    metric = create_metric("Dyn-Deg")
    assert isinstance(metric, DynamicDegree)
    assert metric.spec.column == "Dyn-Deg" and metric.spec.backbones == ("raft_large",)
    assert BACKBONES.get("raft_large") is RaftLarge
    assert RAFT_THINGS.vbench_path == "raft_model/models/raft-things.pth"


@pytest.mark.parametrize(("kept", "count_num"), [(1, 0), (2, 0), (6, 2), (10, 2), (14, 4), (16, 4), (24, 6), (49, 12)])
def test_count_num_uses_bankers_rounding(kept, count_num):
    assert dynamic_params(480, 720, kept).count_num == count_num
    vb = _vbench_bare()
    vb.set_params(frame=torch.zeros(1, 3, 480, 720), count=kept)
    assert vb.params["count_num"] == count_num


@pytest.mark.parametrize(("height", "width", "thres"), [(480, 720, 11.25), (320, 576, 7.5), (384, 384, 9.0)])
def test_threshold_from_the_short_side(height, width, thres):
    assert dynamic_params(height, width, 16).threshold == thres


def test_recorded_facts_on_the_sample_video(sample_video):
    """The 49-frame 720×480 JointTuner sample: 49 frames kept at 8 fps, threshold 11.25, count 12."""
    clip = read_video(sample_video)
    kept = kept_indices(clip.num_frames, clip.fps)
    assert (clip.fps, len(kept)) == (8.0, 49)
    assert dynamic_params(clip.height, clip.width, len(kept)) == DynamicParams(threshold=11.25, count_num=12)
    vb = _vbench_bare()
    vb.device = "cpu"
    frames = vb.get_frames(str(SAMPLE_VIDEO))  # VBench's own reader (OpenCV, fps stride)
    vb.set_params(frame=frames[0], count=len(frames))
    assert vb.params == {"thres": 11.25, "count_num": 12}


@pytest.mark.parametrize(("fps", "stride"), [(8.0, 1), (4.0, 1), (12.0, 2), (20.0, 2), (25.0, 3), (30000 / 1001, 4)])
def test_fps_stride_rounds(fps, stride):
    assert kept_indices(13, fps) == list(range(0, 13, stride))


@pytest.mark.parametrize(
    ("scores", "params"),
    [
        ([], DynamicParams(1.0, 0)),
        ([0.1], DynamicParams(1.0, 0)),  # count_num 0: one pair makes the video dynamic, whatever its motion
        ([0.5, 2.0, 0.5, 3.0], DynamicParams(1.0, 2)),
        ([0.5, 2.0, 0.5, 1.0], DynamicParams(1.0, 2)),  # equal to the threshold does not count
        ([math.nan, math.nan, 5.0], DynamicParams(1.0, 1)),
        ([math.nan, math.nan], DynamicParams(1.0, 1)),
    ],
)
def test_decision_matches_vbench_check_move(scores, params):
    vb = _vbench_bare()
    vb.params = {"thres": params.threshold, "count_num": params.count_num}
    assert is_dynamic(scores, params) == vb.check_move(scores)
    assert is_dynamic([], DynamicParams(0.0, 0)) is False


def test_top_magnitude_score_by_hand():
    """An 8×10 map (cut = int(80 · 0.05) = 4): magnitudes 5·k from 3-4-5 vectors; the top four are 5·(77…80)."""
    k = torch.arange(1, 81, dtype=torch.float32).reshape(8, 10)
    flow = torch.stack([3 * k, -4 * k])
    assert top_magnitude_score(flow) == pytest.approx(5 * (77 + 78 + 79 + 80) / 4, rel=1e-7)


@pytest.mark.parametrize(("height", "width", "scale"), [(40, 56, 3.0), (136, 144, 0.01), (480, 720, 40.0)])
def test_top_magnitude_score_is_vbenchs_bit_for_bit(height, width, scale):
    """Exact by construction (numpy, float32, VBench's operation order), so on any CPU: torch's
    float32 sqrt is one ulp off numpy's for some values (an AMD EPYC, torch 2.14: its AVX-512 and
    AVX2 kernels alike)."""
    rng = np.random.default_rng(height)
    flow = torch.from_numpy(rng.normal(0, scale, (2, height, width)).astype(np.float32))
    flow[:, :2, :3] = 10 * scale  # six equal magnitudes, all in the top 5 %
    expected = _vbench_bare().get_score(torch.zeros(1, 3, height, width), flow[None])
    assert top_magnitude_score(flow) == expected
    assert top_magnitude_score(flow.permute(0, 2, 1).contiguous().permute(0, 2, 1)) == expected  # any layout


def test_key_map_round_trips_the_original_layout():
    from easydict import EasyDict
    from vbench.third_party.RAFT.core.raft import RAFT

    original = RAFT(EasyDict(small=False, mixed_precision=False, alternate_corr=False)).state_dict()
    renamed = to_torchvision_keys({f"module.{k}": v for k, v in original.items()})
    assert len(original) == 179 and len(renamed) == 169
    assert set(renamed) == set(build_raft_large().state_dict())
    back = to_original_keys(renamed, prefix="")
    assert set(back) == set(original)
    assert all(torch.equal(back[k], original[k]) for k in original)  # incl. the duplicated norm3 entries


def test_bad_checkpoints_are_named(tmp_path):
    with pytest.raises(WeightsError, match="not a RAFT state dict"):
        load_saved(RaftLarge(), {}, tmp_path)
    with pytest.raises(WeightsError, match="does not match RAFT-large"):
        load_saved(RaftLarge(), {"module.fnet.conv1.weight": torch.zeros(1)}, tmp_path)


# -- parity with VBench on the tiny (seeded, real-architecture) RAFT-large --------------------------------
@pytest.fixture(scope="module")
def raft(tiny_hub):
    return tiny_hub.get("raft_large")


@pytest.fixture(scope="module")
def vbench_scorer(tiny_hub):
    return vbench_dynamic_degree(tiny_hub.files("raft_large")["raft-things"])


def test_vbench_raft_gives_the_same_flow_from_our_file(raft, vbench_scorer):
    """VBench's vendored RAFT, loaded by VBench from our raft-things-format file, vs torchvision's."""
    x = torch.from_numpy(moving_pattern(2, 128, 136)).permute(0, 3, 1, 2).float()
    with torch.no_grad():
        _, theirs = vbench_scorer.model(x[:1], x[1:], iters=20, test_mode=True)
    ours = raft_flow(raft, x[:1], x[1:])
    assert torch.allclose(ours, theirs, atol=1e-5, rtol=0)
    assert sum(p.numel() for p in raft.parameters()) == 5_257_536


def test_consecutive_flows_equal_torchvisions_forward_per_pair(raft):
    """Features shared between pairs and only the last update upsampled: the same flows."""
    x = torch.from_numpy(moving_pattern(4, 128, 136, speed=3)).permute(0, 3, 1, 2).float()
    shared = raft_consecutive_flows(raft, x)
    per_pair = torch.cat([raft_flow(raft, x[i : i + 1], x[i + 1 : i + 2]) for i in range(3)])
    assert shared.shape == per_pair.shape == (3, 2, 128, 136)
    assert torch.allclose(shared, per_pair, atol=1e-5, rtol=0)


@pytest.fixture(scope="module")
def clips(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("dyn_deg_clips")
    return {
        "car_turn_8fps": small_copy(CAR_TURN, root / "car.mp4", height=128, width=128),
        "bicycle_25fps": small_copy(BICYCLE_CLIPS[0], root / "bike25.mp4", height=128, width=228, max_frames=19),
        "bicycle_29.97fps": small_copy(BICYCLE_CLIPS[1], root / "bike30.mp4", height=128, width=228, max_frames=17),
    }


def _assert_same(ours, theirs):
    dynamic, scores, params = theirs
    assert (ours.params.threshold, ours.params.count_num) == (params["thres"], params["count_num"])
    assert len(ours.scores) == len(scores)
    np.testing.assert_allclose(ours.scores, scores, rtol=0, atol=SCORE_TOLERANCE)
    assert ours.dynamic == dynamic


@pytest.mark.parametrize(("name", "kept"), [("car_turn_8fps", 16), ("bicycle_25fps", 7), ("bicycle_29.97fps", 5)])
def test_parity_with_vbench_on_real_clips(name, kept, clips, raft, vbench_scorer):
    path = clips[name]
    ours = analyse(raft, read_video(path), batch_size=8)
    assert len(ours.kept) == kept
    _assert_same(ours, vbench_dynamic_run(vbench_scorer, path))


@pytest.mark.parametrize(
    ("count", "height", "width", "expect_note"),
    [
        (3, 131, 141, False),  # odd size, centred replicate padding to 136×144
        (2, 128, 128, True),  # count_num 0: dynamic whatever the flow
        (1, 128, 128, True),  # no pair: static
        (3, 64, 96, True),  # too small for the pyramid: NaN flow in VBench, static
    ],
)
def test_parity_on_synthetic_edge_cases(count, height, width, expect_note, tmp_path, raft, vbench_scorer):
    folder, clip = png_folder(moving_pattern(count, height, width, seed=count, speed=3), tmp_path / "frames")
    ours = analyse(raft, clip, batch_size=8)
    theirs = vbench_dynamic_run(vbench_scorer, folder)
    if height < 128:
        assert np.isnan(ours.scores).all() and np.isnan(theirs[1]).all()
        assert ours.dynamic is theirs[0] is False
    else:
        _assert_same(ours, theirs)
    assert (ours.note is not None) == expect_note
    if count == 2:
        assert ours.dynamic is True


@pytest.mark.parametrize(("count", "expected"), [(1, 0.0), (2, 100.0)])
def test_metric_reports_0_or_100_with_notes(count, expected, tiny_hub, tmp_path):
    clip = png_folder(moving_pattern(count, 128, 128), tmp_path)[1]
    value = DynamicDegree().score(Sample(video=clip), ScoringContext(hub=tiny_hub, batch_size=8))
    assert value.value == expected
    assert value.note is not None and ("no pair" if count == 1 else "count_num is 0") in value.note


def test_reduced_precision_runs_under_autocast(tiny_hub, raft):
    """--precision bf16 is an explicit, non-anchor choice: weights in bf16, RAFT's fp32 grids under autocast."""
    hub = ModelHub(backbones="tiny", device="cpu", precision="bf16", tiny_dir=tiny_hub.tiny_dir)
    model = hub.get("raft_large")
    assert next(model.parameters()).dtype == torch.bfloat16
    frames = torch.from_numpy(moving_pattern(2, 128, 128))
    (low,), (full,) = pair_scores(model, frames), pair_scores(raft, frames)
    assert math.isfinite(low) and low == pytest.approx(full, rel=0.2)


@pytest.mark.slow
def test_full_size_parity_on_the_sample_start(sample_video, tmp_path, raft, vbench_scorer):
    """The sample's first 6 frames at full 720×480 (5 RAFT pairs per side at ~24 s each on CPU)."""
    path = short_copy(sample_video, tmp_path / "sample6.mp4", 6)
    ours = analyse(raft, read_video(path), batch_size=5)
    assert ours.params == DynamicParams(threshold=11.25, count_num=2)
    _assert_same(ours, vbench_dynamic_run(vbench_scorer, path))
