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


@pytest.fixture(scope="module")
def trained(shared_data, tmp_path_factory):
    method = get_method("dummy")
    combo = Benchmark.load().combinations(subject="backpack", motion="train_turning")[0]
    unit = method.sampling_units(combo)[0]
    data = TrainingData(
        subject_images=(shared_data / "subjects" / "backpack" / "00.jpg",),
        motion_clips=(shared_data / "motions" / "car_turn" / "car-turn.mp4",),
    )
    ckpt = method.train(unit, data, RunSettings(), tmp_path_factory.mktemp("ckpt"))
    return method, combo, ckpt


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
