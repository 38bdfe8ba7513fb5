"""CLIP-T / CLIP-I against JointTuner's clip_score.py formula, re-expressed plainly with the same tiny model."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
import torch
from _jointtuner_reference import jt_split_video_to_rgb_images
from PIL import Image
from sample_media import BICYCLE_CLIPS, CAR_TURN, downscale

from jtbench.errors import InputError
from jtbench.io.video import read_video, write_video
from jtbench.metrics.base import Sample, ScoringContext, create_metric
from jtbench.models.clip import OpenAIClipViTB32

PROMPT = "A bear plushie playing the flute on the grass."
TOL = 1e-4  # on the 0–100 scale, fp32


@pytest.fixture(scope="module")
def clip_videos(shared_data, sample_video, tmp_path_factory) -> dict[str, Path]:
    """The real sample video plus small re-encoded real clips at awkward frame rates."""
    out = tmp_path_factory.mktemp("clip_videos")
    sample = read_video(sample_video).frames
    car = read_video(CAR_TURN).frames
    bike = read_video(BICYCLE_CLIPS[1]).frames[:24]  # the 29.97-fps clip
    return {
        "sample_8fps_49f": sample_video,
        "car_24fps": write_video(downscale(car, 160, 160), out / "car_24fps.mp4", fps=24),
        "bike_29.97fps": write_video(downscale(bike, 168, 298), out / "bike.mp4", fps=float(Fraction(30000, 1001))),
        "two_frames": write_video(downscale(sample[:2], 240, 360), out / "two.mp4", fps=8),
        "seven_fps": write_video(downscale(sample[:9], 96, 144), out / "seven.mp4", fps=7),
    }


# -- the reference: JointTuner's metrics/clip_score.py + tools.split_video_to_rgb_images -------------
@torch.no_grad()
def jt_clip_score(model, preprocess, real_pixels: torch.Tensor, target, flag: str, batch_size: int = 8) -> float:
    """Loop in batches; each batch pairs frames with a copy of the target; sum of scores / frames.

    ``real_pixels`` are the frames through ``preprocess`` (done once for CLIP-T and CLIP-I).
    """
    import clip

    logit_scale = model.logit_scale.exp()
    score_acc, sample_num = 0.0, 0
    for start in range(0, len(real_pixels), batch_size):
        real = real_pixels[start : start + batch_size]
        real_features = model.encode_image(real)
        if flag == "txt":
            fake_features = model.encode_text(clip.tokenize([target] * len(real), truncate=True))
        else:
            fake_features = model.encode_image(torch.stack([preprocess(target)] * len(real)))
        real_features = real_features / real_features.norm(dim=1, keepdim=True).to(torch.float32)
        fake_features = fake_features / fake_features.norm(dim=1, keepdim=True).to(torch.float32)
        score_acc += logit_scale * (fake_features * real_features).sum()
        sample_num += real.shape[0]
    return float(score_acc / sample_num)


@pytest.fixture(scope="module")
def reference_image(shared_data) -> Path:
    return shared_data / "subjects" / "bear_plushie" / "00.jpg"


@pytest.mark.parametrize("name", ["sample_8fps_49f", "car_24fps", "bike_29.97fps", "two_frames", "seven_fps"])
def test_clip_t_and_clip_i_match_jointtuner(name, clip_videos, reference_image, tiny_hub):
    path = clip_videos[name]
    clip_model = tiny_hub.get(OpenAIClipViTB32.name)
    ctx = ScoringContext(hub=tiny_hub, batch_size=5)  # batches unlike the reference's 8
    sample = Sample(read_video(path), prompt=PROMPT, reference_image=reference_image)

    ours_t = create_metric("CLIP-T").score(sample, ctx).value
    ours_i = create_metric("CLIP-I").score(sample, ctx).value

    frames = jt_split_video_to_rgb_images(path)
    pixels = torch.stack([clip_model.preprocess(Image.fromarray(f)) for f in frames])
    ref_image = Image.open(reference_image).convert("RGB")
    ref_t = jt_clip_score(clip_model.model, clip_model.preprocess, pixels, PROMPT, "txt")
    ref_i = jt_clip_score(clip_model.model, clip_model.preprocess, pixels, ref_image, "img")
    assert abs(ours_t - ref_t) <= TOL
    assert abs(ours_i - ref_i) <= TOL
    # A random model's logit scale is 1/0.07, not 100: scores live in [-14.29, 14.29].
    assert abs(ours_t) <= 14.2858 and abs(ours_i) <= 14.2858
    # CLIP-T and CLIP-I shared one encoding of the frames.
    frame_keys = [k for k in ctx.cache if k[1] == "jt-pil-frames"]
    assert len(frame_keys) == 1
    assert ctx.cache[frame_keys[0]].shape[0] == len(frames)


def test_frame_sampler_truncates_fps_ratio(clip_videos):
    """29.97 fps: int(3.75) = 3 → 8 of 24 frames (round() would keep 6); 24 fps → every 3rd; 7 fps → all."""
    from jtbench.metrics.clip_preprocess import jt_frame_indices

    assert jt_frame_indices(read_video(clip_videos["bike_29.97fps"])) == list(range(0, 24, 3))
    assert jt_frame_indices(read_video(clip_videos["car_24fps"])) == [0, 3, 6, 9, 12, 15]
    assert jt_frame_indices(read_video(clip_videos["seven_fps"])) == list(range(9))


def test_scores_use_the_models_logit_scale_without_clamp():
    from jtbench.metrics.clip_scores import clip_similarity_score

    frames = torch.tensor([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0]])
    target = torch.tensor([[2.0, 0.0]])
    # cos = 1, 0, -1 → mean 0 exactly; a clamp at 0 would give 1/3 of the scale.
    assert clip_similarity_score(frames, target, torch.tensor(100.0)) == pytest.approx(0.0, abs=1e-6)
    assert clip_similarity_score(frames[:2], target, torch.tensor(14.2857)) == pytest.approx(14.2857 / 2, rel=1e-6)


def test_reference_image_embedding_is_cached_across_videos(clip_videos, reference_image, tiny_hub):
    ctx = ScoringContext(hub=tiny_hub)
    metric = create_metric("clip_i")
    for name in ("two_frames", "seven_fps"):
        video = read_video(clip_videos[name])
        metric.score(Sample(video, reference_image=reference_image), ctx)
        ctx.forget_video(video.digest)
    assert [k[1] for k in ctx.cache] == ["jt-pil-image"]


def test_missing_inputs_name_the_video(clip_videos, tiny_hub):
    video = read_video(clip_videos["two_frames"])
    ctx = ScoringContext(hub=tiny_hub)
    with pytest.raises(InputError, match="prompt") as err:
        create_metric("clip_t").score(Sample(video), ctx)
    assert "two.mp4" in str(err.value)
    with pytest.raises(InputError, match="reference image"):
        create_metric("clip_i").score(Sample(video, prompt=PROMPT), ctx)


def test_specs_name_the_paper_columns():
    t, i = create_metric("clip_t").spec, create_metric("clip_i").spec
    assert (t.column, i.column) == ("CLIP-T", "CLIP-I")
    assert t.needs_prompt and not t.needs_reference_image
    assert i.needs_reference_image and not i.needs_prompt
    assert t.backbones == i.backbones == ("clip_vit_b_32",)
