"""Memory-sized batches change nothing: each metric at batch 1, at the automatic batch, and squeezed.

One real clip (the shared sample's first 9 frames, downscaled to 128x160 so RAFT and AMT stay
above their 128-px floor), the session's tiny backbones (RAFT-large and AMT-S are the real
architectures), the metric through ``metric.score`` exactly as the scorer calls it.
"""

from __future__ import annotations

import pytest
from sample_media import downscale

from jtbench.io.video import VideoClip, read_video
from jtbench.metrics.base import PAPER_METRICS, Sample, ScoringContext, create_metric
from jtbench.metrics.memory import MemoryBudget

TOLERANCE = 1e-4  # the parity tests' tolerance on the 0–100 scale


@pytest.fixture(autouse=True)
def gpu_batching(monkeypatch):
    """The batched path a GPU takes: a CPU runs some backbones one item per call (COSTS' cpu_batch)."""
    import dataclasses

    from jtbench.metrics.memory import COSTS

    for name, model in list(COSTS.items()):
        if model.cpu_batch is not None:
            monkeypatch.setitem(COSTS, name, dataclasses.replace(model, cpu_batch=None))


class ThreeAtATime(MemoryBudget):
    """As if the device had room for three items of any model (forces several calls)."""

    def batch_size(self, cost: int, limit: int, what: str) -> int:
        return min(limit, 3)


@pytest.fixture(scope="module")
def sample(shared_data, sample_video) -> Sample:
    clip = read_video(sample_video)
    frames = downscale(clip.frames[:9], 128, 160)
    video = VideoClip(frames, clip.fps, sample_video, "batch-parity-clip")
    return Sample(
        video,
        prompt="a plush bear playing the flute",
        reference_image=shared_data / "subjects" / "bear_plushie" / "00.jpg",
        reference_video=shared_data / "motions" / "car_turn" / "car-turn.mp4",
    )


@pytest.mark.parametrize("name", PAPER_METRICS)
def test_batch_one_equals_automatic_and_squeezed_batches(name, sample, tiny_hub):
    metric = create_metric(name)
    one = metric.score(sample, ScoringContext(hub=tiny_hub, batch_size=1)).value
    automatic = metric.score(sample, ScoringContext(hub=tiny_hub, batch_size=64)).value
    squeezed = metric.score(sample, ScoringContext(hub=tiny_hub, batch_size=64, memory=ThreeAtATime())).value
    assert abs(automatic - one) <= TOLERANCE and abs(squeezed - one) <= TOLERANCE, (one, automatic, squeezed)


@pytest.mark.parametrize(
    ("name", "backbone", "detail"),
    [
        ("Dyn-Deg", "raft_large", "raft_pairs_correlation_on_demand"),
        ("Mot-Smth", "amt_s", "amt_pairs_correlation_on_demand"),
    ],
)
def test_correlation_on_demand_gives_the_volumes_value(name, backbone, detail, sample, tiny_hub, monkeypatch):
    """Where the official volume does not fit, the on-demand path scores the same and says it ran."""
    from jtbench.metrics import memory

    metric = create_metric(name)
    official = metric.score(sample, ScoringContext(hub=tiny_hub, batch_size=4))
    assert not (official.details or {}).get(detail)
    monkeypatch.setitem(memory.COSTS, backbone, memory.CostModel(base=1 << 50))  # the volume never fits
    lean = metric.score(sample, ScoringContext(hub=tiny_hub, batch_size=4))
    assert abs(lean.value - official.value) <= TOLERANCE, (official.value, lean.value)
    assert lean.details[detail] > 0
