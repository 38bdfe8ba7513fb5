"""The det profile against DeT's evaluation.py re-expressed (``_det_reference``), on seeded random weights.

Both sides load the same files in the published formats: HF ``CLIPModel`` / ``ViTModel`` folders
written with ``save_pretrained`` (jtbench through its backbones, the reference through
``from_pretrained`` as DeT does). Mot-Fid's tracker is the Lucas–Kanade stand-in on both sides
here (the formula, alignment, normalisation and mask box are what is compared); CoTracker3's own
predictor is compared in ``test_cotracker_call_matches_dets`` where a checkout is present.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from _det_reference import (
    box_from_mask_png,
    clip_score_of_root,
    decord_frames,
    hybrid_video,
    motion_fidelity_video,
    output_folder,
    temporal_consistency_video,
    tracklets,
)
from PIL import Image
from sample_media import CAR_TURN, downscale

from jtbench.errors import InputError
from jtbench.io.video import read_video, write_video
from jtbench.metrics import det
from jtbench.metrics.base import PAPER_COLUMNS, Sample, ScoringContext, create_metric
from jtbench.metrics.profiles import get_profile
from jtbench.models.base import ModelHub
from jtbench.models.hf_vision import HF_CLIP_VIT_B_32, HF_DINO_VITB16, TINY_DINO
from jtbench.models.trackers import LucasKanadeTracker
from jtbench.weights.resolve import WeightResolver

PROMPT = "A bear plushie playing the flute on the grass."
LONG_PROMPT = (
    "A small brown bear plushie with a red scarf plays a silver flute at 3.5 metres from a quiet lake, "
    "under tall pine trees and a pale morning sky, while leaves drift slowly across the grass. "
)
TOL = 1e-6
PARITY: dict[str, dict[str, float]] = {}


def _record(case: str, column: str, ours: float, theirs: float) -> None:
    PARITY.setdefault(case, {})[column] = abs(ours - theirs)


# -- inputs ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clips(shared_data, sample_video, tmp_path_factory) -> dict[str, Path]:
    """Real clips: 49 frames (downscaled 480x720 sample), 16 (car-turn), a static and a panning one."""
    out = tmp_path_factory.mktemp("det_clips")
    car = read_video(CAR_TURN).frames
    still = car[:1].repeat(12, 1, 1, 1)
    pan = torch.stack([car[0, 40 : 40 + 200, 8 * t : 8 * t + 300] for t in range(16)])
    return {
        "gen_49f": write_video(downscale(read_video(sample_video).frames, 160, 240), out / "gen49.mp4", fps=8),
        "ref_16f": write_video(downscale(car, 192, 192), out / "ref16.mp4", fps=8),
        "static_12f": write_video(downscale(still, 120, 120), out / "static.mp4", fps=8),
        "pan_16f": write_video(pan, out / "pan.mp4", fps=8),
    }


@pytest.fixture(scope="module")
def soft_mask(tmp_path_factory) -> Path:
    """A soft-edged L-mode mask (faint halo pixels count, as in MTBench's), 480x720 like DeT's."""
    y, x = np.mgrid[0:480, 0:720]
    inside = np.exp(-(((x - 300) / 120.0) ** 2 + ((y - 260) / 90.0) ** 2) ** 3) * 255
    path = tmp_path_factory.mktemp("det_mask") / "00000.png"
    Image.fromarray(inside.astype(np.uint8), mode="L").save(path)
    return path


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


_CONTEXTS: dict[int, ScoringContext] = {}


def _ours(hub: ModelHub, video: Path, column: str, *, prompt: str = PROMPT, reference: Path | None = None,
          batch_size: int = 5) -> det.MetricValue:  # fmt: skip
    """One column on one video (batches unlike DeT's single one); one context per hub, so tracks are
    computed once per file and mask (what the tests alter comes after tracking)."""
    ctx = _CONTEXTS.setdefault(id(hub), ScoringContext(hub=hub, batch_size=batch_size))
    return create_metric(column).score(Sample(read_video(video), prompt=prompt, reference_video=reference), ctx)


@functools.cache
def _reference_tracks(path: Path, mask_png: Path | None) -> torch.Tensor:
    """DeT's ``get_tracklets`` on the LK stand-in, once per clip and mask."""
    mask = box_from_mask_png(mask_png) if mask_png is not None else None
    return tracklets(_LKPredictor(), read_video(path).frames, mask)


def _with_mask(clip: Path, mask_png: Path, tmp_path: Path) -> Path:
    """A copy of ``clip`` with the mask beside it, named as the prepared data names it."""
    folder = tmp_path / "motion"
    folder.mkdir(exist_ok=True)
    (folder / "00.mp4").write_bytes(clip.read_bytes())
    (folder / "00.mask.png").write_bytes(mask_png.read_bytes())
    return folder / "00.mp4"


class _LKPredictor:
    """The LK stand-in behind CoTracker's predictor call (``video, grid_size, segm_mask`` → ``[1, T, N, 2]``)."""

    def __call__(self, video: torch.Tensor, grid_size: int, segm_mask: torch.Tensor | None = None):
        frames = video[0].permute(0, 2, 3, 1).round().to(torch.uint8)
        mask = None if segm_mask is None else segm_mask[0, 0]
        tracks = LucasKanadeTracker().track(frames, grid_size, mask)
        return tracks.permute(1, 0, 2)[None], None


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
        ours = _ours(hub, clips[name], "CLIP-T@DeT", prompt=prompt).value
        _record(f"{name} prompt {len(prompt)} chars", "CLIP-T@DeT", ours, theirs[f"{folder.name}/{name}.mp4"])
        assert ours == pytest.approx(theirs[f"{folder.name}/{name}.mp4"], abs=TOL)


def test_clip_t_reads_the_prompt_dets_folder_gives(clips, hub):
    assert det.det_prompt(LONG_PROMPT) == "A small brown bear plushie with a red scarf plays a silver flute at 3."
    assert det.det_prompt("a person_walking  ") == "a person walking."
    assert det.det_prompt(PROMPT) == PROMPT
    rebuilt = _ours(hub, clips["ref_16f"], "CLIP-T@DeT", prompt=LONG_PROMPT)
    assert "3." in rebuilt.note
    raw = det.det_prompt
    try:
        det.det_prompt = lambda p: p  # altered: the prompt as written
        assert abs(_ours(hub, clips["ref_16f"], "CLIP-T@DeT", prompt=LONG_PROMPT).value - rebuilt.value) > 1e-3
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
        _ours(hub, clips["ref_16f"], "CLIP-T@DeT", prompt="a bear " * 60)
    with pytest.raises(InputError, match="'/'"):
        det.det_prompt("a cat/dog running")


# -- T-Cons@DeT --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["gen_49f", "ref_16f", "static_12f", "pan_16f"])
def test_t_cons_matches_dets_temporal_consistency(name, clips, hub, reference_models):
    _, _, dino, dino_processor = reference_models
    ours = _ours(hub, clips[name], "T-Cons@DeT").value
    theirs = temporal_consistency_video(dino, dino_processor, clips[name])
    _record(name, "T-Cons@DeT", ours, theirs)
    assert ours == pytest.approx(theirs, abs=TOL)
    assert hub.get("hf_dino_vitb16").pooler == "checkpoint"
    if name == "pan_16f":
        assert theirs < 0.99  # the frames differ enough for the comparison to mean something


def test_t_cons_includes_frame_zeros_self_similarities(clips, hub, monkeypatch):
    ours = _ours(hub, clips["pan_16f"], "T-Cons@DeT").value

    def from_one(pooled):  # altered: i from 1, no self-similarity terms
        f = torch.nn.functional.normalize(pooled, dim=-1)
        return float(((f[1:] * f[:1]).sum(-1).mean() + (f[1:] * f[:-1]).sum(-1).mean()) / 2)

    monkeypatch.setattr(det, "temporal_consistency_det", from_one)
    assert abs(_ours(hub, clips["pan_16f"], "T-Cons@DeT").value - ours) > 1e-4


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
    _record("pan_16f, seeded pooler", "T-Cons@DeT", ours[0], theirs)
    assert ours[0] == pytest.approx(theirs, abs=TOL)
    assert abs(ours[0] - ours[1]) > 1e-7  # the pooler's seed is part of the number


# -- MotFid@DeT ---------------------------------------------------------------------------------------------
CASES = {  # (generated, reference, with mask)
    "49f vs 16f, whole frame": ("gen_49f", "ref_16f", False),
    "pan 16f vs 16f, soft mask": ("pan_16f", "ref_16f", True),
    "16f vs 49f, soft mask": ("ref_16f", "gen_49f", True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_motion_fidelity_and_hybrid_match_det(case, clips, soft_mask, tiny_hub, tmp_path):
    gen_name, ref_name, masked = CASES[case]
    reference = _with_mask(clips[ref_name], soft_mask, tmp_path) if masked else clips[ref_name]
    ours = _ours(tiny_hub, clips[gen_name], "MotFid@DeT", reference=reference)
    hybrid = _ours(tiny_hub, clips[gen_name], "MotFid-Hybrid@DeT (seed 0)", reference=reference).value
    gen = _reference_tracks(clips[gen_name], soft_mask if masked else None)
    ref = _reference_tracks(clips[ref_name], soft_mask if masked else None)
    theirs = motion_fidelity_video(gen, ref)
    ids = torch.randint(0, gen.shape[0], (50,), generator=torch.Generator().manual_seed(0))
    theirs_hybrid = hybrid_video(gen, ref, ids)
    _record(case, "MotFid@DeT", ours.value, theirs)
    _record(case, "MotFid-Hybrid@DeT (seed 0)", hybrid, theirs_hybrid)
    assert ours.value == pytest.approx(theirs, abs=TOL) and hybrid == pytest.approx(theirs_hybrid, abs=TOL)
    assert ("first-frame mask 00.mask.png" in ours.note) == masked
    assert ("whole-frame 50x50 grid" in ours.note) != masked
    assert "lk_tracker" in ours.note
    if masked:
        assert gen.shape[0] < 2500
        assert det.file_sha256(soft_mask) in ours.note


def test_a_static_clip_is_nan_as_in_det_with_a_note(clips, tiny_hub):
    ours = _ours(tiny_hub, clips["static_12f"], "MotFid@DeT", reference=clips["ref_16f"])
    gen, ref = _reference_tracks(clips["static_12f"], None), _reference_tracks(clips["ref_16f"], None)
    assert math.isnan(motion_fidelity_video(gen, ref)) and math.isnan(ours.value)
    assert "zero-length step" in ours.note and "NaN" in ours.note


def test_one_still_reference_step_makes_every_row_nan():
    """Hand-made tracks: a stationary step in one reference track; NaN on both sides."""
    gen = torch.cumsum(torch.rand(4, 5, 2) + 0.1, dim=1)
    ref = torch.cumsum(torch.rand(4, 5, 2) + 0.1, dim=1)
    assert math.isfinite(det.motion_fidelity_det(gen, ref))
    assert det.motion_fidelity_det(gen, ref) == pytest.approx(motion_fidelity_video(gen, ref), abs=TOL)
    ref[2, 3] = ref[2, 2]
    assert math.isnan(det.motion_fidelity_det(gen, ref)) and math.isnan(motion_fidelity_video(gen, ref))
    assert "0 generated and 1 reference" in det.nan_note(gen, ref)


def test_truncating_linspace_alignment():
    gen, ref = torch.zeros(1, 49, 2), torch.zeros(1, 16, 2)
    gen[0, :, 0] = torch.arange(49)
    aligned, _ = det.align_lengths(gen, ref)
    assert aligned[0, :, 0].tolist() == [0, 3, 6, 9, 12, 16, 19, 22, 25, 28, 32, 35, 38, 41, 44, 48]


def test_box_mask_leaves_out_the_last_row_and_column(soft_mask):
    array = np.zeros((6, 8), dtype=np.uint8)
    array[1, 2] = 3
    array[4, 6] = 200  # any nonzero pixel counts
    box = det.box_mask(array)
    assert box.sum() == 3 * 4 and box[1:4, 2:6].all() and not box[4].any() and not box[:, 6].any()
    torch.testing.assert_close(det.read_box_mask(soft_mask)[0], box_from_mask_png(soft_mask)[0, 0])
    with pytest.raises(InputError, match="empty"):
        det.box_mask(np.zeros((4, 4), dtype=np.uint8))


# each quirk changes the value when altered
def test_the_initial_position_is_kept(clips, tiny_hub, monkeypatch):
    before = _ours(tiny_hub, clips["gen_49f"], "MotFid@DeT", reference=clips["ref_16f"]).value

    def steps_only(tracks):  # altered: the first vector a copy of the first step, not the start position
        steps = tracks[:, 1:] - tracks[:, :-1]
        return torch.nn.functional.normalize(torch.cat([steps[:, :1], steps], dim=1), dim=-1)

    monkeypatch.setattr(det, "motion_vectors", steps_only)
    assert abs(_ours(tiny_hub, clips["gen_49f"], "MotFid@DeT", reference=clips["ref_16f"]).value - before) > 1e-4


def test_the_truncating_linspace_moves_the_value(monkeypatch):
    torch.manual_seed(5)
    gen, ref = torch.cumsum(torch.randn(200, 49, 2), dim=1), torch.cumsum(torch.randn(200, 16, 2), dim=1)
    before = det.motion_fidelity_det(gen, ref)
    assert before == pytest.approx(motion_fidelity_video(gen, ref), abs=TOL)

    def rounded(g, r):  # altered: rounded instead of truncated indices
        return g[:, torch.linspace(0, g.shape[1] - 1, r.shape[1]).round().long()], r

    monkeypatch.setattr(det, "align_lengths", rounded)
    assert abs(det.motion_fidelity_det(gen, ref) - before) > 1e-4


def test_no_identity_subtraction_and_division_by_w_and_h(clips, tiny_hub):
    gen, ref = _reference_tracks(clips["gen_49f"], None), _reference_tracks(clips["ref_16f"], None)
    normalised = det.motion_fidelity_det(gen, ref)
    pixels = det.motion_fidelity_det(gen * torch.tensor([240.0, 160.0]), ref * 192.0)  # altered: no division
    assert abs(normalised - pixels) > 1e-4
    assert normalised == pytest.approx(_ours(tiny_hub, clips["gen_49f"], "MotFid@DeT", reference=clips["ref_16f"])
                                       .value, abs=1e-12)  # fmt: skip
    same = _ours(tiny_hub, clips["pan_16f"], "MotFid@DeT", reference=clips["pan_16f"]).value
    pan = _reference_tracks(clips["pan_16f"], None)
    subtracted = float((det.cosine_matrix(pan, pan) - torch.eye(2500, dtype=torch.float64)).max(dim=1).values.mean())
    assert same == pytest.approx(1.0, abs=1e-9) and same - subtracted > 1e-5  # a video matches itself: 1


def test_the_mask_changes_the_grid_and_the_value(clips, soft_mask, tiny_hub, tmp_path):
    whole = _ours(tiny_hub, clips["pan_16f"], "MotFid@DeT", reference=clips["ref_16f"]).value
    masked = _ours(tiny_hub, clips["pan_16f"], "MotFid@DeT", reference=_with_mask(clips["ref_16f"], soft_mask,
                                                                                  tmp_path)).value  # fmt: skip
    assert abs(whole - masked) > 1e-4


def test_the_hybrid_seed_moves_the_value():
    torch.manual_seed(3)
    gen, ref = torch.rand(300, 8, 2), torch.rand(300, 8, 2)
    assert abs(det.hybrid_score(gen, ref, 0) - det.hybrid_score(gen, ref, 1)) > 1e-6
    assert det.hybrid_score(gen, ref, 0) == pytest.approx(hybrid_video(gen, ref, det.hybrid_indices(300, 0)), abs=TOL)


@pytest.mark.slow
def test_cotracker_call_matches_dets(clips, soft_mask, tmp_path, monkeypatch):
    """DeT's ``get_tracklets`` through CoTracker3's own ``CoTrackerPredictor(checkpoint=...)`` against jtbench's
    tracker on the same seeded real-size weights: grid 50, the mask rule and the support grid are the predictor's.
    Needs a local co-tracker checkout (``JTBENCH_COTRACKER_DIR``; CC-BY-NC, never vendored)."""
    from jtbench.models.trackers import COTRACKER3_OFFLINE, CoTracker3Offline, find_cotracker_checkout, grid_point_mask

    checkout = find_cotracker_checkout()
    if not isinstance(checkout, Path):
        pytest.skip("no local co-tracker checkout (set JTBENCH_COTRACKER_DIR)")
    files = CoTracker3Offline().build_tiny(tmp_path, seed=0)  # the real architecture, seeded random weights
    monkeypatch.syspath_prepend(str(checkout))
    from cotracker.predictor import CoTrackerPredictor

    predictor = CoTrackerPredictor(checkpoint=str(files[COTRACKER3_OFFLINE.id]))
    tracker = CoTracker3Offline().load(files, torch.device("cpu"), torch.float32)
    frames = read_video(clips["pan_16f"]).frames[:3]  # short: CoTracker3 is slow on a CPU
    box = box_from_mask_png(soft_mask)
    for mask in (None, box):
        theirs = tracklets(predictor, frames, mask)
        ours = tracker.track(frames, 50, None if mask is None else mask[0, 0]) / torch.tensor([300.0, 200.0])
        _record("CoTracker3 call" + (" with mask" if mask is not None else ""), "tracks (normalised)",
                float((ours - theirs).abs().max()), 0.0)  # fmt: skip
        torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)
    assert theirs.shape[0] == int(grid_point_mask(box[0, 0], 50).sum()) < 2500


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
