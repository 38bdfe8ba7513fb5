"""The det profile against DeT's evaluation.py re-expressed (``_det_reference``), on seeded random weights.

Both sides load the same files in the published formats: HF ``CLIPModel`` / ``ViTModel`` folders
written with ``save_pretrained`` (jtbench through its backbones, the reference through
``from_pretrained`` as DeT does). CLIP-T@DeT, T-Cons@DeT and the registry here; MotFid@DeT in
``test_det_motion_fidelity``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from _det_inputs import PARITY, PROMPT, TOL, clips_fixture, record, score_one  # noqa: F401  (the clips fixture)
from _det_reference import (
    clip_score_of_root,
    decord_frames,
    output_folder,
    temporal_consistency_video,
)

from jtbench.errors import InputError
from jtbench.io.video import read_video
from jtbench.metrics import det
from jtbench.metrics.base import PAPER_COLUMNS, Sample, ScoringContext, create_metric
from jtbench.metrics.profiles import get_profile
from jtbench.models.base import ModelHub
from jtbench.models.hf_vision import HF_CLIP_VIT_B_32, HF_DINO_VITB16, TINY_DINO
from jtbench.weights.resolve import WeightResolver

LONG_PROMPT = (
    "A small brown bear plushie with a red scarf plays a silver flute at 3.5 metres from a quiet lake, "
    "under tall pine trees and a pale morning sky, while leaves drift slowly across the grass. "
)


# -- inputs ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dino_with_pooler(tmp_path_factory) -> Path:
    """A tiny DINO ViTModel saved *with* pooler weights (so both sides load the same pooler), weights
    spread so frames differ (a fresh init makes every frame's pooler output nearly the same)."""
    from transformers import ViTConfig, ViTModel

    from jtbench.models.hf_vision import _vit_pil_processor_class

    torch.manual_seed(7)
    model = ViTModel(ViTConfig(**TINY_DINO), add_pooling_layer=True).eval()
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.3 * torch.randn_like(param))
    folder = tmp_path_factory.mktemp("dino_pooler") / "dino-vitb16"
    model.save_pretrained(folder)
    _vit_pil_processor_class()(size={"height": 224, "width": 224}, resample=2, image_mean=[0.5] * 3,
                               image_std=[0.5] * 3).save_pretrained(folder)  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def hub(tiny_hub, dino_with_pooler) -> ModelHub:
    """Paper-mode loading code on the test's files: the tiny CLIP folder, the DINO folder with a pooler."""
    files = {HF_CLIP_VIT_B_32.id: tiny_hub.files("hf_clip_vit_b_32")[HF_CLIP_VIT_B_32.id],
             HF_DINO_VITB16.id: dino_with_pooler}  # fmt: skip
    return ModelHub(backbones="paper", precision="fp32", resolver=WeightResolver(overrides=files))


@pytest.fixture(scope="module")
def reference_models(hub):
    """The same folders loaded DeT's way: ``from_pretrained``, PIL processors (transformers < 4.52)."""
    from transformers import CLIPModel, CLIPProcessor, CLIPTokenizer, ViTModel

    from jtbench.models.hf_vision import _vit_pil_processor_class
    from jtbench.models.pickscore import pil_image_processor_class

    clip_dir = hub.files("hf_clip_vit_b_32")[HF_CLIP_VIT_B_32.id]
    dino_dir = hub.files("hf_dino_vitb16")[HF_DINO_VITB16.id]
    processor = CLIPProcessor(image_processor=pil_image_processor_class().from_pretrained(clip_dir),
                              tokenizer=CLIPTokenizer.from_pretrained(clip_dir))  # fmt: skip
    dino_processor = _vit_pil_processor_class().from_pretrained(dino_dir)
    clip_model, dino = CLIPModel.from_pretrained(clip_dir).eval(), ViTModel.from_pretrained(dino_dir).eval()
    return clip_model, processor, dino, dino_processor


# -- CLIP-T@DeT ------------------------------------------------------------------------------------------
def test_decoders_agree(clips):
    """DeT decodes with decord (CLIP, DINO); jtbench's one PyAV decode gives the same frames."""
    for path in clips.values():
        assert torch.equal(read_video(path).frames, decord_frames(path))


@pytest.mark.parametrize("prompt", [PROMPT, LONG_PROMPT, "a person_walking  "])
def test_clip_t_matches_dets_clip_score(prompt, clips, hub, reference_models, tmp_path):
    clip_model, processor, _, _ = reference_models
    folder = output_folder(tmp_path / "gen", prompt)  # where DeT's generation writes this prompt's videos
    folder.mkdir(parents=True)
    for name in ("gen_49f", "ref_16f"):
        (folder / f"{name}.mp4").write_bytes(clips[name].read_bytes())
    theirs = clip_score_of_root(clip_model, processor, tmp_path / "gen")
    for name in ("gen_49f", "ref_16f"):
        ours = score_one(hub, clips[name], "CLIP-T@DeT", prompt=prompt).value
        reference = theirs[f"{folder.name}/{name}.mp4"]
        record(f"{name} prompt {len(prompt)} chars", "CLIP-T@DeT", ours, reference)
        # TOL, or 4 float32 steps where one step is larger (logits ≈ 100·cos: one step at 16–32 is 1.9e-6)
        assert ours == pytest.approx(reference, abs=max(TOL, 4 * float(np.spacing(np.float32(reference)))))


def test_clip_t_reads_the_prompt_dets_folder_gives(clips, hub):
    assert det.det_prompt(LONG_PROMPT) == "A small brown bear plushie with a red scarf plays a silver flute at 3."
    assert det.det_prompt("a person_walking  ") == "a person walking."
    assert det.det_prompt(PROMPT) == PROMPT
    rebuilt = score_one(hub, clips["ref_16f"], "CLIP-T@DeT", prompt=LONG_PROMPT)
    assert "3." in rebuilt.note
    raw = det.det_prompt
    try:
        det.det_prompt = lambda p: p  # altered: the prompt as written
        assert abs(score_one(hub, clips["ref_16f"], "CLIP-T@DeT", prompt=LONG_PROMPT).value - rebuilt.value) > 1e-3
    finally:
        det.det_prompt = raw


def test_clip_t_uses_every_frame_and_the_logit_scale(clips, hub):
    video = read_video(clips["gen_49f"])
    ctx = ScoringContext(hub=hub)
    every = create_metric("CLIP-T@DeT").score(Sample(video, prompt=PROMPT), ctx).value
    strided = create_metric("CLIP-T@DeT").score(Sample(video.select(range(0, 49, 3)), prompt=PROMPT), ctx).value
    assert abs(every - strided) > 1e-3
    assert hub.get("hf_clip_vit_b_32").logit_scale == pytest.approx(100.0, rel=1e-6)  # the released scale


def test_a_prompt_over_77_tokens_fails_as_in_det(clips, hub):
    with pytest.raises(InputError, match="longer than CLIP's 77"):
        score_one(hub, clips["ref_16f"], "CLIP-T@DeT", prompt="a bear " * 60)
    with pytest.raises(InputError, match="'/'"):
        det.det_prompt("a cat/dog running")


# -- T-Cons@DeT --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["gen_49f", "ref_16f", "static_12f", "pan_16f"])
def test_t_cons_matches_dets_temporal_consistency(name, clips, hub, reference_models):
    _, _, dino, dino_processor = reference_models
    ours = score_one(hub, clips[name], "T-Cons@DeT").value
    theirs = temporal_consistency_video(dino, dino_processor, clips[name])
    record(name, "T-Cons@DeT", ours, theirs)
    assert ours == pytest.approx(theirs, abs=TOL)
    assert hub.get("hf_dino_vitb16").pooler == "checkpoint"
    if name == "pan_16f":
        assert theirs < 0.99  # the frames differ enough for the comparison to mean something


def test_t_cons_includes_frame_zeros_self_similarities(clips, hub, monkeypatch):
    ours = score_one(hub, clips["pan_16f"], "T-Cons@DeT").value

    def from_one(pooled):  # altered: i from 1, no self-similarity terms
        f = torch.nn.functional.normalize(pooled, dim=-1)
        return float(((f[1:] * f[:1]).sum(-1).mean() + (f[1:] * f[:-1]).sum(-1).mean()) / 2)

    monkeypatch.setattr(det, "temporal_consistency_det", from_one)
    assert abs(score_one(hub, clips["pan_16f"], "T-Cons@DeT").value - ours) > 1e-4


def test_a_folder_without_pooler_gets_the_recorded_seeded_pooler(clips, tiny_hub, reference_models, monkeypatch):
    """The released layout (no pooler.dense): jtbench's pooler is seed 0's, the same on every load;
    DeT's is whatever transformers draws: equal once given the same pooler, and the seed moves the value."""
    from transformers import ViTModel

    from jtbench.models import hf_vision

    folder = tiny_hub.files("hf_dino_vitb16")[HF_DINO_VITB16.id]
    files = {HF_DINO_VITB16.id: folder}

    def load(seed: int):
        monkeypatch.setattr(hf_vision, "POOLER_SEED", seed)
        monkeypatch.setattr(hf_vision.seeded_pooler, "__defaults__", (seed,))
        return hf_vision.HfDinoViTB16().load(files, torch.device("cpu"), torch.float32)

    first, again, other = load(0), load(0), load(1)
    assert first.pooler.startswith("seed 0 (sha256 ") and first.pooler == again.pooler != other.pooler
    assert torch.equal(first.model.pooler.dense.weight, again.model.pooler.dense.weight)
    theirs_model = ViTModel.from_pretrained(folder).eval()  # transformers' own random pooler
    _, _, _, processor = reference_models
    theirs_model.pooler.load_state_dict(first.model.pooler.state_dict())
    frames = read_video(clips["pan_16f"]).frames
    ours = [det.temporal_consistency_det(m.pooler_output(frames)) for m in (first, other)]
    theirs = temporal_consistency_video(theirs_model, processor, clips["pan_16f"])
    record("pan_16f, seeded pooler", "T-Cons@DeT", ours[0], theirs)
    assert ours[0] == pytest.approx(theirs, abs=TOL)
    assert abs(ours[0] - ours[1]) > 1e-7  # the pooler's seed is part of the number


# -- registry --------------------------------------------------------------------------------------------
def test_the_profile_is_a_registry_entry_outside_the_ten():
    profile = get_profile("det")
    profile.check()
    assert profile.columns == ("MotFid@DeT", "CLIP-T@DeT", "T-Cons@DeT", "MotFid-Hybrid@DeT (seed 0)")
    for name in profile.metrics:
        spec = create_metric(name).spec
        assert spec.profile == "det" and not spec.paper and spec.column not in PAPER_COLUMNS
    assert any("NOT reproducible" in note and "seed 0" in note for note in profile.notes)


def test_weights_are_catalogued_hf_folders_found_in_the_hf_cache(tmp_path, monkeypatch):
    assert HF_CLIP_VIT_B_32.hf_repo == "openai/clip-vit-base-patch32" and HF_CLIP_VIT_B_32.is_dir
    assert HF_DINO_VITB16.hf_repo == "facebook/dino-vitb16" and "Apache" in HF_DINO_VITB16.licence
    assert "MIT" in HF_CLIP_VIT_B_32.licence
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    snapshot = tmp_path / "hf" / "hub" / "models--facebook--dino-vitb16" / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    assert WeightResolver(offline=True, root=tmp_path / "jt").resolve(HF_DINO_VITB16) == snapshot


def test_print_parity_figures():
    """Not a check: |ours - reference| per case and column (``-s`` shows it)."""
    for case, diffs in PARITY.items():
        print(f"\ndet parity {case}:", {c: f"{v:.2e}" for c, v in diffs.items()})
