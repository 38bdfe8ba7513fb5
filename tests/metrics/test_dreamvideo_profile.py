"""The dreamvideo profile against VGen's cal_metric_DreamVideo.py, re-expressed, on seeded random weights.

The reference loads the same files the official way: the TorchScript ViT-B/32 archive through
``clip.load`` and the ``vit_small`` state dict into DINO's own architecture (re-expressed in
``_dreamvideo_reference``), then follows ``calculate_metric``: OpenCV decode, one batch, ToPILImage.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from _dreamvideo_reference import DinoViT, dreamvideo_reference, load_vit_small, opencv_frames, target_files
from sample_media import BICYCLE_CLIPS, CAR_TURN, downscale
from weights_helpers import load_saved, offline_resolver, place

from jtbench.errors import InputError
from jtbench.io.video import read_video, write_video
from jtbench.metrics import dreamvideo
from jtbench.metrics.base import PAPER_COLUMNS, Sample, ScoringContext, create_metric
from jtbench.metrics.profiles import PROFILES, get_profile, profile_metrics
from jtbench.models.dino import DINO_VITS16_WEIGHTS, DinoViTS16

PROMPT = "A bear plushie playing the flute on the grass."
COLUMNS = ("CLIP-T@DreamVideo", "CLIP-I@DreamVideo", "DINO-I@DreamVideo", "T-Cons@DreamVideo")
TOL = 1e-6  # on the profile's 0–1 scale, fp32
PARITY: dict[str, dict[str, float]] = {}  # per video, per column: |ours - reference| (printed at the end)


@pytest.fixture(scope="module")
def videos(shared_data, sample_video, tmp_path_factory) -> dict[str, Path]:
    """Real clips of unequal lengths and sizes: the 49-frame sample and re-encoded real footage."""
    out = tmp_path_factory.mktemp("dreamvideo_videos")
    car = read_video(CAR_TURN).frames[:13]
    bike = read_video(BICYCLE_CLIPS[1]).frames[:21]
    return {
        "sample_49f_480x720": sample_video,
        "car_13f_160x212": write_video(downscale(car, 160, 212), out / "car.mp4", fps=24),
        "bike_21f_300x168": write_video(downscale(bike, 300, 168), out / "bike.mp4", fps=30),
    }


@pytest.fixture(scope="module")
def subject_dir(shared_data) -> Path:
    return shared_data / "subjects" / "bear_plushie"


@pytest.fixture(scope="module")
def official(tiny_hub):
    """The tiny files loaded the script's way: ``clip.load`` (CPU → fp32) and ``vit_small`` + load_state_dict."""
    import clip

    clip_file = next(iter(tiny_hub.files("clip_vit_b_32").values()))
    clip_model, clip_preprocess = clip.load(str(clip_file), device="cpu")
    dino = load_vit_small(tiny_hub.files(DinoViTS16.name)[DINO_VITS16_WEIGHTS.id])
    return clip_model.eval(), clip_preprocess, dino


def _ours(tiny_hub, video: Path, folder: Path, prompt: str = PROMPT, *, select=None) -> dict[str, float]:
    clip = read_video(video)
    if select is not None:
        clip = clip.select(select(clip.num_frames))
    ctx = ScoringContext(hub=tiny_hub, batch_size=7)  # batches unlike the script's single one
    sample = Sample(clip, prompt=prompt, reference_images=folder)
    return {c: create_metric(c).score(sample, ctx).value for c in COLUMNS}


@pytest.fixture(scope="module")
def reference_values(videos, subject_dir, official) -> dict[str, dict[str, float]]:
    """The script's four numbers per video (computed on first use: the 49-frame one only in slow runs)."""
    clip_model, clip_preprocess, dino = official
    files = target_files(subject_dir)

    class Lazy(dict):
        def __missing__(self, name: str) -> dict[str, float]:
            values = dreamvideo_reference(videos[name], PROMPT, files, clip_model, clip_preprocess, dino)
            self[name] = dict(zip(COLUMNS, values, strict=True))
            return self[name]

    return Lazy()


@pytest.mark.parametrize(
    "name", [pytest.param("sample_49f_480x720", marks=pytest.mark.slow), "car_13f_160x212", "bike_21f_300x168"]
)
def test_matches_the_official_script(name, videos, subject_dir, reference_values, tiny_hub):
    ours = _ours(tiny_hub, videos[name], subject_dir)
    theirs = reference_values[name]
    PARITY[name] = {c: abs(ours[c] - theirs[c]) for c in COLUMNS}
    for column in COLUMNS:
        assert ours[column] == pytest.approx(theirs[column], abs=TOL), column
    assert len({round(v, 6) for v in ours.values()}) == 4  # four different numbers, not one copied


def test_the_shared_decode_is_opencvs(videos):
    """The profile reads the one PyAV decode; the script reads OpenCV's frames: the same pixels."""
    for path in videos.values():
        assert torch.equal(read_video(path).frames, opencv_frames(path))


# -- each documented quirk changes the value when altered -----------------------------------------
def test_no_renormalisation_of_the_mean_frame(videos, subject_dir, reference_values, tiny_hub, monkeypatch):
    name = "car_13f_160x212"
    monkeypatch.setattr(dreamvideo, "mean_frame", lambda f: F.normalize(f.mean(dim=0), dim=0))
    altered = _ours(tiny_hub, videos[name], subject_dir)
    for column in COLUMNS[:3]:  # T-Cons never averages
        assert abs(altered[column] - reference_values[name][column]) > 1e-4, column
    assert altered[COLUMNS[3]] == pytest.approx(reference_values[name][COLUMNS[3]], abs=TOL)


def test_all_reference_images_are_used(videos, subject_dir, reference_values, tiny_hub, tmp_path):
    name = "car_13f_160x212"
    only_first = tmp_path / "first"
    only_first.mkdir()
    shutil.copy(subject_dir / "00.jpg", only_first / "00.jpg")
    altered = _ours(tiny_hub, videos[name], only_first)
    for column in ("CLIP-I@DreamVideo", "DINO-I@DreamVideo"):
        assert abs(altered[column] - reference_values[name][column]) > 1e-4, column
    assert altered["CLIP-T@DreamVideo"] == pytest.approx(reference_values[name]["CLIP-T@DreamVideo"], abs=TOL)


def test_all_frames_are_used(videos, subject_dir, reference_values, tiny_hub):
    name = "bike_21f_300x168"
    altered = _ours(tiny_hub, videos[name], subject_dir, select=lambda n: range(0, n, 3))  # an fps subsampling
    for column in COLUMNS:
        assert abs(altered[column] - reference_values[name][column]) > 1e-6, column


def test_only_lower_case_jpg_files_are_references(videos, subject_dir, tiny_hub, tmp_path):
    """``f.endswith('.jpg')``: a .jpeg, .JPG or .png beside them is not read."""
    mixed, plain = tmp_path / "mixed", tmp_path / "plain"
    mixed.mkdir(), plain.mkdir()
    shutil.copy(subject_dir / "00.jpg", mixed / "00.jpg")
    shutil.copy(subject_dir / "00.jpg", plain / "00.jpg")
    for other, suffix in zip(("01", "02", "03"), (".JPG", ".jpeg", ".png"), strict=True):
        shutil.copy(subject_dir / f"{other}.jpg", mixed / f"{other}{suffix}")
    assert dreamvideo.reference_jpgs(mixed) == [mixed / "00.jpg"]
    ctx = ScoringContext(hub=tiny_hub)
    video = read_video(videos["car_13f_160x212"])
    for backbone in (dreamvideo.CLIP, dreamvideo.DINO):
        samples = [Sample(video, reference_images=folder) for folder in (mixed, plain)]
        features = [dreamvideo.reference_features(sample, ctx, backbone) for sample in samples]
        assert features[0].shape[0] == 1 and torch.equal(*features)


def test_a_folder_without_jpgs_is_an_error_not_a_zero(videos, tiny_hub, tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    ctx = ScoringContext(hub=tiny_hub)
    sample = Sample(read_video(videos["car_13f_160x212"]), prompt=PROMPT, reference_images=tmp_path)
    with pytest.raises(InputError, match="no .jpg") as err:
        create_metric("CLIP-I@DreamVideo").score(sample, ctx)
    assert str(tmp_path) in str(err.value)


def test_a_prompt_over_77_tokens_fails_as_in_the_script(videos, tiny_hub):
    ctx = ScoringContext(hub=tiny_hub)
    sample = Sample(read_video(videos["car_13f_160x212"]), prompt="a bear " * 60)
    with pytest.raises(InputError, match="77 tokens"):
        create_metric("CLIP-T@DreamVideo").score(sample, ctx)


# -- weights, registry ---------------------------------------------------------------------------
def test_a_real_size_vit_small_state_dict_loads_and_matches_dinos_forward(tmp_path):
    """The published file's format: DINO's ``vit_small`` keys (12 blocks, 384-d); outputs agree."""
    torch.manual_seed(0)
    reference = DinoViT(depth=12).eval()
    with torch.no_grad():
        for param in reference.parameters():
            param.add_(0.05 * torch.randn_like(param))
    ours = load_saved(DinoViTS16(), reference.state_dict(), tmp_path)
    assert len(ours.blocks) == 12 and ours.embed_dim == 384 and ours.blocks[0].attn.num_heads == 6
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), rtol=0, atol=2e-5)


def test_vits16_weights_come_from_hubconfs_address_and_torch_hubs_cache(tmp_path, monkeypatch):
    spec = DINO_VITS16_WEIGHTS
    assert spec.urls == ("https://dl.fbaipublicfiles.com/dino/dino_deitsmall16_pretrain/dino_deitsmall16_pretrain.pth",)
    assert spec.sha256 is None  # unpublished: locked on first download like the others
    resolver = offline_resolver(tmp_path, monkeypatch)
    assert resolver.find(spec) is None
    cached = place(tmp_path / "torch" / "hub" / "checkpoints" / "dino_deitsmall16_pretrain.pth", b"weights")
    assert resolver.resolve(spec) == cached


def test_the_profile_is_a_registry_entry_outside_the_ten():
    profile = get_profile("dreamvideo")
    assert "dreamvideo" in PROFILES and profile.columns == COLUMNS
    profile.check()  # the declared columns are the metrics' own
    assert profile_metrics(["dreamvideo", "dreamvideo"]) == list(profile.metrics)
    for name in profile.metrics:
        spec = create_metric(name).spec
        assert spec.profile == "dreamvideo" and not spec.paper and spec.column not in PAPER_COLUMNS
    with pytest.raises(Exception, match="did you mean dreamvideo"):
        get_profile("dreamvidoe")


def test_the_cuda_fp16_path_is_the_scripts(videos, subject_dir, tiny_hub, monkeypatch):
    """On CUDA, ``clip.load`` leaves CLIP in fp16 and the script normalises, averages and multiplies
    in fp16. Emulated on CPU: the anchor precision made to give fp16 here, the reference's CLIP put
    through ``convert_weights`` as ``clip.load(device="cuda")`` leaves it."""
    import clip
    from clip.model import convert_weights

    from jtbench.models import base

    real = base.resolve_dtype
    monkeypatch.setattr(base, "resolve_dtype", lambda p, d, b: real(p, torch.device("cuda"), b))
    hub = base.ModelHub(backbones="tiny", device="cpu", precision="anchor", tiny_dir=tiny_hub.tiny_dir)
    ctx = ScoringContext(hub=hub, batch_size=5)  # the script encodes all frames in one batch
    assert hub.dtype_for("clip_vit_b_32") == torch.float16 and hub.dtype_for(DinoViTS16.name) == torch.float32
    path = videos["car_13f_160x212"]
    sample = Sample(read_video(path), prompt=PROMPT, reference_images=subject_dir)
    ours = {c: create_metric(c).score(sample, ctx).value for c in COLUMNS}
    assert dreamvideo.frame_features(sample, ctx, dreamvideo.CLIP).dtype == torch.float16

    clip_model, clip_preprocess = clip.load(str(next(iter(hub.files("clip_vit_b_32").values()))), device="cpu")
    convert_weights(clip_model)
    dino = load_vit_small(hub.files(DinoViTS16.name)[DINO_VITS16_WEIGHTS.id])
    theirs = dict(zip(COLUMNS, dreamvideo_reference(path, PROMPT, target_files(subject_dir), clip_model.eval(),
                                                    clip_preprocess, dino), strict=True))  # fmt: skip
    fp32 = _ours(tiny_hub, path, subject_dir)
    for column in COLUMNS:
        PARITY.setdefault("fp16 (CUDA path on CPU)", {})[column] = abs(ours[column] - theirs[column])
        assert ours[column] == pytest.approx(theirs[column], abs=TOL), column
    assert any(abs(ours[c] - fp32[c]) > 1e-5 for c in COLUMNS)  # fp16 really ran: not the fp32 numbers


def test_print_parity_figures():
    """Not a check: |ours - reference| per run and column, for the record (``-s`` shows it)."""
    for run, diffs in PARITY.items():
        print(f"\ndreamvideo parity {run}:", {c: f"{v:.2e}" for c, v in diffs.items()})
