"""The opens2v-open profile against OpenS2V-Eval's own functions (vendored unchanged, Apache-2.0).

``AestheticScorer`` loads the tiny HF CLIP folder and the tiny MLP file the way ``get_aesscore.py``
does (``from_pretrained``, ``torch.load(weights_only=True)``); frames come from its decord
``sample_video_frames``. Its ``CLIPProcessor.from_pretrained`` is made to return the PIL image
processor that its pinned transformers 4.51.3 gave by default (transformers 5 defaults to the
torchvision one: a difference of environment, not of their code).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
from _opens2v_reference import (
    AestheticScorer,
    _downscale_maps,
    _motion_score,
    compute_farneback_optical_flow,
    process_scores,
    run_aesthetic_laion,
    sample_video_frames,
)
from _profile_clips import FAST, PARITY_CLIPS, clips_fixture  # noqa: F401  (the clips fixture)

from jtbench.io.video import read_video
from jtbench.metrics import opens2v
from jtbench.metrics.base import PAPER_COLUMNS, Sample, ScoringContext, create_metric
from jtbench.metrics.profiles import get_profile
from jtbench.models.opens2v import HF_CLIP_VIT_L_14, OPENS2V_AESTHETIC_MLP
from jtbench.models.pickscore import pil_image_processor_class
from jtbench.weights.resolve import WeightResolver

AES, MOTION = "Aesthetics@OpenS2V", "Motion@OpenS2V"
TOL = 1e-6  # on each column's own scale (raw 1–10; pixels)
PARITY: dict[str, dict[str, float]] = {}


@pytest.fixture(scope="module")
def scorer(tiny_hub):
    """OpenS2V's AestheticScorer on the tiny files, with transformers 4.51.3's default (PIL) processor."""
    from transformers import CLIPProcessor

    folder = tiny_hub.files("hf_clip_vit_l_14")[HF_CLIP_VIT_L_14.id]
    head = tiny_hub.files("opens2v_aesthetic_mlp")[OPENS2V_AESTHETIC_MLP.id]
    real = CLIPProcessor.from_pretrained
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CLIPProcessor, "from_pretrained", lambda path: real(path, use_fast=False))
        model = AestheticScorer(dtype=torch.float32, aes_clip_path=str(folder), aes_main_path=str(head))
    assert isinstance(model.processor.image_processor, pil_image_processor_class())
    return model


def _native_decord() -> None:
    import decord

    decord.bridge.set_bridge("native")  # VBench's reader switches decord to torch tensors process-wide


def opens2v_aesthetics(scorer, path: Path) -> float:
    """``main()`` of get_aesscore.py for one video."""
    _native_decord()
    frames = sample_video_frames(str(path), num_frames=32)
    return run_aesthetic_laion(scorer, frames).mean().detach().item()


def opens2v_motion(path: Path) -> float:
    """``process_video``'s ``motion_fb`` (its unseeded, unaggregated ``motion_lk`` left out)."""
    _native_decord()
    frames = sample_video_frames(str(path), num_frames=None)
    farneback, _, _, _ = compute_farneback_optical_flow(frames)
    return abs(float(_motion_score(_downscale_maps(farneback))))


def _ours(hub, path: Path) -> dict[str, float]:
    ctx = ScoringContext(hub=hub, batch_size=5)  # batches unlike OpenS2V's one batch of 32
    sample = Sample(read_video(path))
    return {c: create_metric(c).score(sample, ctx).value for c in (AES, MOTION)}


@pytest.mark.parametrize("name", PARITY_CLIPS)
def test_matches_opens2v(name, clips, tiny_hub, scorer):
    ours = _ours(tiny_hub, clips[name])
    theirs = {AES: opens2v_aesthetics(scorer, clips[name]), MOTION: opens2v_motion(clips[name])}
    PARITY[name] = {c: abs(ours[c] - theirs[c]) for c in ours}
    for column in ours:
        assert ours[column] == pytest.approx(theirs[column], abs=TOL), column


def test_motion_values_are_what_the_clips_show(clips):
    """Static ≈ 0; a 6 px/frame pan reads at most |(−6 + 0)/2| = 3 (the resize does not rescale flow
    values; Farneback's 15-px window catches part of the step) and above the |x| ≤ 1 leaderboard clip;
    the opposing halves cancel."""
    values = {name: opens2v.motion_amplitude(read_video(clips[name]).frames) for name in FAST[2:]}
    assert values["static_10f_96x128"] < 0.05
    assert 1.0 < values["panning_10f_96x128"] <= 3.0
    assert values["opposing_10f_96x128"] < 0.25 * values["panning_10f_96x128"]


def test_floor_linspace_repeats_frames_of_short_videos():
    assert opens2v.floor_linspace(16) == [int(i) for i in np.linspace(0, 15, 32, dtype=int)]
    assert opens2v.floor_linspace(16)[:6] == [0, 0, 0, 1, 1, 2] and opens2v.floor_linspace(16)[-1] == 15


# -- each quirk changes the value when altered ---------------------------------------------------
def test_aesthetics_quirks_change_the_value(clips, tiny_hub, monkeypatch):
    path = clips["car_16f_144x144"]  # 16 frames: the floor linspace repeats frames
    sample = Sample(read_video(path))
    base = _ours(tiny_hub, path)[AES]
    embeds = opens2v.aesthetic_embeds(sample, ScoringContext(hub=tiny_hub))
    head = tiny_hub.get(opens2v.HEAD)
    with torch.inference_mode():
        unnormalised = float(head(embeds).mean())
    assert abs(unnormalised - base) > 1e-6
    with monkeypatch.context() as patch:  # round instead of floor
        rounded = lambda t, n=32: np.round(np.linspace(0, t - 1, n)).astype(int).tolist()  # noqa: E731
        patch.setattr(opens2v, "floor_linspace", rounded)
        assert abs(_ours(tiny_hub, path)[AES] - base) > 1e-6
    from transformers import AutoImageProcessor

    clip = tiny_hub.get(opens2v.CLIP)
    default = AutoImageProcessor.from_pretrained(tiny_hub.files(opens2v.CLIP)[HF_CLIP_VIT_L_14.id])
    assert not isinstance(default, pil_image_processor_class())  # transformers 5: the torchvision one
    # What the processor changes is the pixels; through tiny random weights the score moves by ~1e-6 only,
    # so the pixels carry the threshold and the score must merely move.
    images = opens2v.pil_frames(sample.video.frames[opens2v.floor_linspace(sample.video.num_frames)])
    ours, theirs = (p(images=images, return_tensors="pt")["pixel_values"] for p in (clip.image_processor, default))
    assert (ours - theirs).abs().max() > 1e-2
    monkeypatch.setattr(clip, "image_processor", default)
    assert _ours(tiny_hub, path)[AES] != base


def test_motion_quirks_change_the_value(clips, monkeypatch):
    frames = read_video(clips["sample_49f_96x144"]).frames
    base = opens2v.motion_amplitude(frames)
    with monkeypatch.context() as patch:  # the grey conversion a reader would expect for RGB frames
        patch.setattr(opens2v, "grey_frames", lambda f: [cv2.cvtColor(np.ascontiguousarray(x), cv2.COLOR_RGB2GRAY)
                                                         for x in f.numpy()])  # fmt: skip
        assert abs(opens2v.motion_amplitude(frames) - base) > 1e-6
    with monkeypatch.context() as patch:
        patch.setattr(opens2v, "FLOW_INTERPOLATION", cv2.INTER_LINEAR)
        assert abs(opens2v.motion_amplitude(frames) - base) > 1e-6
    magnitude = float(np.mean([np.linalg.norm(f, axis=-1).mean() for f in opens2v.downscaled_flows(frames)]))
    assert abs(magnitude - base) > 1e-3  # |signed mean| is not a mean speed
    opposing = read_video(clips["opposing_10f_96x128"]).frames
    speed = float(np.mean([np.abs(f).mean() for f in opens2v.downscaled_flows(opposing)]))
    assert opens2v.motion_amplitude(opposing) < 0.5 * speed  # opposing motions cancel


# -- merge_result.py's clipping and normalisation --------------------------------------------------
def test_leaderboard_columns_are_merge_results(clips, tiny_hub):
    """Per method, against ``process_scores`` on the same per-video values (planted ones straddle the clips)."""
    measured = {name: _ours(tiny_hub, clips[name]) for name in ("static_10f_96x128", "panning_10f_96x128")}
    rows = [
        {"method": "a", AES: 3.2, MOTION: measured["static_10f_96x128"][MOTION]},
        {"method": "a", AES: 5.5, MOTION: measured["panning_10f_96x128"][MOTION]},  # > 1: clipped to 1
        {"method": "a", AES: 7.9, MOTION: 0.4},
        {"method": "b", AES: 6.1, MOTION: np.nan},
        {"method": "b", AES: measured["static_10f_96x128"][AES], MOTION: -0.3},
    ]
    frame, notes = opens2v.leaderboard_table(pd.DataFrame(rows), "method", [AES, MOTION])
    for method, group in pd.DataFrame(rows).groupby("method"):
        data = {f"v{i}": {"aes_score": r[AES], **({} if np.isnan(r[MOTION]) else {"motion_amplitude": r[MOTION]})}
                for i, r in group.reset_index().iterrows()}  # fmt: skip
        expected = process_scores(data, "Open-Domain")
        row = frame.set_index("method").loc[method]
        assert row[f"{AES} (OpenS2V norm.)"] == pytest.approx(expected["aes_score"], abs=1e-12)
        assert row[f"{MOTION} (OpenS2V norm.)"] == pytest.approx(expected["motion_amplitude"], abs=1e-12)
    text = " ".join(notes)
    assert "TotalScore cannot be formed" in text and "GPT-4o" in text and "GmeScore" in text


# -- weights, registry ---------------------------------------------------------------------------
def test_weights_are_found_in_the_hugging_face_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    resolver = WeightResolver(offline=True, root=tmp_path / "jtbench")
    assert resolver.find(OPENS2V_AESTHETIC_MLP) is None and resolver.find(HF_CLIP_VIT_L_14) is None
    hub = tmp_path / "hf" / "hub"
    head = hub / "models--BestWishYsh--OpenS2V-Weight" / "snapshots" / "abc" / "aesthetic-model.pth"
    clip_dir = hub / "models--openai--clip-vit-large-patch14" / "snapshots" / "def"
    head.parent.mkdir(parents=True)
    head.write_bytes(b"head")
    clip_dir.mkdir(parents=True)
    assert resolver.resolve(OPENS2V_AESTHETIC_MLP) == head and resolver.resolve(HF_CLIP_VIT_L_14) == clip_dir


def test_a_head_of_another_shape_is_a_clear_error(tmp_path):
    from jtbench.errors import WeightsError
    from jtbench.models.opens2v import OpenS2VAestheticMLP

    path = tmp_path / "aesthetic-model.pth"
    torch.save(torch.nn.Linear(768, 1).state_dict(), path)  # VBench's linear head, not OpenS2V's MLP
    with pytest.raises(WeightsError, match="aesthetic MLP") as err:
        OpenS2VAestheticMLP().load({OPENS2V_AESTHETIC_MLP.id: path}, torch.device("cpu"), torch.float32)
    assert str(path) in str(err.value)


def test_the_profile_is_a_registry_entry_outside_the_ten():
    profile = get_profile("opens2v-open")
    profile.check()
    assert profile.columns == (AES, MOTION) and profile.aggregation
    for name in profile.metrics:
        spec = create_metric(name).spec
        assert spec.profile == "opens2v-open" and not spec.paper and spec.column not in PAPER_COLUMNS


def test_print_parity_figures():
    """Not a check: |ours − OpenS2V| per clip and column, for the record (``-s`` shows it)."""
    for run, diffs in PARITY.items():
        print(f"\nopens2v-open parity {run}:", {c: f"{v:.2e}" for c, v in diffs.items()})
