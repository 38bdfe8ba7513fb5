"""Img-Q: VBench's preprocessing modes, the MUSIQ-SPAQ loader, and parity with VBench's own function."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from _vbench_dino_musiq_helpers import short_copy, synthetic_video, vbench_imaging_quality
from sample_media import CAR_TURN, SAMPLE_VIDEO
from weights_helpers import load_saved, offline_resolver, place

from jtbench.errors import InputError, WeightsError
from jtbench.io.video import read_video
from jtbench.metrics.base import METRICS, Sample, ScoringContext, create_metric
from jtbench.metrics.imaging_quality import (
    PREPROCESSING,
    ImagingQuality,
    musiq_scores,
    musiq_transform,
)
from jtbench.metrics.memory import COSTS
from jtbench.models.musiq import MUSIQ_SPAQ_WEIGHTS, MusiqSpaq, config_from_state_dict
from jtbench.weights.resolve import WeightResolver

TOLERANCE = 1e-4  # on the 0–100 scale, fp32


@pytest.fixture(scope="module")
def musiq(tiny_hub):
    return tiny_hub.get("musiq_spaq")


# -- preprocessing --------------------------------------------------------------------------
@pytest.mark.parametrize("mode", list(PREPROCESSING))
@pytest.mark.parametrize("size", [(600, 700), (480, 720), (384, 384), (700, 530)])
def test_transform_matches_vbench(mode, size):
    from vbench.imaging_quality import transform

    frames = torch.randint(0, 256, (2, *size, 3), dtype=torch.uint8)
    expected = transform(frames.permute(0, 3, 1, 2).float(), mode)
    torch.testing.assert_close(musiq_transform(frames, mode), expected, rtol=0, atol=0)


def test_longer_mode_sizes():
    def shape(h, w):
        return tuple(musiq_transform(torch.zeros(1, h, w, 3, dtype=torch.uint8)).shape[-2:])

    assert shape(480, 720) == (341, 512)
    assert shape(320, 576) == (284, 512)
    assert shape(384, 384) == (384, 384)
    assert musiq_transform(torch.full((1, 4, 4, 3), 255, dtype=torch.uint8)).max() == 1.0


# -- options and registry -------------------------------------------------------------------
def test_default_is_longer_and_recorded():
    metric = create_metric("Img-Q")
    assert metric.preprocessing_mode == "longer"
    assert (metric.spec.name, metric.spec.column, metric.spec.version) == ("imaging_quality", "Img-Q", "1-longer")
    assert metric.spec.paper


@pytest.mark.parametrize(
    ("mode", "name", "column"),
    [
        ("shorter", "imaging_quality_shorter", "Img-Q (shorter)"),
        ("shorter_centercrop", "imaging_quality_shorter_centercrop", "Img-Q (shorter centercrop)"),
        ("None", "imaging_quality_no_resize", "Img-Q (no resize)"),
    ],
)
def test_other_modes_report_under_their_own_name(mode, name, column):
    by_option = ImagingQuality(preprocessing_mode=mode)
    registered = create_metric(name)
    for metric in (by_option, registered):
        assert metric.preprocessing_mode == mode
        assert (metric.spec.name, metric.spec.column, metric.spec.version) == (name, column, f"1-{mode}")
        assert not metric.spec.paper
    assert METRICS.canonical(column) == name
    assert ImagingQuality.spec.column == "Img-Q"  # the class spec is untouched


def test_unknown_mode_is_rejected():
    with pytest.raises(InputError, match="preprocessing mode 'centercrop'"):
        ImagingQuality(preprocessing_mode="centercrop")


# -- the backbone ---------------------------------------------------------------------------
def test_config_of_the_published_architecture():
    from pyiqa.archs.musiq_arch import MUSIQ

    with torch.device("meta"):
        published = MUSIQ(pretrained=False, num_class=1)
    assert config_from_state_dict(published.state_dict(), MUSIQ_SPAQ_WEIGHTS.filename) == {
        "patch_size": 32,
        "num_class": 1,
        "hidden_size": 384,
        "mlp_dim": 1152,
        "num_heads": 6,
        "num_layers": 14,
        "num_scales": 3,
        "spatial_pos_grid_size": 10,
    }


def test_tiny_file_loads_like_the_published_one(tmp_path, musiq):
    """The tiny file is a plain state dict that pyiqa's own loader accepts (DataParallel prefix too)."""
    from pyiqa.archs.arch_util import load_pretrained_network

    files = MusiqSpaq().build_tiny(tmp_path, seed=7)
    state = torch.load(files[MUSIQ_SPAQ_WEIGHTS.id], weights_only=True)
    prefixed = tmp_path / "prefixed.pth"
    torch.save({"module." + k: v for k, v in state.items()}, prefixed)
    ours = MusiqSpaq().load({MUSIQ_SPAQ_WEIGHTS.id: prefixed}, torch.device("cpu"), torch.float32)
    theirs = type(musiq)(pretrained=False, num_class=1, hidden_size=128, mlp_dim=256, num_heads=2, num_layers=2)
    load_pretrained_network(theirs, str(files[MUSIQ_SPAQ_WEIGHTS.id]))
    theirs.training = False  # exactly VBench's switch
    x = torch.rand(1, 3, 96, 160)
    torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=0)
    assert not ours.training and not any(p.requires_grad for p in ours.parameters())


def test_load_rejects_a_foreign_checkpoint(tmp_path):
    with pytest.raises(WeightsError, match="not a pyiqa MUSIQ state dict"):
        load_saved(MusiqSpaq(), {"conv.weight": torch.zeros(3)}, tmp_path)


def test_weights_found_in_vbench_cache(tmp_path, monkeypatch):
    resolver = offline_resolver(tmp_path, monkeypatch)
    assert resolver.find(MUSIQ_SPAQ_WEIGHTS) is None
    vbench_file = place(tmp_path / "vbench" / "pyiqa_model" / "musiq_spaq_ckpt-358bb6af.pth")
    assert resolver.find(MUSIQ_SPAQ_WEIGHTS) == vbench_file


def test_batch_of_n_equals_per_frame(shared_data, musiq, monkeypatch):
    frames = read_video(CAR_TURN).frames[:3, ::2, ::2]  # 240x240 keeps it cheap
    one_by_one = musiq_scores(musiq, frames, batch_size=1)
    # the batched path a GPU takes (a CPU runs MUSIQ one frame at a time: COSTS' cpu_batch)
    monkeypatch.setitem(COSTS, "musiq_spaq", dataclasses.replace(COSTS["musiq_spaq"], cpu_batch=None))
    calls: list[int] = []
    batched = musiq_scores(_Counting(musiq, calls), frames, batch_size=3)
    assert calls == [3]
    torch.testing.assert_close(batched, one_by_one, rtol=0, atol=1e-4)
    assert one_by_one.std() > 0  # the tiny model does see the content


class _Counting(torch.nn.Module):
    """Records the batch size of every call."""

    def __init__(self, model: torch.nn.Module, calls: list[int]) -> None:
        super().__init__()
        self.model, self.calls = model, calls

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        self.calls.append(batch.shape[0])
        return self.model(batch)


def test_cpu_runs_musiq_a_frame_at_a_time(musiq):
    """Batched MUSIQ is slower on a CPU (measured in jtbench.metrics.memory): one frame per call there."""
    calls: list[int] = []
    musiq_scores(_Counting(musiq, calls), torch.zeros(3, 128, 128, 3, dtype=torch.uint8), batch_size=16)
    assert calls == [1, 1, 1]


# -- parity with VBench's own function ------------------------------------------------------
def _parity(path, hub, metric_name="imaging_quality", mode=None, batch_size=4):
    metric = create_metric(metric_name)
    ours = metric.score(Sample(read_video(path)), ScoringContext(hub=hub, batch_size=batch_size)).value
    reference = vbench_imaging_quality(hub.get("musiq_spaq"), path, mode)
    assert ours == pytest.approx(reference, abs=TOLERANCE)
    return ours


@pytest.mark.parametrize(
    ("source", "frames"),
    [(SAMPLE_VIDEO, 2), (CAR_TURN, 2)],
    ids=["sample-720x480-resized-to-341x512", "car-480x480-unchanged"],
)
def test_parity_with_vbench_on_real_videos(shared_data, tiny_hub, tmp_path, source, frames):
    _parity(short_copy(source, tmp_path / "clip.mp4", frames), tiny_hub)


def test_parity_with_vbench_two_frames_odd_sizes(tiny_hub, tmp_path):
    path = synthetic_video(tmp_path / "edge.mp4", frames=2, height=110, width=150)  # sides not multiples of 32
    _parity(path, tiny_hub, batch_size=1)


def test_parity_with_vbench_in_another_mode(tiny_hub, tmp_path):
    """A non-default mode reaches VBench's own code path through its keyword (resize itself: see above)."""
    path = synthetic_video(tmp_path / "small.mp4", frames=2, height=96, width=200)
    _parity(path, tiny_hub, metric_name="imaging_quality_no_resize", mode="None")


@pytest.mark.slow
def test_real_size_checkpoint_through_paper_mode(shared_data, tmp_path):
    """A MUSIQ-SPAQ-sized state dict, resolved and loaded as ``--backbones paper`` does."""
    from pyiqa.archs.musiq_arch import MUSIQ

    from jtbench.models.base import ModelHub

    weights = tmp_path / MUSIQ_SPAQ_WEIGHTS.filename
    torch.save(MUSIQ(pretrained=False, num_class=1).state_dict(), weights)
    resolver = WeightResolver(offline=True, overrides={MUSIQ_SPAQ_WEIGHTS.id: weights})
    hub = ModelHub(backbones="paper", precision="fp32", resolver=resolver)
    assert len(hub.get("musiq_spaq").transformer_encoder.transformer) == 14
    _parity(short_copy(SAMPLE_VIDEO, tmp_path / "clip.mp4", 2), hub)
