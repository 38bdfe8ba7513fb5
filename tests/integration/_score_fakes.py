"""Small fake metrics and a fake backbone for the scoring-engine tests (no real model code).

They follow the real contracts: the backbone writes and loads a real ``.pt`` file through the
hub; the metrics read the shared decoded clip, cache per-video and per-reference features in
the context, and report through MetricValue. Counters let tests check the engine's promises
(one decode per video, one load per process, one feature per reference).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import torch

from jtbench.benchmark import Benchmark
from jtbench.errors import InputError
from jtbench.io.video import write_video
from jtbench.metrics.base import METRICS, Metric, MetricSpec, MetricValue, Sample, ScoringContext
from jtbench.models.base import BACKBONES, Backbone

CALLS: Counter[str] = Counter()
CASES = (
    "bear_plushie__person_playing_flute__grass",
    "bear_plushie__person_playing_flute__snow",
    "dog__person_playing_flute__beach",
)


class FakeBackbone(Backbone):
    """A 3-number "model" stored as a real torch file, so the hub's build/load path runs."""

    name = "jtbench_test_fake_backbone"

    def build_tiny(self, out_dir: Path, seed: int) -> dict[str, Path]:
        path = Path(out_dir) / "fake.pt"
        torch.save({"scale": torch.tensor([100.0 / 255.0])}, path)
        return {"fake-weight": path}

    def load(self, files: dict[str, Path], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        CALLS["load"] += 1
        return torch.load(files["fake-weight"], weights_only=True)["scale"].to(device, dtype)


class FakeBrightness(Metric):
    """Mean pixel value ×100/255, via a per-video cached feature (the frame means)."""

    spec = MetricSpec(
        name="jtbench_test_brightness",
        column="Fake-Bright",
        description="test",
        source="test",
        backbones=(FakeBackbone.name,),
        paper=False,
    )

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        scale = ctx.hub.get(FakeBackbone.name)
        means = ctx.cached(
            ("fake.frame_means", sample.video.digest), lambda: sample.video.frames.float().mean((1, 2, 3))
        )
        CALLS["brightness"] += 1
        return MetricValue(float(means.mean() * scale))


class FakeReference(Metric):
    """Needs both references; computes one "feature" per reference file (counted)."""

    spec = MetricSpec(
        name="jtbench_test_reference",
        column="Fake-Ref",
        description="test",
        source="test",
        needs_reference_image=True,
        needs_reference_video=True,
        needs_prompt=True,
        paper=False,
    )

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        def feature(path: Path) -> float:
            CALLS[f"ref:{Path(path).name}"] += 1
            return float(Path(path).stat().st_size % 97)

        image = ctx.cached(("fake.ref", str(sample.reference_image)), lambda: feature(sample.reference_image))
        video = ctx.cached(("fake.ref", str(sample.reference_video)), lambda: feature(sample.reference_video))
        return MetricValue(image + video + len(sample.prompt or ""))


class FakeFragile(Metric):
    """Fails (with a JtbenchError) on bright videos; attaches a note otherwise."""

    spec = MetricSpec(
        name="jtbench_test_fragile", column="Fake-Fragile", description="test", source="test", paper=False
    )

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        if float(sample.video.frames.float().mean()) > 128:
            raise InputError("too bright for this metric", file=sample.video.source, fix="darken the video")
        return MetricValue(1.0, note="scored on a test metric")


class FakeSilentNaN(Metric):
    """Returns NaN without raising: the engine must still say why the cell is empty."""

    spec = MetricSpec(name="jtbench_test_nan", column="Fake-NaN", description="test", source="test", paper=False)

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        return MetricValue(float("nan"))


class FakeBug(Metric):
    """Raises a plain Python error (an unexpected bug)."""

    spec = MetricSpec(name="jtbench_test_bug", column="Fake-Bug", description="test", source="test", paper=False)

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        raise ZeroDivisionError("division by zero")


BACKBONES.add(FakeBackbone.name, FakeBackbone, replace=True)
for _metric in (FakeBrightness, FakeReference, FakeFragile, FakeSilentNaN, FakeBug):
    METRICS.add(_metric.spec.name, _metric, aliases=(_metric.spec.column,), replace=True)

GOOD = ("jtbench_test_brightness", "jtbench_test_reference", "jtbench_test_fragile")


def make_video(path: Path, level: int, frames: int = 6, size: int = 16) -> Path:
    """A small h264 clip of constant grey ``level`` plus seeded noise (distinct bytes per level)."""
    rng = np.random.default_rng(level)
    array = np.clip(level + rng.integers(-8, 9, (frames, size, size, 3)), 0, 255).astype(np.uint8)
    return write_video(array, path, fps=8)


def make_prepared(root: Path) -> Path:
    """Prepared data for the subjects/motions of :data:`CASES` (sizes differ so features differ)."""
    for subject, n in (("bear_plushie", 10), ("dog", 20)):
        (root / "subjects" / subject).mkdir(parents=True, exist_ok=True)
        (root / "subjects" / subject / "00.jpg").write_bytes(b"j" * n)
    (root / "motions" / "person_playing_flute").mkdir(parents=True, exist_ok=True)
    (root / "motions" / "person_playing_flute" / "00.mp4").write_bytes(b"m" * 30)
    return root


def bench(root: Path) -> Benchmark:
    return Benchmark.load(data_root=root)
