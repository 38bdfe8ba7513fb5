"""Bkgd-Con against VBench 0.1.5's own ``background_consistency`` with the very same model objects."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from jtbench.errors import InputError
from jtbench.io.video import read_video, write_video
from jtbench.metrics.background_consistency import vbench_consistency
from jtbench.metrics.base import Sample, ScoringContext, create_metric
from jtbench.models.clip import OpenAIClipViTB32

TOL = 1e-4  # on the 0–100 scale, fp32


@pytest.fixture(scope="module")
def bkgd_videos(shared_data, sample_video, tmp_path_factory) -> dict[str, Path]:
    from sample_media import CAR_TURN, downscale

    out = tmp_path_factory.mktemp("bkgd_videos")
    sample = read_video(sample_video).frames
    return {
        "sample_8fps_49f": sample_video,  # the real file, 720x480: all 49 frames
        "car_24fps": write_video(downscale(read_video(CAR_TURN).frames, 160, 160), out / "car.mp4", fps=24),
        "two_frames": write_video(downscale(sample[:2], 240, 360), out / "two.mp4", fps=8),
    }


def vbench_reference(clip_model, path: Path) -> float:
    """VBench's per-video value (``video_results``) ×100, as JointTuner keeps it."""
    from vbench.background_consistency import background_consistency

    _, per_video = background_consistency(clip_model.model, clip_model.preprocess, [str(path)], "cpu", False)
    return 100.0 * per_video[0]["video_results"]


@pytest.mark.parametrize("name", ["sample_8fps_49f", "car_24fps", "two_frames"])
def test_matches_vbench(name, bkgd_videos, tiny_hub):
    path = bkgd_videos[name]
    clip_model = tiny_hub.get(OpenAIClipViTB32.name)
    ctx = ScoringContext(hub=tiny_hub, batch_size=7)  # VBench encodes all frames at once
    ours = create_metric("Bkgd-Con").score(Sample(read_video(path)), ctx).value
    assert abs(ours - vbench_reference(clip_model, path)) <= TOL
    assert 0.0 <= ours <= 100.0


@pytest.mark.parametrize("name", ["car_24fps", "two_frames"])
def test_tensor_preprocessing_is_vbench_clip_transform(name, bkgd_videos):
    """Float bicubic resize without antialias + centre crop, on VBench's own decode of the same file."""
    from vbench.utils import clip_transform, load_video

    from jtbench.metrics.clip_preprocess import vbench_clip_pixels

    path = bkgd_videos[name]
    theirs = clip_transform(224)(load_video(str(path)))
    ours = vbench_clip_pixels(read_video(path).frames)
    assert ours.shape == theirs.shape
    assert torch.allclose(ours, theirs, atol=1e-5, rtol=0)


def test_fp16_model_matches_vbench_with_the_same_fp16_model(bkgd_videos, tiny_hub):
    """The anchor's CUDA precision (fp16 matmuls) on CPU: similarities stay in the model dtype as in VBench."""
    from jtbench.models.base import ModelHub

    hub = ModelHub(backbones="tiny", device="cpu", precision="fp16", tiny_dir=tiny_hub.tiny_dir)
    clip_model = hub.get(OpenAIClipViTB32.name)
    assert clip_model.model.visual.proj.dtype == torch.float16
    path = bkgd_videos["car_24fps"]
    ctx = ScoringContext(hub=hub, batch_size=64)  # one batch, as VBench
    ours = create_metric("Bkgd-Con").score(Sample(read_video(path)), ctx).value
    assert abs(ours - vbench_reference(clip_model, path)) <= TOL


class _FeatureClip:
    """Stands in for a CLIP model inside VBench's loop: returns crafted per-frame features."""

    def __init__(self, features: torch.Tensor) -> None:
        self.features = features

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        assert images.shape[0] == self.features.shape[0]
        return self.features


def test_formula_matches_vbench_with_negative_and_nan_similarities(tmp_path):
    """Clamp at 0 on both terms, NaN → 0 (Python max), first-frame term, /(T−1): VBench's own loop decides."""
    from vbench.background_consistency import background_consistency

    features = torch.tensor(
        [
            [1.0, 0.0, 0.0],
            [0.6, 0.8, 0.0],  # cos to previous 0.6, to first 0.6
            [-1.0, 0.0, 0.0],  # cos to previous -0.6 → 0, to first -1 → 0
            [0.0, 0.0, 0.0],  # zero vector: cosine 0 after the epsilon
            [float("nan"), 0.0, 1.0],  # NaN similarities → 0
            [0.0, 1.0, 1.0],
        ]
    )
    video = write_video(torch.zeros(len(features), 32, 32, 3, dtype=torch.uint8), tmp_path / "v.mp4", fps=8)
    _, per_video = background_consistency(_FeatureClip(features), None, [str(video)], "cpu", False)
    assert vbench_consistency(features) == pytest.approx(per_video[0]["video_results"], abs=1e-12)
    expected = ((0.6 + 0.6) / 2 + 0 + 0 + 0 + (0 + 0) / 2) / 5
    assert vbench_consistency(features) == pytest.approx(expected, abs=1e-7)


def test_one_frame_video_is_an_input_error(bkgd_videos, tiny_hub):
    video = read_video(bkgd_videos["two_frames"]).select([0])
    with pytest.raises(InputError, match="at least 2 frames"):
        create_metric("background_consistency").score(Sample(video), ScoringContext(hub=tiny_hub))


def test_spec():
    spec = create_metric("Bkgd-Con").spec
    assert spec.column == "Bkgd-Con" and spec.backbones == ("clip_vit_b_32",)
    assert not (spec.needs_prompt or spec.needs_reference_image or spec.needs_reference_video)
    assert "background_consistency.py" in spec.source
