"""Pick-Sc against JointTuner's pick_score.py formula, and the PickScore backbone's offline pieces."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from _jointtuner_reference import jt_split_video_to_rgb_images
from PIL import Image
from sample_media import BICYCLE_CLIPS, CAR_TURN, downscale

from jtbench.errors import InputError, WeightsError
from jtbench.io.video import read_video, write_video
from jtbench.metrics.base import Sample, ScoringContext, create_metric
from jtbench.models.pickscore import (
    LAION_CLIP_VIT_H_14_PROCESSOR,
    PICKSCORE_V1,
    PickScoreV1,
    load_clip_tokenizer,
    projected,
)

PROMPT = "A bear plushie playing the flute on the grass."
TOL = 1e-4


@pytest.fixture(scope="module")
def pick_videos(shared_data, sample_video, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pick_videos")
    sample = read_video(sample_video).frames
    bike = read_video(BICYCLE_CLIPS[1]).frames[:24]
    return {
        "sample_49f_small": write_video(downscale(sample, 240, 360), out / "sample.mp4", fps=8),
        "car_24fps": write_video(downscale(read_video(CAR_TURN).frames, 160, 160), out / "car.mp4", fps=24),
        "bike_29.97fps": write_video(downscale(bike, 168, 298), out / "bike.mp4", fps=float(Fraction(30000, 1001))),
        "two_frames": write_video(downscale(sample[:2], 240, 360), out / "two.mp4", fps=8),
    }


@pytest.fixture(scope="module")
def pick(tiny_hub):
    return tiny_hub.get(PickScoreV1.name)


# -- the reference: JointTuner's metrics/pick_score.py (frames via tools.split_video_to_rgb_images) ---
@torch.no_grad()
def jt_pick_score(image_processor, tokenizer, model, prompt: str, frames: list) -> float:
    """All frames in one batch; embeddings normalised; logit_scale.exp() · text @ images.T; numpy mean."""
    images = [Image.fromarray(f) for f in frames]
    image_inputs = image_processor(images=images, return_tensors="pt")
    text_inputs = tokenizer(prompt, padding=True, truncation=True, max_length=77, return_tensors="pt")
    image_embs = projected(model.get_image_features(pixel_values=image_inputs["pixel_values"]))
    image_embs = image_embs / torch.norm(image_embs, dim=-1, keepdim=True)
    text_embs = projected(
        model.get_text_features(input_ids=text_inputs["input_ids"], attention_mask=text_inputs["attention_mask"])
    )
    text_embs = text_embs / torch.norm(text_embs, dim=-1, keepdim=True)
    scores = model.logit_scale.exp() * (text_embs @ image_embs.T)[0]
    return float(np.mean(scores.numpy()))


@pytest.mark.parametrize("name", ["sample_49f_small", "car_24fps", "bike_29.97fps", "two_frames"])
def test_matches_jointtuner(name, pick_videos, pick, tiny_hub):
    path = pick_videos[name]
    ctx = ScoringContext(hub=tiny_hub, batch_size=6)  # JT: one batch of all frames
    ours = create_metric("Pick-Sc").score(Sample(read_video(path), prompt=PROMPT), ctx).value
    frames = jt_split_video_to_rgb_images(path)
    reference = jt_pick_score(pick.image_processor, pick.tokenizer, pick.model, PROMPT, frames)
    assert abs(ours - reference) <= TOL
    assert abs(ours) <= float(pick.logit_scale) + 1e-4  # a random model: 14.29·cos, not 100·cos
    assert float(pick.logit_scale) == pytest.approx(1 / 0.07, rel=1e-4)


def test_image_processor_is_the_pil_clip_transform(pick_videos, pick):
    """The PIL processor is openai-clip's transform (transformers 5's default is 0.015 off).

    Within 1e-6, not bit for bit by construction: the same PIL resize and crop, then transformers
    rescales and normalises in numpy and openai-clip in torch (0 values differed where measured).
    """
    from clip.clip import _transform

    frames = jt_split_video_to_rgb_images(pick_videos["bike_29.97fps"])[:3]
    images = [Image.fromarray(f) for f in frames]
    ours = pick.image_processor(images=images, return_tensors="pt")["pixel_values"]
    theirs = torch.stack([_transform(224)(image) for image in images])
    assert torch.allclose(ours, theirs, atol=1e-6, rtol=0)


def test_tokenizer_ids_equal_clip_tokenize_including_truncation(pick):
    import clip

    long_prompt = " ".join(["a bear plushie playing the flute"] * 20)
    for prompt in (PROMPT, long_prompt):
        ids = pick.tokenizer(prompt, truncation=True, max_length=77)["input_ids"]
        expected = clip.tokenize(prompt, truncate=True)[0]
        assert ids == expected[: len(ids)].tolist()
        assert ids[-1] == 49407 and len(ids) <= 77


def test_folder_without_tokenizer_uses_offline_bpe(tmp_path):
    import clip

    tokenizer = load_clip_tokenizer(tmp_path)  # empty folder: no tokenizer.json / vocab.json
    assert tokenizer(PROMPT)["input_ids"] == clip.tokenize(PROMPT)[0][:13].tolist()


def test_loads_a_laion_style_preprocessor_config(tiny_hub, tmp_path):
    """The laion repo's preprocessor_config.json names CLIPImageProcessor; the PIL class must still read it."""
    files = tiny_hub.files(PickScoreV1.name)
    laion_like = {
        "crop_size": 224,
        "do_center_crop": True,
        "do_normalize": True,
        "do_resize": True,
        "feature_extractor_type": "CLIPFeatureExtractor",
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711],
        "resample": 3,
        "size": 224,
    }
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(laion_like))
    model = PickScoreV1().load(
        {PICKSCORE_V1.id: files[PICKSCORE_V1.id], LAION_CLIP_VIT_H_14_PROCESSOR.id: tmp_path},
        torch.device("cpu"),
        torch.float32,
    )
    image = Image.fromarray(np.full((100, 150, 3), 128, dtype=np.uint8))
    assert model.image_processor(images=[image], return_tensors="pt")["pixel_values"].shape == (1, 3, 224, 224)


def test_missing_model_folder_is_a_weights_error(tiny_hub, tmp_path):
    files = dict(tiny_hub.files(PickScoreV1.name))
    files[PICKSCORE_V1.id] = tmp_path
    with pytest.raises(WeightsError, match="CLIPModel") as err:
        PickScoreV1().load(files, torch.device("cpu"), torch.float32)
    assert str(tmp_path) in str(err.value)


def test_prompt_is_required(pick_videos, tiny_hub):
    with pytest.raises(InputError, match="prompt"):
        create_metric("pick_score").score(Sample(read_video(pick_videos["two_frames"])), ScoringContext(hub=tiny_hub))


def test_spec_and_weights():
    spec = create_metric("Pick-Sc").spec
    assert spec.column == "Pick-Sc" and spec.needs_prompt and spec.backbones == ("pickscore",)
    assert PickScoreV1.weights == (PICKSCORE_V1, LAION_CLIP_VIT_H_14_PROCESSOR)
    assert PICKSCORE_V1.is_dir and PICKSCORE_V1.hf_repo == "yuvalkirstain/PickScore_v1"
    assert LAION_CLIP_VIT_H_14_PROCESSOR.hf_repo == "laion/CLIP-ViT-H-14-laion2B-s32B-b79K"
    assert not PickScoreV1.anchor_fp16_on_cuda  # PickScore ran in fp32
