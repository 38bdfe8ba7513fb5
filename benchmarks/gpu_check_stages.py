"""What ``gpu_check.py`` measures: the preflight, then scoring, training and sampling.

Every input is synthesised on the spot (no network, no shared data); every model is a seeded
random build of the real architecture (``--tiny``: the tiny builds, same code path).
"""

from __future__ import annotations

import math
import platform
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from gpu_budget import Stage, free_memory
from scoring_structures import NINE, Setup, build_weights, peak_gib, reset_peak, run_jtbench, run_official, sync

from jtbench.io.layout import VideoEntry
from jtbench.io.video import write_video

TRAIN_METHODS = ("jointtuner", "motiondirector", "dreamvideo", "customttt")
#: Config paths whose step counts one unit trains in full (two clips per motion: the multi-clip
#: schedule). The projection is s/step × these steps; loading and latent caching are apart.
FULL_STEPS: dict[tuple[str, str], tuple[str, ...]] = {
    ("jointtuner", "combination"): ("train.steps",),
    ("motiondirector", "subject"): ("spatial.steps",),
    ("motiondirector", "motion"): ("temporal.steps_multi_clip",),
    ("dreamvideo", "subject"): ("textual_inversion.steps", "identity_adapter.steps"),
    ("dreamvideo", "motion"): ("motion_adapter.steps_multi_clip",),
    ("customttt", "subject"): ("spatial_lora.steps",),
    ("customttt", "motion"): ("temporal_lora.steps",),
}


@dataclass(frozen=True)
class Options:
    device: str
    tiny: bool
    precision: str  # the methods' training/sampling precision (fp16 on CUDA, fp32 on CPU)
    work: Path  # scratch folder (videos, weights, checkpoints)
    weights: Path  # real-size random metric weights (kept between runs on one machine)
    warmup_steps: int
    measured_steps: int
    project_videos: int


# -- preflight ---------------------------------------------------------------------------------
def preflight(device: str) -> dict[str, Any]:
    """Seconds: CUDA present, device name, free memory, versions; a first kernel to pay CUDA's start.

    Versions are read from the installed metadata, not by importing (diffusers alone takes ~20 s
    to import on a slow CPU), so the preflight prints within seconds.
    """
    import jtbench

    info: dict[str, Any] = {
        "python": platform.python_version(), "torch": torch.__version__, "cuda_runtime": torch.version.cuda,
        **{name: _version(name) for name in ("diffusers", "transformers", "torchvision", "numpy")},
        "jtbench": jtbench.__version__, "cpu_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(), "cuda_available": torch.cuda.is_available(),
    }
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise SystemExit("gpu_check: --device cuda but torch sees no CUDA device (use --device cpu --tiny to "
                             "check the code path)")
        start = time.perf_counter()
        x = torch.randn(1024, 1024, device=device)
        (x @ x).sum().item()
        free, total = torch.cuda.mem_get_info()
        props = torch.cuda.get_device_properties(torch.device(device))
        info.update(device_name=torch.cuda.get_device_name(device), capability=f"{props.major}.{props.minor}",
                    free_gib=round(free / 2**30, 1), total_gib=round(total / 2**30, 1),
                    first_kernel_s=round(time.perf_counter() - start, 2), bf16=torch.cuda.is_bf16_supported())
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    else:
        info["device_name"] = platform.processor() or platform.machine() or "cpu"
    return info


def _version(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


# -- synthetic inputs ----------------------------------------------------------------------------
def moving_pattern(frames: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    """uint8 ``[T, H, W, 3]``: smooth colour waves drifting a few pixels a frame (real motion for
    Dyn-Deg / Mot-Smth, cheap to encode, unlike noise)."""
    g = torch.Generator().manual_seed(seed)
    phase = torch.rand(3, generator=g) * 6.28
    y = torch.linspace(0, 6.28 * 3, height)[:, None]
    x = torch.linspace(0, 6.28 * 4, width)[None, :]
    out = []
    for t in range(frames):
        channels = [torch.sin(x * (1 + c * 0.3) + y * (0.5 + c * 0.2) + phase[c] + t * 0.35) for c in range(3)]
        out.append(torch.stack(channels, dim=-1))
    return ((torch.stack(out) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


def write_image(pixels: torch.Tensor, path: Path) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.numpy()).save(path, quality=95)
    return path


def scoring_videos(folder: Path, tiny: bool) -> list[tuple[str, VideoEntry]]:
    """The two videos the issue names (16×384×384 and 49×480×720 at 8 fps); with --tiny one small
    video through the same loop (128 px: Mot-Smth's AMT-S refuses smaller frames; RAFT-large and
    AMT-S are full-size even in tiny mode, so each extra video costs seconds on a CPU)."""
    specs = [(8, 128, 128)] if tiny else [(16, 384, 384), (49, 480, 720)]
    reference = write_image(moving_pattern(1, 256, 256, seed=7)[0], folder / "reference.jpg")
    motion = write_video(moving_pattern(16, 128, 128, seed=8), folder / "reference.mp4", fps=8)
    out = []
    for i, (frames, h, w) in enumerate(specs):
        path = write_video(moving_pattern(frames, h, w, seed=i), folder / f"video_{frames}x{h}x{w}.mp4", fps=8)
        entry = VideoEntry(video=path, origin=path.name, prompt="A bear plushie playing the flute on the grass.",
                           reference_image=reference, reference_video=motion, method="gpu-check")
        out.append((f"{frames}x{h}x{w}", entry))
    return out


def training_data(folder: Path, tiny: bool, bench: Any, combination: Any):
    """Four subject images and two motion clips (24 fps, sampled down to 16 frames at 8 fps), with
    the combination's own captions (DreamVideo samples only prompts naming its subject)."""
    from jtbench.methods.base import TrainingData

    side, (clip_h, clip_w), clip_frames = (96, (64, 96), 20) if tiny else (512, (320, 576), 48)
    images = tuple(write_image(moving_pattern(1, side, side, seed=20 + i)[0], folder / f"subject_{i}.jpg")
                   for i in range(4))
    clips = tuple(write_video(moving_pattern(clip_frames, clip_h, clip_w, seed=30 + i), folder / f"clip_{i}.mp4",
                              fps=8 if tiny else 24) for i in range(2))
    return TrainingData(
        subject_images=images, image_caption=bench.image_caption(combination.subject), motion_clips=clips,
        motion_caption=bench.motion_caption(combination.motion),
        subject_phrase=bench.manifest.subjects[combination.subject].phrase,
    )


# -- scoring ---------------------------------------------------------------------------------------
def _side(meter: Any, metrics: list[str], project: int) -> dict[str, Any]:
    per_video = meter.wall["total"] - meter.wall["load"]  # one video per run: the load is paid once per process
    return {
        "metrics_s": {m: round(meter.wall.get(m, 0.0), 3) for m in metrics},
        "decode_s": round(meter.wall["decode"], 3), "load_s": round(meter.wall["load"], 3),
        "total_s": round(meter.wall["total"], 3), "per_video_s": round(per_video, 3),
        "videos_per_min": round(60 / per_video, 2) if per_video > 0 else None,
        "peak_gib": None if meter.peak_gib is None else round(meter.peak_gib, 2), "problems": meter.problems,
    }


def score_stage(stage: Stage, opts: Options) -> None:
    """jtbench's engine and the official structure on the same device, one synthetic video at a time."""
    metrics = list(NINE)
    setup = Setup(opts.device, "anchor", 16, opts.weights, tiny=opts.tiny)
    folder = opts.work / "scoring"
    with stage.item("synthesise videos") as row:
        videos = scoring_videos(folder, opts.tiny)
        row["videos"] = [name for name, _ in videos]
    if stage.fits("build weights", 20 if opts.tiny else 60):
        with stage.item("build weights") as row:
            row["backbones"] = "tiny random" if opts.tiny else f"real-size random ({opts.weights})"
            row["problems"] = build_weights(setup, metrics)
    if not opts.tiny and stage.fits("warm-up", 10):  # first-call costs (CUDA kernels, allocator) off the timings
        with stage.item("warm-up (jtbench, an 8-frame 128x128 clip)") as row:
            warm = write_video(moving_pattern(8, 128, 128), folder / "warm.mp4", fps=8)
            first = videos[0][1]
            entry = VideoEntry(video=warm, origin="warm", prompt="warm-up", reference_image=first.reference_image,
                               reference_video=first.reference_video, method="gpu-check")
            row["problems"] = run_jtbench([entry], metrics, setup, folder / "warm_out").problems
    stage.plan([f"{side} {name}" for name, _ in videos for side in ("jtbench", "official")])
    cost: dict[str, tuple[float, int]] = {}  # side -> (seconds, pixels x frames) of its last run
    last = 15.0
    for name, entry in videos:
        size = math.prod(int(v) for v in name.split("x"))
        for side in ("jtbench", "official"):
            what = f"{side} {name}"
            # The same side on the previous video, scaled by pixels x frames; else the last item.
            need = cost[side][0] * size / cost[side][1] if side in cost else last
            if not stage.fits(what, need):
                continue
            with stage.item(what) as row:
                start = time.perf_counter()
                if side == "jtbench":
                    meter = run_jtbench([entry], metrics, setup, folder / f"out_{name}")
                else:
                    meter = run_official([entry], metrics, setup)
                row.update(video=name, side=side, **_side(meter, metrics, opts.project_videos))
                last = time.perf_counter() - start
                cost[side] = (last, size)
        compare_sides(stage.record, opts.project_videos)
        stage.results.save()


def compare_sides(record: dict[str, Any], project: int) -> None:
    """Ratio and projection per video whose two sides are both measured (also run after the stages,
    so a stage interrupted right after its last item still gets them)."""
    for video in {r["video"] for r in record.get("items", []) if r.get("video")}:
        rows = {r.get("side"): r for r in record["items"] if r.get("video") == video and r["status"] == "done"}
        if not {"jtbench", "official"} <= rows.keys():
            continue
        jt, off = rows["jtbench"], rows["official"]
        record.setdefault("comparison", {})[video] = {
            "ratio": round(off["per_video_s"] / jt["per_video_s"], 2) if jt["per_video_s"] > 0 else None,
            f"projected_min_{project}": {
                "jtbench": round((jt["load_s"] + jt["per_video_s"] * project) / 60, 1),
                "official": round(off["total_s"] * project / 60, 1),
            },
        }


# -- training ---------------------------------------------------------------------------------------
@contextmanager
def step_marks(device: str) -> Iterator[list[float]]:
    """Time stamps at the end of every training step of any method: all four call
    ``GradScaler.update()`` once per step (a no-op scaler on CPU / bf16 included)."""
    original = torch.amp.GradScaler.update
    marks: list[float] = []

    def update(self: Any, *args: Any, **kwargs: Any) -> Any:
        out = original(self, *args, **kwargs)
        sync(device)
        marks.append(time.perf_counter())
        return out

    torch.amp.GradScaler.update = update  # type: ignore[method-assign]
    try:
        yield marks
    finally:
        torch.amp.GradScaler.update = original  # type: ignore[method-assign]


def step_seconds(marks: list[float], warmup: int) -> dict[str, Any]:
    """Mean and median step time after ``warmup`` steps. Gaps over 4× the median (a phase switch:
    DreamVideo's textual inversion → identity adapter sets up a new model) are left out and counted."""
    intervals = [b - a for a, b in zip(marks, marks[1:], strict=False)][max(warmup - 1, 0):]
    if not intervals:
        return {"s_per_step": None, "steps_timed": 0}
    median = statistics.median(intervals)
    kept = [s for s in intervals if s <= 4 * median]
    return {"s_per_step": round(statistics.fmean(kept), 4), "median_s_per_step": round(median, 4),
            "steps_timed": len(kept), "gaps_left_out": len(intervals) - len(kept)}


def full_steps(method: Any, kind: str) -> int | None:
    cfg = method.config()
    total = 0
    for path in FULL_STEPS.get((method.name, kind), ()):
        node: Any = cfg
        for key in path.split("."):
            node = node[key]
        total += int(node)
    return total or None


def settings_for(opts: Options, overrides: dict[str, Any]):
    from jtbench.methods.base import RunSettings

    return RunSettings(backbones="tiny" if opts.tiny else "paper", device=opts.device, precision=opts.precision,
                       offline=True, overrides=overrides)


@contextmanager
def base_models(opts: Options) -> Iterator[None]:
    """Tiny runs load the tiny pipeline as any run would; real-size runs build random ones in memory."""
    if opts.tiny:
        yield
        return
    from real_size_t2v import real_size_base

    from jtbench.methods.base import get_method

    for name in TRAIN_METHODS:  # import the adapters first: the swap reaches the modules loaded by then
        get_method(name)
    with real_size_base(opts.device):
        yield


def train_stage(stage: Stage, opts: Options, checkpoints: dict[str, list[Any]]) -> None:
    """A few steps of every unit of one combination of each method; checkpoints kept for sampling."""
    from jtbench.benchmark.combinations import Benchmark
    from jtbench.methods.base import get_method

    bench = Benchmark.load()
    combination = bench.combinations()[0]
    data = training_data(opts.work / "training_data", opts.tiny, bench, combination)
    steps = opts.warmup_steps + opts.measured_steps
    wanted: dict[str, Any] = {"steps": steps, **({"resolution": 64} if opts.tiny else {})}
    need = 10.0 if opts.tiny else 30.0
    stage.plan([f"train {name}/{unit.kind}" for name in TRAIN_METHODS
                for unit in get_method(name).sampling_units(combination)])
    with base_models(opts):
        for name in TRAIN_METHODS:
            method = get_method(name)
            overrides = {k: v for k, v in wanted.items() if _accepts(method, k)}
            for unit in method.sampling_units(combination):
                what = f"train {name}/{unit.kind}"
                if not stage.fits(what, need):
                    continue
                with stage.item(what) as row:
                    cfg = method.resolved_config(settings_for(opts, overrides))
                    row.update(method=name, unit=unit.kind, precision=opts.precision, steps_run=steps,
                               resolution=_first(cfg, "resolution"), frames=_first(cfg, "frames"))
                    reset_peak(opts.device)
                    start = time.perf_counter()
                    with step_marks(opts.device) as marks:
                        ckpt = method.train(unit, data, settings_for(opts, overrides),
                                            opts.work / "train" / name / unit.kind)
                    row.update(step_seconds(marks, opts.warmup_steps), peak_gib=peak_gib(opts.device),
                               steps_marked=len(marks), train_call_s=round(time.perf_counter() - start, 2))
                    total = full_steps(method, unit.kind)
                    row["full_steps"] = total
                    if total and row["s_per_step"]:
                        row["projected_full_min"] = round(total * row["s_per_step"] / 60, 2)
                    checkpoints.setdefault(name, []).append(ckpt)
                    need = row["train_call_s"]
                if row["status"] != "done":
                    checkpoints.setdefault(name, []).append(None)
            _combination_row(stage, name)


def _first(cfg: dict[str, Any], key: str) -> Any:
    """``key`` at the top of a config or in its first section that has it (configs nest differently)."""
    if key in cfg:
        return cfg[key]
    return next((v[key] for v in cfg.values() if isinstance(v, dict) and key in v), None)


def _combination_row(stage: Stage, method: str) -> None:
    rows = [r for r in stage.record["items"] if r.get("method") == method and r["status"] == "done"]
    minutes = [r.get("projected_full_min") for r in rows]
    if rows and all(m is not None for m in minutes):
        stage.record.setdefault("per_combination", {})[method] = {
            "units": [r["unit"] for r in rows], "projected_full_min": round(sum(minutes), 2),
            "peak_gib": max((r["peak_gib"] for r in rows if r["peak_gib"] is not None), default=None),
        }
        stage.results.save()


# -- sampling ---------------------------------------------------------------------------------------
def sample_stage(stage: Stage, opts: Options, checkpoints: dict[str, list[Any]]) -> None:
    """One video per method at its configured steps, from the checkpoints the training stage wrote."""
    from jtbench.benchmark.combinations import Benchmark
    from jtbench.methods.base import SampleRequest, get_method

    bench = Benchmark.load()
    case = bench.cases(combinations=[bench.combinations()[0]])[0]
    overrides = {"sample_steps": 2, "ttt_steps": 1, "resolution": 64} if opts.tiny else {}
    need = 10.0 if opts.tiny else 30.0
    stage.plan([f"sample {name}" for name in TRAIN_METHODS])
    with base_models(opts):
        for name in TRAIN_METHODS:
            what = f"sample {name}"
            ckpts = checkpoints.get(name, [])
            if not ckpts or any(c is None for c in ckpts):
                stage.skip(what, "no checkpoint: its training was skipped or failed")
                continue
            if not stage.fits(what, need):
                continue
            method = get_method(name)
            with stage.item(what) as row:
                settings = settings_for(opts, {k: v for k, v in overrides.items() if _accepts(method, k)})
                request = SampleRequest(case=case, seed=0, height=64 if opts.tiny else None,
                                        width=64 if opts.tiny else None)
                reset_peak(opts.device)
                sync(opts.device)
                start = time.perf_counter()
                paths = method.sample(ckpts, [request], settings, opts.work / "samples" / name)
                sync(opts.device)
                seconds = time.perf_counter() - start
                cfg = method.resolved_config(settings)
                section = cfg.get("sample") or cfg.get("sampling") or {}
                row.update(method=name, s_per_video=round(seconds, 2), peak_gib=peak_gib(opts.device),
                           videos=len(paths), sample_steps=section.get("steps"),
                           note="includes building the base model and loading the checkpoint")
                need = seconds
            free_memory(opts.device)


def _accepts(method: Any, override: str) -> bool:
    """Whether the method's config takes this shortcut (``ttt_steps`` is CustomTTT's alone)."""
    import importlib

    module = importlib.import_module(type(method).__module__)
    return override in getattr(module, "SHORTCUTS", {})

