"""Aesth-Q against VBench 0.1.5's own ``laion_aesthetic`` with the very same CLIP and head objects."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from jtbench.io.video import read_video, write_video
from jtbench.metrics.aesthetic_quality import laion_aesthetic_scores
from jtbench.metrics.base import Sample, ScoringContext, create_metric
from jtbench.models.clip import TINY_VIT_L_14, LaionAestheticLinear, OpenAIClipViTL14

TOL = 1e-4  # on the 0–100 scale, fp32


@pytest.fixture(scope="module")
def aesth_videos(shared_data, sample_video, tmp_path_factory) -> dict[str, Path]:
    from sample_media import CAR_TURN, downscale

    out = tmp_path_factory.mktemp("aesth_videos")
    sample = read_video(sample_video).frames
    return {
        # 49 real frames: more than VBench's batch of 32, so its batching is exercised.
        "sample_49f_small": write_video(downscale(sample, 240, 360), out / "sample.mp4", fps=8),
        "car_24fps": write_video(downscale(read_video(CAR_TURN).frames, 160, 160), out / "car.mp4", fps=24),
        "two_frames": write_video(downscale(sample[:2], 240, 360), out / "two.mp4", fps=8),
    }


def vbench_reference(clip_model, head, path: Path) -> float:
    from vbench.aesthetic_quality import laion_aesthetic

    _, per_video = laion_aesthetic(head, clip_model.model, [str(path)], "cpu")
    return 100.0 * per_video[0]["video_results"]


@pytest.mark.parametrize("name", ["sample_49f_small", "car_24fps", "two_frames"])
def test_matches_vbench(name, aesth_videos, tiny_hub):
    path = aesth_videos[name]
    clip_model, head = tiny_hub.get(OpenAIClipViTL14.name), tiny_hub.get(LaionAestheticLinear.name)
    ctx = ScoringContext(hub=tiny_hub, batch_size=10)  # VBench: batches of 32
    ours = create_metric("Aesth-Q").score(Sample(read_video(path)), ctx).value
    assert abs(ours - vbench_reference(clip_model, head, path)) <= TOL


def test_head_reads_normalised_fp32_features_and_divides_by_ten():
    head = torch.nn.Linear(3, 1)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[10.0, 20.0, 30.0]]))
        head.bias.fill_(5.0)
    features = torch.tensor([[3.0, 0.0, 4.0], [0.0, 2.0, 0.0]], dtype=torch.float16)
    # normalised: [0.6, 0, 0.8] → 6 + 24 + 5 = 35 → 3.5; [0, 1, 0] → 25 → 2.5
    assert torch.allclose(laion_aesthetic_scores(features, head), torch.tensor([3.5, 2.5]), atol=1e-5)


def test_tiny_head_fits_tiny_vit_l_14(tiny_hub):
    head = tiny_hub.get(LaionAestheticLinear.name)
    clip_model = tiny_hub.get(OpenAIClipViTL14.name)
    assert head.in_features == TINY_VIT_L_14["embed_dim"] == clip_model.model.visual.output_dim
    assert next(head.parameters()).dtype == torch.float32


def test_spec():
    spec = create_metric("Aesth-Q").spec
    assert spec.column == "Aesth-Q"
    assert spec.backbones == ("clip_vit_l_14", "laion_aesthetic_linear")
    assert not (spec.needs_prompt or spec.needs_reference_image)
