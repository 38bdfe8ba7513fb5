"""The two scoring structures ``score_speed.py`` and ``gpu_check.py`` time against each other.

Both sides run the *same* jtbench metric code with real-size architectures and seeded random
weights written in the published file formats (``paper_size_weights.py``), so the difference is
the structure alone:

- **jtbench**: each video decoded once (PyAV, prefetched on a CPU thread) and shared by every
  metric; each model loaded once per process; reference features cached; frames batched.
- **official** (JointTuner ``metrics/evaluate.py`` driving VBench 0.1.5, ``reference/metrics.md``
  §(a)): for every video, every module reloads its model(s) and decodes the file again — OpenCV
  for PickScore, CLIP-T/CLIP-I (one module), Mot-Smth, Dyn-Deg, Mot-Fid; decord for Subj-Con,
  Bkgd-Con, Aesth-Q, Img-Q — with the official batch sizes and nothing cached across videos.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paper_size_weights import PAPER_SIZE_BUILDERS  # noqa: E402  (beside this module)

from jtbench.io.layout import VideoEntry  # noqa: E402
from jtbench.io.video import VideoClip, file_sha256  # noqa: E402
from jtbench.metrics import scorer as scorer_module  # noqa: E402
from jtbench.metrics.base import PAPER_METRICS, Metric, Sample, ScoringContext  # noqa: E402
from jtbench.metrics.scorer import Scorer, TimedHub, resolve_metrics  # noqa: E402
from jtbench.models.base import BACKBONES, TINY_SEED  # noqa: E402

NINE = tuple(m for m in PAPER_METRICS if m != "motion_fidelity")  # CoTracker3 is not on PyPI (see above)
CPU_DEFAULT = tuple(m for m in NINE if m not in ("pick_score", "aesthetic_quality"))
WHOLE_CLIP = 10_000  # "batch = the whole video"


@dataclass(frozen=True)
class OfficialModule:
    """One module of the official loop: what it scores, how it decodes, its batch size."""

    metrics: tuple[str, ...]
    decoder: str  # "opencv" | "decord"
    batch_size: int


OFFICIAL_MODULES = (
    OfficialModule(("pick_score",), "opencv", WHOLE_CLIP),
    OfficialModule(("clip_t", "clip_i"), "opencv", 8),
    OfficialModule(("subject_consistency",), "decord", 1),
    OfficialModule(("background_consistency",), "decord", WHOLE_CLIP),
    OfficialModule(("motion_smoothness",), "opencv", 1),
    OfficialModule(("dynamic_degree",), "opencv", 1),
    OfficialModule(("aesthetic_quality",), "decord", 32),
    OfficialModule(("imaging_quality",), "decord", 1),
    OfficialModule(("motion_fidelity",), "opencv", WHOLE_CLIP),
)


class Meter:
    """Wall and process-CPU seconds per part, measured the same way on both sides.

    CPU seconds (all threads of this process) are the fairer figure on a shared machine, where
    other processes stretch wall-clock time unevenly between the two runs.
    """

    def __init__(self, device: str) -> None:
        self.device = device
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.peak_gib: float | None = None  # peak CUDA memory of the run (None off CUDA)
        self.problems: list[str] = []

    @contextmanager
    def measure(self, part: str) -> Iterator[None]:
        """Time the block; a load inside a metric's block counts as load, not as the metric.

        ``total`` keeps the loads inside it (a whole run's wall time), so ``total - load`` is the
        run without its loads. (It used to subtract them as well, so ``total - load`` took the
        loads off twice and went negative when the loads outweighed the work, e.g. on a cold cache.)
        """
        load_wall, load_cpu = self.wall["load"], self.cpu["load"]
        wall, cpu = time.perf_counter(), time.process_time()
        nested = part not in ("load", "total")
        try:
            yield
        finally:
            sync(self.device)
            inner_wall = self.wall["load"] - load_wall if nested else 0.0
            inner_cpu = self.cpu["load"] - load_cpu if nested else 0.0
            self.wall[part] += time.perf_counter() - wall - inner_wall
            self.cpu[part] += time.process_time() - cpu - inner_cpu


def instrument(metrics: list[str], meter: Meter) -> list[Metric]:
    """Metric instances whose ``score`` is timed into ``meter`` (loads inside it go to "load")."""
    out = resolve_metrics(metrics)
    for metric in out:
        real = metric.score

        def score(sample: Sample, ctx: ScoringContext, _real=real, _name=metric.spec.name) -> Any:
            with meter.measure(_name):
                return _real(sample, ctx)

        metric.score = score  # type: ignore[method-assign]
    return out


@dataclass(frozen=True)
class Setup:
    """What both structures share: device, precision, jtbench's batch size and where the weights are.

    ``tiny``: the backbones' own tiny random builds instead of the real-size ones (the same code
    path in seconds, for tests and ``gpu_check.py --tiny``).
    """

    device: str
    precision: str
    batch_size: int
    weights: Path
    tiny: bool = False


class PaperSizeHub(TimedHub):
    """A hub whose files are real-size random weights (built once into ``root``, then re-loaded)."""

    def __init__(self, setup: Setup, meter: Meter | None = None) -> None:
        super().__init__(backbones="tiny", device=setup.device, precision=setup.precision)
        self.root = setup.weights
        self.tiny = setup.tiny
        self.meter = meter

    def get(self, name: str) -> Any:
        if self.meter is None or name in self.load_seconds:
            return super().get(name)
        with self.meter.measure("load"):
            return super().get(name)

    def files(self, name: str) -> dict[str, Path]:
        if self.tiny:
            return super().files(name)
        if name not in self._files:
            folder = self.root / name
            marker = folder / "paper_size.json"
            if marker.is_file():
                files = {k: Path(v) for k, v in json.loads(marker.read_text()).items()}
            else:
                folder.mkdir(parents=True, exist_ok=True)
                build = PAPER_SIZE_BUILDERS.get(name) or BACKBONES.get(name)().build_tiny
                files = build(folder, TINY_SEED)
                marker.write_text(json.dumps({k: str(v) for k, v in files.items()}))
            self._files[name] = files
        return self._files[name]


def build_weights(setup: Setup, metrics: list[str]) -> dict[str, str]:
    """Write every backbone these metrics need (once); ``{backbone: problem}`` for those that failed."""
    hub, problems = PaperSizeHub(setup), {}
    for metric in resolve_metrics(metrics):
        for name in metric.spec.backbones:
            try:
                hub.files(name)
            except Exception as exc:  # e.g. CoTracker without a local checkout
                problems[name] = f"{type(exc).__name__}: {exc}"
    return problems


def decord_missing() -> bool:
    """decord is not installed (the offline GPU bundle leaves it out: 14 MB of a 64 MiB trip)."""
    import importlib.util

    return importlib.util.find_spec("decord") is None


def decode_like(decoder: str, path: Path) -> VideoClip:
    """Decode as the official module does (on h264 yuv420p the same bits as PyAV wherever measured).

    Without decord, its modules decode with PyAV instead (``run_official`` records that).
    """
    import numpy as np

    if decoder == "decord" and decord_missing():
        from jtbench.io.video import read_video

        return read_video(path)
    if decoder == "decord":
        import decord

        reader = decord.VideoReader(str(path), num_threads=1)
        frames = reader.get_batch(list(range(len(reader)))).asnumpy()
        fps = reader.get_avg_fps()
    else:
        import cv2

        capture = cv2.VideoCapture(str(path))
        fps = capture.get(cv2.CAP_PROP_FPS)
        images = []
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            images.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        capture.release()
        frames = np.stack(images)
    return VideoClip(torch.from_numpy(frames), float(fps), path, file_sha256(path))


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def reset_peak(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()


def peak_gib(device: str) -> float | None:
    """Peak CUDA memory since the last :func:`reset_peak`, GiB (None off CUDA)."""
    return round(torch.cuda.max_memory_allocated() / 2**30, 2) if device.startswith("cuda") else None


# -- the two runs -------------------------------------------------------------------------------
def run_jtbench(entries: list[VideoEntry], metrics: list[str], setup: Setup, out: Path) -> Meter:
    """The engine as `jtbench score` runs it. Its decodes run on the prefetch thread, overlapping
    the metrics: their wall and thread-CPU seconds are recorded apart (not on the critical path).
    The provenance hash of the weight files (cached after the first row) counts with the loads."""
    meter = Meter(setup.device)
    hub = PaperSizeHub(setup, meter)
    scorer = Scorer(instrument(metrics, meter), hub=hub, batch_size=setup.batch_size)
    real_digest = scorer.weights_digest

    def timed_digest() -> tuple[dict[str, str], str]:
        with meter.measure("load"):  # SHA-256 of the weight files: once per process, like the loads
            return real_digest()

    scorer.weights_digest = timed_digest  # type: ignore[method-assign]
    real_read = scorer_module.read_video

    def timed_read(path: Any, **kw: Any) -> VideoClip:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return real_read(path, **kw)
        finally:
            meter.wall["decode"] += time.perf_counter() - wall
            meter.cpu["decode"] += time.thread_time() - cpu

    scorer_module.read_video = timed_read
    reset_peak(setup.device)
    try:
        with meter.measure("total"):
            report = scorer.score(entries, out)
    finally:
        scorer_module.read_video = real_read
    meter.peak_gib = peak_gib(setup.device)
    meter.problems = [f"{u.video}: {u.problem}" for u in report.unscorable] + [
        f"{column}: failed on {n} video(s)" for column, n in report.metric_failures.items() if n
    ]
    if meter.problems:
        print("jtbench run problems:", meter.problems, file=sys.stderr, flush=True)
    for name, counts in json.loads((out / "provenance.json").read_text()).get("metric_details", {}).items():
        print(f"jtbench {name}: {json.dumps(counts)}", flush=True)  # e.g. Dyn-Deg's RAFT pairs computed
    return meter


def run_official(entries: list[VideoEntry], metrics: list[str], setup: Setup) -> Meter:
    """Per video, per module: a fresh hub (reload), a fresh decode, the official batch size."""
    meter = Meter(setup.device)
    selected = {m.spec.name: m for m in instrument(metrics, meter)}
    for metric in selected.values():
        if hasattr(metric, "stop_early"):
            metric.stop_early = False  # VBench flows every pair; the early stop is jtbench's saving
    reset_peak(setup.device)
    with meter.measure("total"):
        for entry in entries:
            for module in OFFICIAL_MODULES:
                names = [n for n in module.metrics if n in selected]
                if not names:
                    continue
                hub = PaperSizeHub(setup, meter)
                ctx = ScoringContext(hub=hub, batch_size=module.batch_size)  # nothing shared across videos
                with meter.measure("decode"):
                    clip = decode_like(module.decoder, entry.video)
                sample = Sample(clip, entry.prompt, None, entry.reference_image, entry.reference_video)
                for name in names:
                    selected[name].score(sample, ctx)
                del hub, ctx, sample, clip
                gc.collect()
                if setup.device.startswith("cuda"):
                    torch.cuda.empty_cache()
    meter.peak_gib = peak_gib(setup.device)
    if decord_missing():
        meter.problems.append("decord not installed: PyAV decoded for the four decord modules (their decode "
                              "seconds are PyAV's)")
    return meter
