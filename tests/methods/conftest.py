"""Fixtures shared by every method test: one tiny random text-to-video pipeline per session.

The pipeline is built from configs with seeded random weights, saved as a diffusers folder in
the session's isolated cache (where ``RunSettings(backbones="tiny")`` also finds it) and loaded
back through the real loading code. Importing diffusers costs ~19 s: keep method tests in one
pytest process.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_t2v_path(_isolated_cache) -> Path:
    import torch

    from jtbench.methods.t2v.tiny import ensure_tiny_base

    torch.set_num_threads(2)
    return ensure_tiny_base()


@pytest.fixture
def tiny_t2v(tiny_t2v_path):
    """A freshly loaded tiny base model (adapters mutate the UNet, so each test gets its own)."""
    from jtbench.methods.t2v.base_model import load_base_model

    return load_base_model(tiny_t2v_path)


@pytest.fixture
def tiny_settings(tiny_t2v_path):
    """RunSettings for a tiny CPU run: tiny backbones, fp32, 3 steps at 64 px."""
    from jtbench.methods.base import RunSettings

    return RunSettings(backbones="tiny", device="cpu", precision="fp32", overrides={"steps": 3, "resolution": 64})


@pytest.fixture(scope="session")
def tiny_training_data(shared_data):
    """One real subject (two photos) and the car-turn clip, with the benchmark's caption style."""
    from jtbench.methods.base import TrainingData

    images = tuple(sorted((shared_data / "subjects" / "backpack").glob("*.jpg"))[:2])
    return TrainingData(
        subject_images=images, image_caption="A backpack.",
        motion_clips=(shared_data / "motions" / "car_turn" / "car-turn.mp4",),
        motion_caption="A train turning.", subject_phrase="backpack",
    )


@pytest.fixture
def one_torch_thread():
    """Tiny models gain nothing from intra-op threads; on a shared, oversubscribed 2-core machine two
    threads made each UNet call ~20–50× slower (measured). Restored after each test."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def train_backpack_train_turning(tiny_training_data, tmp_path):
    """``run(method, settings) -> (checkpoints, case)``: every unit of the backpack × train_turning
    combination trained under ``tmp_path/<unit kind>``, and one benchmark case to sample."""
    from jtbench.benchmark import Benchmark

    def run(method, settings):
        bench = Benchmark.load()
        combo = bench.combinations(subject="backpack", motion="train_turning")[0]
        checkpoints = [method.train(unit, tiny_training_data, settings, tmp_path / unit.kind)
                       for unit in method.sampling_units(combo)]
        return checkpoints, bench.cases(subject="backpack", motion="train_turning", backgrounds="grass")[0]

    return run
