"""The vbench-extra profile against VBench 0.1.5's own functions, run unchanged, on seeded random weights.

``temporal_flickering.cal_score`` reads the mp4 with OpenCV; ``overall_consistency.overall_consistency``
reads it with decord and runs VBench's own ``ViCLIP`` class, built at the tiny file's size (its
fixed-size builders ``clip_joint_l14`` / ``clip_text_l14`` swapped for the same classes at that
size) and loaded by VBench's own code (``torch.load(pretrain)['model']``, strict) from the very
``{'model': state_dict}`` file jtbench's tiny ViCLIP writes in VBench's cache layout.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from _profile_clips import FAST, LONG_PROMPT, PARITY_CLIPS, clips_fixture  # noqa: F401  (the clips fixture)

from jtbench.io.video import read_video
from jtbench.metrics import vbench_extra
from jtbench.metrics.base import PAPER_COLUMNS, Sample, ScoringContext, create_metric
from jtbench.metrics.clip_preprocess import CLIP_MEAN, CLIP_STD
from jtbench.metrics.profiles import get_profile, profile_metrics
from jtbench.models.viclip import (
    VICLIP_BPE,
    VICLIP_WEIGHTS,
    ViClip,
    ViClipTokenizer,
    full_viclip_config,
    tiny_viclip_config,
    viclip_config,
)
from jtbench.weights.resolve import WeightResolver

PROMPT = "A bear plushie playing the flute on the grass."
FLICKER, OVERALL = "Temp-Flicker@VBench", "Overall-Con@VBench"
TOL = 1e-6  # on the 0–1 scale
PARITY: dict[str, dict[str, float]] = {}


@pytest.fixture(scope="module")
def vbench_viclip(tiny_hub):
    """VBench's ViCLIP and tokenizer, as ``compute_overall_consistency`` builds them, from the tiny file."""
    import vbench.utils

    files = tiny_hub.files("viclip")
    bpe = Path(vbench.utils.CACHE_DIR) / "ViCLIP" / VICLIP_BPE.filename  # where VBench's tokenizer reads it
    bpe.parent.mkdir(parents=True, exist_ok=True)
    if not bpe.is_file():  # else importing VBench's tokenizer would wget it
        shutil.copyfile(files[VICLIP_BPE.id], bpe)
    import vbench.third_party.ViCLIP.viclip as viclip_module
    from vbench.third_party.ViCLIP.simple_tokenizer import SimpleTokenizer
    from vbench.third_party.ViCLIP.viclip_text import CLIP_TEXT
    from vbench.third_party.ViCLIP.viclip_vision import VisionTransformer

    size = tiny_viclip_config()

    def vision(pretrained=False, input_resolution=224, kernel_size=1, center=True, num_frames=8, drop_path=0.0,
               checkpoint_num=0, dropout=0.0):  # fmt: skip
        return VisionTransformer(input_resolution=input_resolution, patch_size=size["patch"],
                                 width=size["vision_width"], layers=size["vision_layers"],
                                 heads=size["vision_width"] // 64, output_dim=size["embed_dim"],
                                 kernel_size=kernel_size, num_frames=num_frames, drop_path=drop_path,
                                 checkpoint_num=checkpoint_num, dropout=dropout).eval()  # fmt: skip

    def text(embed_dim=768, context_length=77, vocab_size=49408, checkpoint_num=0, pretrained=True, **_):
        return CLIP_TEXT(size["embed_dim"], context_length, vocab_size, size["text_width"], size["text_width"] // 64,
                         size["text_layers"], checkpoint_num).eval()  # fmt: skip

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(viclip_module, "clip_joint_l14", vision)
        patch.setattr(viclip_module, "clip_text_l14", text)
        tokenizer = SimpleTokenizer(str(bpe))
        model = viclip_module.ViCLIP(tokenizer=tokenizer, pretrain=str(files[VICLIP_WEIGHTS.id]))
    return model, tokenizer


def vbench_overall(model_and_tokenizer, path: Path, prompt: str) -> float:
    from vbench import overall_consistency

    model, tokenizer = model_and_tokenizer
    overall_consistency.get_text_features.__defaults__[0].clear()  # its prompt cache outlives models
    _, results = overall_consistency.overall_consistency(model, [{"prompt": prompt, "video_list": [str(path)]}],
                                                         tokenizer, "cpu")  # fmt: skip
    return results[0]["video_results"]


def _ours(hub, path: Path, prompt: str = PROMPT) -> dict[str, float]:
    ctx = ScoringContext(hub=hub)
    sample = Sample(read_video(path), prompt=prompt)
    return {c: create_metric(c).score(sample, ctx).value for c in (FLICKER, OVERALL)}


@pytest.mark.parametrize("name", PARITY_CLIPS)
def test_matches_vbench(name, clips, tiny_hub, vbench_viclip):
    from vbench.temporal_flickering import cal_score

    ours = _ours(tiny_hub, clips[name])
    theirs = {FLICKER: cal_score(str(clips[name])), OVERALL: vbench_overall(vbench_viclip, clips[name], PROMPT)}
    PARITY[name] = {c: abs(ours[c] - theirs[c]) for c in ours}
    for column in ours:
        assert ours[column] == pytest.approx(theirs[column], abs=TOL), column


def test_a_prompt_over_32_tokens_is_cut_as_vbench_cuts_it(clips, tiny_hub, vbench_viclip):
    model, _ = vbench_viclip
    assert model.text_encoder.tokenize(LONG_PROMPT, context_length=32).count_nonzero() == 32  # really cut
    path = clips["car_16f_144x144"]
    ours = _ours(tiny_hub, path, LONG_PROMPT)[OVERALL]
    theirs = vbench_overall(vbench_viclip, path, LONG_PROMPT)
    PARITY["long prompt"] = {OVERALL: abs(ours - theirs)}
    assert ours == pytest.approx(theirs, abs=TOL)
    hub_model = tiny_hub.get("viclip")
    assert torch.equal(hub_model.tokenizer(LONG_PROMPT), model.text_encoder.tokenize(LONG_PROMPT, context_length=32))


def test_middle_frame_indices_are_vbenchs():
    from vbench.utils import get_frame_indices

    for length in range(1, 80):
        assert vbench_extra.middle_frame_indices(8, length) == list(get_frame_indices(8, length, sample="middle"))
    assert vbench_extra.middle_frame_indices(8, 49) == [2, 8, 14, 20, 26, 32, 38, 45]


# -- each quirk changes the value when altered ---------------------------------------------------
def test_flicker_reads_every_frame_at_full_resolution_and_consecutive_pairs(clips):
    frames = read_video(clips["car_16f_144x144"]).frames
    score = vbench_extra.flicker_score(frames)
    assert abs(vbench_extra.flicker_score(frames[::2]) - score) > 1e-4  # an fps subsampling
    half = torch.nn.functional.interpolate(frames.permute(0, 3, 1, 2).float(), scale_factor=0.5, mode="area")
    assert abs(vbench_extra.flicker_score(half.round().to(torch.uint8).permute(0, 2, 3, 1)) - score) > 1e-4
    to_first = np.mean([(f.float() - frames[0].float()).abs().mean().item() for f in frames[1:]])
    assert abs((255 - to_first) / 255 - score) > 1e-4  # against the first frame instead of the previous one


def test_flicker_has_no_static_filter(clips):
    """Custom mode scores moving videos too (VBench's static filter would drop them): motion lowers the value."""
    static = vbench_extra.flicker_score(read_video(clips["static_10f_96x128"]).frames)
    moving = vbench_extra.flicker_score(read_video(clips["panning_10f_96x128"]).frames)
    assert static > 0.99 and moving < static - 0.02


def test_overall_con_quirks_change_the_value(clips, tiny_hub, monkeypatch):
    path = clips["sample_49f_96x144"]
    base = _ours(tiny_hub, path)[OVERALL]

    def altered(attribute, replacement) -> float:
        with monkeypatch.context() as patch:
            patch.setattr(vbench_extra, attribute, replacement)
            return _ours(tiny_hub, path)[OVERALL]

    real_pixels = vbench_extra.vbench_clip_pixels
    linspace = altered("middle_frame_indices", lambda n, t: np.linspace(0, t - 1, n).astype(int).tolist())
    float_resize = altered("vbench_clip_pixels", lambda f, n, uint8: real_pixels(f, n, uint8=False))
    for value in (linspace, float_resize):
        assert abs(value - base) > 1e-6

    def antialiased(frames, n_px, uint8):
        from torchvision.transforms import functional as TF

        x = TF.resize(frames.permute(0, 3, 1, 2), n_px, interpolation=TF.InterpolationMode.BICUBIC, antialias=True)
        x = TF.center_crop(x, [n_px, n_px]).float() / 255.0
        return TF.normalize(x, CLIP_MEAN, CLIP_STD)

    assert abs(altered("vbench_clip_pixels", antialiased) - base) > 1e-6


def test_truncation_keeps_the_end_token_last(clips, tiny_hub, monkeypatch):
    """Cutting the long prompt without putting EOT last makes the encoder read another token."""
    path = clips["car_16f_144x144"]
    base = _ours(tiny_hub, path, LONG_PROMPT)[OVERALL]
    model = tiny_hub.get("viclip")

    def plain_cut(self, text):
        tokens = [self.sot, *self.bpe.encode(text), self.eot][: self.context]
        return torch.tensor([tokens], dtype=torch.int)

    monkeypatch.setattr(ViClipTokenizer, "__call__", plain_cut)
    ctx = ScoringContext(hub=tiny_hub)
    sample = Sample(read_video(path), prompt=LONG_PROMPT)
    assert model.tokenizer(LONG_PROMPT).shape == (1, 32)
    assert abs(create_metric(OVERALL).score(sample, ctx).value - base) > 1e-6


# -- errors, weights, registry ---------------------------------------------------------------------
def test_one_frame_and_no_prompt_are_errors_not_nan(clips, tiny_hub):
    from jtbench.errors import InputError

    video = read_video(clips["car_16f_144x144"]).select([0])
    ctx = ScoringContext(hub=tiny_hub)
    with pytest.raises(InputError, match="at least 2 frames"):
        create_metric(FLICKER).score(Sample(video), ctx)
    with pytest.raises(InputError, match="needs the prompt"):
        create_metric(OVERALL).score(Sample(read_video(clips["car_16f_144x144"])), ctx)


def test_the_released_viclip_size_is_vbenchs():
    """Built at the released size (on the meta device): VBench's 447 keys and 427.6 M parameters,
    and the size is read back from the state dict's shapes."""
    with torch.device("meta"):
        model = ViClip(full_viclip_config())
    state = model.state_dict()
    assert len(state) == 447
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(427.6e6, rel=5e-4)
    assert viclip_config(state) == full_viclip_config()


@pytest.mark.slow
def test_the_released_viclip_keys_and_shapes_match_vbenchs_class(vbench_viclip):
    """VBench's own ViCLIP at its fixed size (CPU, no weights file) has our keys and shapes."""
    import vbench.third_party.ViCLIP.viclip as viclip_module

    _, tokenizer = vbench_viclip
    theirs = viclip_module.ViCLIP(tokenizer=tokenizer, pretrain=None).state_dict()
    with torch.device("meta"):
        ours = ViClip(full_viclip_config()).state_dict()
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape) for k, v in theirs.items()}


def test_viclip_files_are_found_in_vbenchs_cache_and_openai_clips_package(tmp_path, monkeypatch):
    monkeypatch.setenv("VBENCH_CACHE_DIR", str(tmp_path / "vbench"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    resolver = WeightResolver(offline=True, root=tmp_path / "jtbench")
    assert resolver.find(VICLIP_WEIGHTS) is None
    cached = tmp_path / "vbench" / "ViCLIP" / "ViClip-InternVid-10M-FLT.pth"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"weights")
    assert resolver.resolve(VICLIP_WEIGHTS) == cached
    import clip

    assert resolver.resolve(VICLIP_BPE) == Path(clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    (cached.parent / VICLIP_BPE.filename).write_bytes(b"bpe")
    assert resolver.resolve(VICLIP_BPE) == cached.parent / VICLIP_BPE.filename  # VBench's copy first


def test_a_checkpoint_without_model_entry_is_a_clear_error(tmp_path):
    from jtbench.errors import WeightsError
    from jtbench.models.viclip import ViClipInternVid

    path = tmp_path / "ViClip-InternVid-10M-FLT.pth"
    torch.save({"state_dict": {}}, path)
    with pytest.raises(WeightsError, match="ViCLIP checkpoint") as err:
        ViClipInternVid().load({VICLIP_WEIGHTS.id: path, VICLIP_BPE.id: path}, torch.device("cpu"), torch.float32)
    assert str(path) in str(err.value)


def test_the_profile_is_a_registry_entry_outside_the_ten():
    profile = get_profile("vbench-extra")
    profile.check()
    assert profile.columns == (FLICKER, OVERALL)
    assert profile_metrics(["vbench-extra"]) == list(profile.metrics)
    for name in profile.metrics:
        spec = create_metric(name).spec
        assert spec.profile == "vbench-extra" and not spec.paper and spec.column not in PAPER_COLUMNS
    assert "temporal_style is the same code" in " ".join(profile.notes)


def test_print_parity_figures():
    """Not a check: |ours − VBench| per clip and column, for the record (``-s`` shows it)."""
    for run, diffs in PARITY.items():
        print(f"\nvbench-extra parity {run}:", {c: f"{v:.2e}" for c, v in diffs.items()})
