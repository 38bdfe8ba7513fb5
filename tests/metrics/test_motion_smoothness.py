"""Mot-Smth: formula pieces on stub interpolators, and parity with VBench's own scorer on tiny AMT-S."""

from __future__ import annotations

import pytest
import torch
from _amt_raft_helpers import (
    FixedHub,
    moving_pattern,
    png_folder,
    small_copy,
    vbench_motion_smoothness,
    vbench_motion_value,
)
from fresh_python import run_python
from sample_media import BICYCLE_CLIPS, CAR_TURN, SAMPLE_VIDEO
from weights_helpers import load_saved

from jtbench.errors import VideoError, WeightsError
from jtbench.io.video import VideoClip, read_video
from jtbench.metrics.base import Sample, ScoringContext, create_metric
from jtbench.metrics.motion_smoothness import MotionSmoothness, motion_smoothness, pair_errors, smoothness_score
from jtbench.models.amt import AMT_S_WEIGHTS, AmtS, amt_s_params
from jtbench.models.base import BACKBONES, ModelHub

TOLERANCE = 1e-4  # on the 0–100 scale


@pytest.fixture(autouse=True)
def gpu_batching(monkeypatch):
    """The batched path a GPU takes: a CPU runs some backbones one item per call (COSTS' cpu_batch)."""
    import dataclasses

    from jtbench.metrics.memory import COSTS

    for name, model in list(COSTS.items()):
        if model.cpu_batch is not None:
            monkeypatch.setitem(COSTS, name, dataclasses.replace(model, cpu_batch=None))


class ConstantInterpolator(torch.nn.Module):
    """Predicts a fixed grey level for every pixel; records what AMT would have been called with."""

    def __init__(self, level: float) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.level = level
        self.calls: list[tuple[int, float, float]] = []

    def forward(self, img0, img1, embt, scale_factor=1.0, eval=False):
        assert eval and img0.shape == img1.shape and img0.shape[-2] % 16 == 0 and img0.shape[-1] % 16 == 0
        self.calls.append((img0.shape[0], float(embt.flatten()[0]), scale_factor))
        return {"imgt_pred": torch.full_like(img0, self.level)}


def _clip(frames: torch.Tensor) -> VideoClip:
    return VideoClip(frames, 8.0, None, "stub")


def _score_with(model: torch.nn.Module, frames: torch.Tensor, batch_size: int = 16) -> float:
    ctx = ScoringContext(hub=FixedHub(amt_s=model), batch_size=batch_size)  # type: ignore[arg-type]
    return MotionSmoothness().score(Sample(video=_clip(frames)), ctx).value


def test_registered_under_paper_names():
    metric = create_metric("Mot-Smth")
    assert isinstance(metric, MotionSmoothness)
    assert metric.spec.column == "Mot-Smth" and metric.spec.backbones == ("amt_s",)
    assert BACKBONES.get("amt_s") is AmtS
    assert AMT_S_WEIGHTS.vbench_path == "amt_model/amt-s.pth"
    assert amt_s_params() == {"corr_radius": 3, "corr_lvls": 4, "num_flows": 3}


def test_hand_computed_score_and_call_convention():
    """Evens at 10, odd frames at 13 and 7, predictions at 10 → mean error 3 → (255 − 3)/255 ×100."""
    frames = torch.full((5, 128, 144, 3), 10, dtype=torch.uint8)
    frames[1], frames[3] = 13, 7
    model = ConstantInterpolator((10 + 0.5) / 255)
    assert _score_with(model, frames, batch_size=16) == pytest.approx((255 - 3) / 255 * 100, abs=1e-12)
    assert model.calls == [(2, 0.5, 1.0)]  # one batch of both pairs, embt 0.5, scale 1


def test_prediction_is_truncated_not_rounded():
    """(k + 0.9)/255 becomes k, as VBench's astype(uint8): against targets k the error is 0, not 1."""
    frames = torch.full((3, 128, 128, 3), 200, dtype=torch.uint8)
    assert _score_with(ConstantInterpolator((200 + 0.9) / 255), frames) == 100.0
    frames[1] = 201
    assert _score_with(ConstantInterpolator((200 + 0.9) / 255), frames) == pytest.approx(254 / 255 * 100)


def test_even_length_ignores_the_last_frame():
    frames = torch.from_numpy(moving_pattern(6, 128, 128))
    model = ConstantInterpolator(0.5)
    base = _score_with(model, frames)
    changed_last = frames.clone()
    changed_last[5] = 0
    assert _score_with(model, changed_last) == base
    changed_odd = frames.clone()
    changed_odd[3] = 0
    assert _score_with(model, changed_odd) != base
    assert sum(n for n, _, _ in model.calls) == 2 * 3  # 3 inputs → 2 predictions per call


def test_batching_is_chunked():
    frames = torch.from_numpy(moving_pattern(9, 128, 128))
    model = ConstantInterpolator(0.25)
    assert _score_with(model, frames, batch_size=3) == _score_with(model, frames, batch_size=16)
    assert [n for n, _, _ in model.calls] == [3, 1, 4]


def test_pure_pieces():
    targets = torch.tensor([[[[0, 10, 255]]], [[[5, 5, 5]]]], dtype=torch.uint8)
    preds = torch.tensor([[[[255, 0, 0]]], [[[5, 5, 8]]]], dtype=torch.uint8)
    assert pair_errors(targets, preds) == [(255 + 10 + 255) / 3, 1.0]
    assert smoothness_score([0.0, 0.0]) == 100.0
    assert smoothness_score([25.5, 76.5]) == pytest.approx(80.0)


@pytest.mark.parametrize(("count", "size"), [(1, 128), (2, 128), (5, 64), (5, 100)])
def test_undefined_inputs_raise(count, size):
    frames = torch.zeros((count, size, 160, 3), dtype=torch.uint8)
    with pytest.raises(VideoError, match="Mot-Smth needs"):
        motion_smoothness(ConstantInterpolator(0.5), frames)


def test_bad_checkpoint_is_named(tmp_path):
    with pytest.raises(WeightsError, match="state_dict"):
        load_saved(AmtS(), {"model": {}}, tmp_path)


# -- parity with VBench on the tiny (seeded, real-architecture) AMT-S ---------------------------------
@pytest.fixture(scope="module")
def amt(tiny_hub):
    return tiny_hub.get("amt_s")


@pytest.fixture(scope="module")
def vbench_scorer(tiny_hub):
    return vbench_motion_smoothness(tiny_hub.files("amt_s")["amt-s"])


@pytest.fixture(scope="module")
def clips(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("mot_smth_clips")
    return {
        "sample": small_copy(SAMPLE_VIDEO, root / "sample.mp4", height=128, width=192, max_frames=17),
        "car_turn": small_copy(CAR_TURN, root / "car.mp4", height=128, width=128),
        "bicycle_25fps": small_copy(BICYCLE_CLIPS[0], root / "bike.mp4", height=128, width=228, max_frames=12),
    }


@pytest.fixture(scope="module")
def vbench_values(clips, vbench_scorer, tmp_path_factory):
    """VBench's value per clip, computed once (its batch-1 AMT calls dominate the test time).

    VBench reads the frames jtbench decoded, as lossless PNGs (its image-folder path), so the
    exact comparison below is one of the computation alone: whether OpenCV decodes the mp4 to the
    same bits as PyAV is a property of two ffmpeg builds, tested apart (tests/unit/test_video.py).
    """
    cache: dict[str, float] = {}

    def value(name: str) -> float:
        if name not in cache:
            folder, _ = png_folder(read_video(clips[name]).frames.numpy(), tmp_path_factory.mktemp(f"png_{name}"))
            cache[name] = vbench_motion_value(vbench_scorer, folder)
        return cache[name]

    return value


def test_vbench_loads_our_checkpoint_strictly(amt, vbench_scorer):
    ours, theirs = amt.state_dict(), vbench_scorer.model.state_dict()
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert sum(p.numel() for p in amt.parameters()) == 2_990_543


@pytest.mark.parametrize("name", ["sample", "car_turn", "bicycle_25fps"])
def test_parity_with_vbench_on_real_clips(name, clips, vbench_values, tiny_hub):
    ctx = ScoringContext(hub=tiny_hub, batch_size=8)
    value = MotionSmoothness().score(Sample(video=read_video(clips[name])), ctx)
    assert abs(value.value - vbench_values(name)) <= TOLERANCE
    assert value.note is None


@pytest.mark.parametrize("name", ["car_turn", "sample"])  # unpadded 128x128 and padded 128x192
def test_batch_one_reproduces_vbench_exactly(name, clips, amt, vbench_values):
    assert motion_smoothness(amt, read_video(clips[name]).frames, batch_size=1) == vbench_values(name)


@pytest.mark.parametrize(("count", "height", "width"), [(3, 131, 141), (4, 133, 160)])
def test_parity_on_odd_sizes(count, height, width, tmp_path, amt, vbench_scorer):
    folder, clip = png_folder(moving_pattern(count, height, width, seed=count), tmp_path / "frames")
    expected = vbench_motion_value(vbench_scorer, folder)
    assert abs(motion_smoothness(amt, clip.frames, batch_size=4) - expected) <= TOLERANCE


def test_vbench_also_refuses_two_frames(tmp_path, vbench_scorer):
    folder, clip = png_folder(moving_pattern(2, 128, 128), tmp_path / "two")
    with pytest.raises(AssertionError):
        vbench_motion_value(vbench_scorer, folder)


def test_reduced_precision_runs_under_autocast(tiny_hub, amt):
    """--precision bf16 is an explicit, non-anchor choice: weights in bf16, AMT's fp32 grids under autocast."""
    hub = ModelHub(backbones="tiny", device="cpu", precision="bf16", tiny_dir=tiny_hub.tiny_dir)
    model = hub.get("amt_s")
    assert next(model.parameters()).dtype == torch.bfloat16
    frames = torch.from_numpy(moving_pattern(3, 128, 128))
    value = motion_smoothness(model, frames)
    assert 0.0 <= value <= 100.0
    assert abs(value - motion_smoothness(amt, frames)) < 10.0


@pytest.mark.slow
def test_full_size_sample_parity(sample_video, amt, vbench_scorer):
    """The 49-frame 720×480 JointTuner sample at full size (24 AMT-S pairs per side, minutes on CPU)."""
    ours = motion_smoothness(amt, read_video(sample_video).frames, batch_size=4)
    assert abs(ours - vbench_motion_value(vbench_scorer, sample_video)) <= TOLERANCE


@pytest.mark.parametrize(("path", "frames", "pairs"), [(SAMPLE_VIDEO, 49, 24), (CAR_TURN, 16, 7)])
def test_recorded_pair_counts(path, frames, pairs, shared_data):
    """Recorded facts: 49 frames → 24 AMT predictions (all frames used); 16 → 7 (frame 15 unused)."""
    clip = read_video(path)
    model = ConstantInterpolator(0.5)
    _score_with(model, clip.frames, batch_size=64)
    assert clip.num_frames == frames and sum(n for n, _, _ in model.calls) == pairs


def test_amt_import_leaves_sys_path_alone():
    """AMT-S is loaded from the vbench wheel by file path, not by VBench's sys.path injection."""
    code = (
        "import sys; before = list(sys.path)\n"
        "from jtbench.models.amt import build_amt_s\n"
        "model = build_amt_s()\n"
        "assert sys.path == before, set(sys.path) ^ set(before)\n"
        "assert 'networks' not in sys.modules\n"
        "print(type(model).__module__)\n"
    )
    assert run_python(code).strip() == "vbench.third_party.amt.networks.AMT_S"


def test_the_scale_quirk_rests_on_device_comparison():
    """VBench downsizes only when ``self.device == 'cuda'``; the device objects its callers pass never are."""
    assert (torch.device("cuda") == "cuda") is False
    assert (torch.device("cuda:0") == "cuda") is False


def test_a_cpu_interpolates_one_pair_per_call(monkeypatch):
    """On a CPU AMT runs pair by pair (measured faster than batches there), whatever --batch-size says."""
    import dataclasses

    from jtbench.metrics.memory import COSTS

    monkeypatch.setitem(COSTS, "amt_s", dataclasses.replace(COSTS["amt_s"], cpu_batch=1))  # undo gpu_batching
    frames = torch.from_numpy(moving_pattern(7, 128, 128))
    model = ConstantInterpolator(0.25)
    _score_with(model, frames, batch_size=16)
    assert [n for n, _, _ in model.calls] == [1, 1, 1]


def test_amt_loads_without_decord():
    """The offline GPU bundle has no decord, which ``import vbench`` needs: AMT-S still builds."""
    code = (
        "import sys; sys.modules['decord'] = None  # not installed\n"
        "from jtbench.models.amt import build_amt_s\n"
        "model = build_amt_s()\n"
        "print(type(model).__module__, sum(p.numel() for p in model.parameters()))\n"
    )
    assert run_python(code).split() == ["vbench.third_party.amt.networks.AMT_S", "2990543"]
