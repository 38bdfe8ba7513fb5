"""The dummy method: deterministic 16-frame 8-FPS videos that follow the reference clip's motion."""

from __future__ import annotations

import numpy as np
import pytest

from jtbench.benchmark import Benchmark
from jtbench.errors import InputError
from jtbench.io.video import file_sha256, read_video
from jtbench.methods.base import RunSettings, SampleRequest, TrainingData, get_method
from jtbench.methods.dummy import DEFAULT_SIZE, motion_path, phase_shift


def test_phase_shift_finds_a_known_translation():
    rng = np.random.default_rng(0)
    image = rng.normal(size=(64, 64))
    moved = np.roll(image, shift=(3, -5), axis=(0, 1))
    assert phase_shift(image, moved) == (3.0, -5.0)


def test_motion_path_follows_a_moving_square():
    frames = np.zeros((5, 64, 64, 3), np.uint8)
    for t in range(5):
        frames[t, 20:30, 10 + 4 * t : 20 + 4 * t] = 255
    path = motion_path(frames, 16)
    assert len(path) == 16 and path[0] == (0.0, 0.0)
    assert path[4][1] == pytest.approx(16 / 64) and path[4][0] == pytest.approx(0.0)
    assert path[15] == path[4], "shorter clips hold their last position"


def _train(name: str, data_root, workdir):
    method = get_method(name)
    combo = Benchmark.load().combinations(subject="backpack", motion="train_turning")[0]
    unit = method.sampling_units(combo)[0]
    data = TrainingData(
        subject_images=(data_root / "subjects" / "backpack" / "00.jpg",),
        motion_clips=(data_root / "motions" / "train_turning" / "00.mp4",),
    )
    return method, combo, method.train(unit, data, RunSettings(), workdir)


@pytest.fixture(scope="module")
def trained(demo_data_root, tmp_path_factory):
    return _train("dummy", demo_data_root, tmp_path_factory.mktemp("ckpt"))


def test_samples_have_the_benchmark_shape_and_are_deterministic(trained, tmp_path):
    method, combo, ckpt = trained
    case = Benchmark.load().case(combo, "grass")
    first = method.sample([ckpt], [SampleRequest(case, 0), SampleRequest(case, 1)], RunSettings(), tmp_path / "a")
    again = method.sample([ckpt], [SampleRequest(case, 0)], RunSettings(), tmp_path / "b")
    assert first[0] == tmp_path / "a" / case.case_id / "0.mp4"
    clip = read_video(first[0])
    assert clip.frames.shape == (16, DEFAULT_SIZE, DEFAULT_SIZE, 3) and clip.fps == 8.0
    assert file_sha256(first[0]) == file_sha256(again[0]), "same case and seed, same bytes"
    assert file_sha256(first[0]) != file_sha256(first[1]), "another seed, another texture"
    frames = clip.frames.float()
    assert (frames[1:] - frames[:-1]).abs().mean() > 0.5, "the subject moves"


def test_background_changes_the_video(trained, tmp_path):
    method, combo, ckpt = trained
    bench = Benchmark.load()
    grass, snow = (bench.case(combo, bg) for bg in ("grass", "snow"))
    a, b = method.sample([ckpt], [SampleRequest(grass, 0), SampleRequest(snow, 0)], RunSettings(), tmp_path)
    corner_a, corner_b = read_video(a).frames[0, :8, :8].float().mean(), read_video(b).frames[0, :8, :8].float().mean()
    assert abs(corner_a - corner_b) > 5


def test_training_without_media_names_the_problem(tmp_path):
    method = get_method("dummy")
    combo = Benchmark.load().combinations(subject="dog", motion="dog_walking")[0]
    with pytest.raises(InputError, match="needs a subject image and a motion clip"):
        method.train(method.sampling_units(combo)[0], TrainingData(), RunSettings(), tmp_path)


def _motion(video) -> float:
    frames = read_video(video).frames.float()
    return float((frames[1:] - frames[:-1]).abs().mean())


def test_demo_variants_differ_where_the_metrics_look(trained, demo_data_root, tmp_path):
    """dummy follows the reference motion, dummy-static holds still, dummy-noise is noise."""
    method, combo, ckpt = trained
    case = Benchmark.load().case(combo, "grass")
    videos = {"dummy": method.sample([ckpt], [SampleRequest(case, 0)], RunSettings(), tmp_path / "dummy")[0]}
    for name in ("dummy-static", "dummy-noise"):
        variant, _, variant_ckpt = _train(name, demo_data_root, tmp_path / f"ckpt-{name}")
        videos[name] = variant.sample([variant_ckpt], [SampleRequest(case, 0)], RunSettings(), tmp_path / name)[0]
    assert _motion(videos["dummy-static"]) < 0.5 < _motion(videos["dummy"]) < 20 < _motion(videos["dummy-noise"])
    first = {n: read_video(v).frames[0].float() for n, v in videos.items()}
    assert (first["dummy"] - first["dummy-static"]).abs().mean() < 3, "both start from the same still (h264 aside)"
    assert (first["dummy"] - first["dummy-noise"]).abs().mean() > 40
