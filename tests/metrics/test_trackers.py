"""The tracker layer: CoTracker's grid, the CoTracker3 loader (against a stand-in checkout), LK."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from jtbench.errors import InputError, WeightsError
from jtbench.io.video import read_video
from jtbench.models.base import BACKBONES, ModelHub
from jtbench.models.trackers import (
    COTRACKER3_OFFLINE,
    CoTracker3Offline,
    CoTrackerTracker,
    LKSettings,
    LKTrackerBackbone,
    LucasKanadeTracker,
    cotracker_grid,
    find_cotracker_checkout,
    grid_in_pixels,
)
from jtbench.weights.resolve import WeightResolver


# -- grid ---------------------------------------------------------------------------------------
def test_grid_is_cotrackers_55x55_layout_on_the_384x512_canvas():
    grid = cotracker_grid()
    assert grid.shape == (3025, 2)
    margin = 512 / 64  # W / 64 = 8
    for i, j in [(0, 0), (0, 54), (54, 0), (54, 54), (17, 31), (40, 3)]:
        x = margin + j * (512 - 2 * margin) / 54
        y = margin + i * (384 - 2 * margin) / 54
        assert grid[i * 55 + j].tolist() == pytest.approx([x, y], abs=1e-4)  # row-major: y outer, x inner
    assert grid[0].tolist() == [8.0, 8.0] and grid[-1].tolist() == pytest.approx([504.0, 376.0])


def test_grid_in_pixels_uses_the_v3_predictor_rescaling():
    height, width = 480, 720
    pixels = grid_in_pixels(height, width)
    expected = cotracker_grid().double() * torch.tensor([(width - 1) / 511, (height - 1) / 383], dtype=torch.float64)
    torch.testing.assert_close(pixels.double(), expected, atol=1e-4, rtol=0)
    assert pixels[-1].tolist() == pytest.approx([504 * 719 / 511, 376 * 479 / 383], abs=1e-3)


# -- Lucas–Kanade stand-in ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def car_frame(shared_data) -> np.ndarray:
    """Frame 0 of car-turn, downscaled to 160×160 to keep LK cheap."""
    frame = read_video(shared_data / "motions" / "car_turn" / "car-turn.mp4").frames[0].numpy()
    return cv2.resize(frame, (160, 160), interpolation=cv2.INTER_AREA)


def _shifted(frame: np.ndarray, dx: float, dy: float) -> np.ndarray:
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(frame, matrix, frame.shape[1::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def test_lk_tracks_a_synthetic_translation(car_frame):
    dx, dy = 3.0, -2.0
    frames = torch.from_numpy(np.stack([car_frame, _shifted(car_frame, dx, dy), _shifted(car_frame, 2 * dx, 2 * dy)]))
    tracks = LucasKanadeTracker().track(frames)
    assert tracks.shape == (3025, 3, 2) and tracks.dtype == torch.float32
    torch.testing.assert_close(tracks[:, 0], grid_in_pixels(160, 160))
    interior = ((tracks[:, 0] > 12) & (tracks[:, 0] < 148)).all(dim=1)
    for t, factor in ((1, 1), (2, 2)):
        step = (tracks[interior, t] - tracks[interior, 0]).numpy()
        assert np.median(step, axis=0) == pytest.approx([factor * dx, factor * dy], abs=0.05)
        error = np.linalg.norm(step - [factor * dx, factor * dy], axis=1)
        assert np.quantile(error, 0.9) < 0.5


def test_lk_rejects_bad_frames():
    with pytest.raises(InputError, match="uint8 frames"):
        LucasKanadeTracker().track(torch.zeros(4, 8, 8, 3))
    with pytest.raises(InputError, match="at least 2 frames"):
        LucasKanadeTracker().track(torch.zeros(1, 8, 8, 3, dtype=torch.uint8))


def test_lk_backbone_round_trips_its_settings_file(tmp_path):
    backbone = LKTrackerBackbone()
    files = backbone.build_tiny(tmp_path, seed=0)
    assert json.loads(files[LKTrackerBackbone.CONFIG_ID].read_text())["win_size"] == 21
    files[LKTrackerBackbone.CONFIG_ID].write_text(json.dumps({**vars(LKSettings()), "win_size": 15}))
    assert backbone.load(files, torch.device("cpu"), torch.float32).settings.win_size == 15
    files[LKTrackerBackbone.CONFIG_ID].write_text("{not json")
    with pytest.raises(WeightsError, match="LK settings"):
        backbone.load(files, torch.device("cpu"), torch.float32)


def test_lk_is_registered_and_loads_through_the_tiny_hub(tiny_hub):
    assert BACKBONES.get("lk_tracker") is LKTrackerBackbone
    assert BACKBONES.get("cotracker3_offline") is CoTracker3Offline
    tracker = tiny_hub.get("lk_tracker")
    assert isinstance(tracker, LucasKanadeTracker) and not tracker.paper_tracker
    assert "lk_tracker" in tiny_hub.describe()["files"]


# -- CoTracker3 loader, against a stand-in checkout ----------------------------------------------
# A fake hubconf with CoTracker's predictor call signature: tracks = the v3 grid in pixels
# (computed here independently) moving by t × velocity, where velocity is the loaded weight.
FAKE_HUBCONF = textwrap.dedent(
    """
    import torch

    class _Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.velocity = torch.nn.Parameter(torch.randn(2))

    class _Predictor(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = _Model()
            self.calls = []

        def forward(self, video, queries=None, segm_mask=None, grid_size=0):
            self.calls.append((tuple(video.shape), video.dtype, float(video.max()), grid_size))
            b, t, _, h, w = video.shape
            m = 512 / 64
            ys = torch.linspace(m, 384 - m, grid_size)
            xs = torch.linspace(m, 512 - m, grid_size)
            pts = torch.tensor([[x, y] for y in ys.tolist() for x in xs.tolist()])
            pts = pts * torch.tensor([(w - 1) / 511, (h - 1) / 383])
            steps = torch.arange(t, dtype=torch.float32)[:, None, None] * self.model.velocity
            tracks = (pts[None] + steps)[None].expand(b, t, -1, 2)
            return tracks, torch.ones(b, t, pts.shape[0], dtype=torch.bool)

    def cotracker3_offline(*, pretrained=True, **kwargs):
        assert not pretrained, "jtbench must load the checkpoint itself"
        return _Predictor()
    """
)


@pytest.fixture
def fake_checkout(tmp_path, monkeypatch) -> Path:
    checkout = tmp_path / "co-tracker"
    checkout.mkdir()
    (checkout / "hubconf.py").write_text(FAKE_HUBCONF)
    monkeypatch.setenv("JTBENCH_COTRACKER_DIR", str(checkout))
    return checkout


@pytest.fixture
def no_checkout(tmp_path, monkeypatch):
    monkeypatch.delenv("JTBENCH_COTRACKER_DIR", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))


def test_cotracker_loads_from_a_local_checkout_and_checkpoint(fake_checkout, tmp_path):
    checkpoint = tmp_path / "scaled_offline.pth"
    torch.save({"velocity": torch.tensor([1.5, -0.5])}, checkpoint)
    tracker = CoTracker3Offline().load({COTRACKER3_OFFLINE.id: checkpoint}, torch.device("cpu"), torch.float32)
    assert isinstance(tracker, CoTrackerTracker) and tracker.paper_tracker

    frames = torch.randint(0, 256, (5, 30, 40, 3), dtype=torch.uint8)
    tracks = tracker.track(frames)
    assert tracks.shape == (3025, 5, 2)
    torch.testing.assert_close(tracks[:, 0], grid_in_pixels(30, 40), atol=1e-4, rtol=0)
    torch.testing.assert_close(tracks[:, 4] - tracks[:, 0], torch.tensor([6.0, -2.0]).expand(3025, 2))
    shape, dtype, peak, grid_size = tracker.predictor.calls[-1]
    assert shape == (1, 5, 3, 30, 40) and dtype == torch.float32 and grid_size == 55
    assert peak == float(frames.max())  # float 0–255, not normalised


def test_cotracker_build_tiny_writes_a_checkpoint_load_accepts(fake_checkout, tmp_path):
    backbone = CoTracker3Offline()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    files = backbone.build_tiny(tmp_path / "a", seed=3)
    again = backbone.build_tiny(tmp_path / "b", seed=3)
    velocity = torch.load(files[COTRACKER3_OFFLINE.id])["velocity"]
    torch.testing.assert_close(velocity, torch.load(again[COTRACKER3_OFFLINE.id])["velocity"])  # seeded
    hub = ModelHub(backbones="paper", resolver=WeightResolver(overrides=files))
    tracker = hub.get("cotracker3_offline")
    torch.testing.assert_close(tracker.predictor.model.velocity.detach(), velocity)


def test_cotracker_checkpoint_that_does_not_fit_is_a_weights_error(fake_checkout, tmp_path):
    checkpoint = tmp_path / "scaled_offline.pth"
    torch.save({"something_else": torch.zeros(3)}, checkpoint)
    with pytest.raises(WeightsError, match="does not fit") as info:
        CoTracker3Offline().load({COTRACKER3_OFFLINE.id: checkpoint}, torch.device("cpu"), torch.float32)
    assert str(checkpoint) in str(info.value)


def test_missing_cotracker_checkout_says_what_to_clone_and_where(no_checkout, tmp_path):
    assert find_cotracker_checkout() is None
    with pytest.raises(WeightsError) as info:
        CoTracker3Offline().load({COTRACKER3_OFFLINE.id: tmp_path / "x.pth"}, torch.device("cpu"), torch.float32)
    message = str(info.value)
    assert "git clone https://github.com/facebookresearch/co-tracker" in message
    assert "JTBENCH_COTRACKER_DIR" in message and "scaled_offline.pth" in message and "lk_tracker" in message
    with pytest.raises(WeightsError, match="git clone"):
        CoTracker3Offline().build_tiny(tmp_path, seed=0)


def test_cotracker_dir_without_hubconf_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("JTBENCH_COTRACKER_DIR", str(tmp_path))
    with pytest.raises(WeightsError, match="without hubconf.py"):
        find_cotracker_checkout()


def test_cotracker_checkpoint_is_catalogued_with_source_and_licence():
    assert COTRACKER3_OFFLINE.filename == "scaled_offline.pth"
    assert COTRACKER3_OFFLINE.urls == ("https://huggingface.co/facebook/cotracker3/resolve/main/scaled_offline.pth",)
    assert COTRACKER3_OFFLINE.torch_hub == "facebookresearch/co-tracker"
    assert "CC-BY-NC" in COTRACKER3_OFFLINE.licence
