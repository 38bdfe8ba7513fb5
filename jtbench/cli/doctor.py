"""`jtbench doctor`: check the machine before an hour-long run.

Python, torch, CUDA and each GPU (name, memory, driver), PyAV and its FFmpeg (h264 encoding),
free disk, which weights are present and verified, which benchmark data is prepared, and a
few-second smoke score with tiny random backbones. Exit code 1 when a check fails (a warning,
such as "no GPU" or "weights missing", does not fail: the tiny and CPU paths still work).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import typer

from jtbench.cli.output import OutputFormat, emit

OK, WARN, FAIL = "ok", "warn", "FAIL"
LOW_DISK_GB = 50  # the full benchmark keeps ~3,600 videos plus 360+ checkpoints per base model


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str


@dataclass(frozen=True)
class DoctorOptions:
    data: Path
    out: Path
    verify_weights: bool
    smoke: bool


def check_python(opts: DoctorOptions) -> list[Check]:
    version = platform.python_version()
    ok = sys.version_info >= (3, 10)
    return [Check("python", OK if ok else FAIL, f"{version} ({sys.executable})" + ("" if ok else "; needs >= 3.10"))]


def check_torch(opts: DoctorOptions) -> list[Check]:
    import torch

    checks = [Check("torch", OK, f"{torch.__version__}, CUDA build {torch.version.cuda or 'none'}")]
    if not torch.cuda.is_available():
        return [
            *checks,
            Check("cuda", WARN, "no CUDA device: training and sampling need a GPU; --backbones tiny works"),
        ]
    drivers = _nvidia_smi("driver_version")
    for i in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(i)
        driver = drivers[i] if i < len(drivers) else "unknown"
        detail = f"{props.name}, {props.total_memory / 2**30:.1f} GiB, capability {props.major}.{props.minor}"
        checks.append(Check(f"gpu {i}", OK, f"{detail}, driver {driver}"))
    return checks


def _nvidia_smi(field: str) -> list[str]:
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", f"--query-gpu={field}", "--format=csv,noheader"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def check_video(opts: DoctorOptions) -> list[Check]:
    import av

    libs = ", ".join(f"{k} {'.'.join(map(str, v))}" for k, v in sorted(av.library_versions.items())[:3])
    checks = [Check("pyav", OK, f"{av.__version__} (FFmpeg libraries: {libs})")]
    try:
        av.codec.Codec("libx264", "w")
        checks.append(Check("h264 encoder", OK, "libx264 available (videos are written as h264 mp4)"))
    except Exception as exc:
        checks.append(Check("h264 encoder", FAIL, f"libx264 not available in PyAV's FFmpeg: {exc}"))
    ffmpeg = shutil.which("ffmpeg")
    checks.append(Check("ffmpeg binary", OK if ffmpeg else WARN, ffmpeg or "not on PATH (not needed: PyAV bundles it)"))
    return checks


def check_disk(opts: DoctorOptions) -> list[Check]:
    from jtbench.paths import cache_dir

    checks = []
    for label, path in (("disk (run folder)", opts.out), ("disk (cache)", cache_dir())):
        existing = next((p for p in [path, *path.parents] if p.exists()), Path("/"))
        free_gb = shutil.disk_usage(existing).free / 2**30
        status = OK if free_gb >= LOW_DISK_GB else WARN
        checks.append(Check(label, status, f"{free_gb:.0f} GiB free at {existing}"))
    return checks


def check_weights(opts: DoctorOptions) -> list[Check]:
    from jtbench.cli.weights import describe, load_catalog
    from jtbench.weights.resolve import WeightResolver

    specs, problems = load_catalog()
    resolver = WeightResolver(offline=True)
    checks = [Check("weights import", WARN, line) for line in problems]
    for spec in specs:
        row = describe(spec, resolver, check=opts.verify_weights)
        if row["status"] == "missing":
            checks.append(Check(f"weights {spec.id}", WARN, f"missing — put it at {row['put_it_at']}"))
        elif row["sha256"] == "mismatch":
            checks.append(Check(f"weights {spec.id}", FAIL, f"checksum mismatch: {row['path']}"))
        else:
            checks.append(Check(f"weights {spec.id}", OK, f"{row['path']} (sha256 {row['sha256']})"))
    return checks


DEMO_DATA = Path("runs/demo/run/data")  # where `make demo` (jtbench demo --out runs/demo) prepares its slice


def check_data(opts: DoctorOptions) -> list[Check]:
    """The prepared benchmark data at --data, and the demo slice if `make demo` made one."""
    checks = _prepared("benchmark data", opts.data)
    if DEMO_DATA.resolve() != opts.data and (DEMO_DATA / "subjects").is_dir():
        checks += _prepared("demo slice", DEMO_DATA.resolve())
    return checks


PREPARE_HINT = "`jtbench data prepare --out DIR --source jointtuner=PATH` (or --download DIR): the paper's own files"


def _prepared(label: str, root: Path) -> list[Check]:
    from jtbench.benchmark import Benchmark
    from jtbench.benchmark.prepare import verify
    from jtbench.benchmark.prepared import MOTION_SETS, RELEASE_LABEL, lock_reference_set, read_lock

    manifest = Benchmark.load().manifest
    if not (root / "subjects").is_dir():
        fix = f"run {PREPARE_HINT} (or `make demo` for the offline demo slice)"
        return [Check(label, WARN, f"nothing prepared at {root} — {fix}")]
    subjects = [s for s in manifest.subjects if (root / "subjects" / s / "00.jpg").is_file()]
    counts = [f"{len(subjects)}/{len(manifest.subjects)} subjects"]
    complete = len(subjects) == len(manifest.subjects)
    for motion_set in MOTION_SETS:
        motions = [m for m in manifest.motions if (root / motion_set.folder / m / "00.mp4").is_file()]
        counts.append(f"{len(motions)}/{len(manifest.motions)} motions ({motion_set.frames} frames)")
        complete = complete and len(motions) == len(manifest.motions)
    checks = [Check(label, OK if complete else WARN, f"{root}: {', '.join(counts)}")]
    problems = verify(root)
    if problems:
        checks.append(Check(f"{label} lock", FAIL, f"{len(problems)} problem(s), e.g. {problems[0]}"))
    reference_set = lock_reference_set(read_lock(root) or {})
    if reference_set != RELEASE_LABEL:
        detail = f"{reference_set or 'unknown'}, not the paper's files — for paper numbers run {PREPARE_HINT}"
        checks.append(Check(f"{label} reference set", WARN, detail))
    else:
        checks.append(Check(f"{label} reference set", OK, f"{RELEASE_LABEL} (the paper's own files)"))
    return checks


SMOKE_METRICS = ("clip_t", "subject_consistency")


def check_smoke(opts: DoctorOptions) -> list[Check]:
    """Score one synthetic 16-frame clip with tiny random backbones: the whole metric path, in seconds."""
    if not opts.smoke:
        return [Check("smoke score", WARN, "skipped (--no-smoke)")]
    import numpy as np
    import torch

    from jtbench.io.video import VideoClip
    from jtbench.metrics.base import Sample, ScoringContext, create_metric
    from jtbench.models.base import ModelHub

    rng = np.random.default_rng(0)
    frames = torch.from_numpy(rng.integers(0, 256, (16, 64, 64, 3), dtype=np.uint8))
    sample = Sample(VideoClip(frames, 8.0, None, "doctor-smoke"), prompt="A dog walking on the grass.")
    ctx = ScoringContext(hub=ModelHub(backbones="tiny", device="cpu", precision="fp32"))
    checks = []
    for name in SMOKE_METRICS:
        start = time.perf_counter()
        try:
            value = create_metric(name).score(sample, ctx).value
            checks.append(Check(f"smoke {name}", OK, f"{value:.2f} in {time.perf_counter() - start:.1f} s (tiny)"))
        except Exception as exc:
            checks.append(Check(f"smoke {name}", FAIL, f"{type(exc).__name__}: {exc}"))
    return checks


CHECKS: tuple[Callable[[DoctorOptions], list[Check]], ...] = (
    check_python,
    check_torch,
    check_video,
    check_disk,
    check_weights,
    check_data,
    check_smoke,
)


def doctor(
    data: Path = typer.Option(
        Path(os.environ.get("JTBENCH_DATA", "data/prepared")), "--data", help="Prepared data to check."
    ),
    out: Path = typer.Option(Path("runs"), "--out", help="Where runs will write (free disk is checked there)."),
    verify_weights: bool = typer.Option(True, "--verify/--no-verify", help="Hash found weights (slow for GBs)."),
    smoke: bool = typer.Option(True, "--smoke/--no-smoke", help="Score a synthetic clip with tiny backbones."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="table, csv or json"),
) -> None:
    """Check Python, torch/CUDA/GPUs, PyAV, disk, weights, prepared data, and run a tiny smoke score."""
    opts = DoctorOptions(data.resolve(), out.resolve(), verify_weights, smoke)
    checks: list[Check] = []
    for check in CHECKS:
        try:
            checks.extend(check(opts))
        except Exception as exc:  # one broken check must not hide the others
            checks.append(Check(check.__name__.removeprefix("check_"), FAIL, f"{type(exc).__name__}: {exc}"))
    emit([{"check": c.name, "status": c.status, "detail": c.detail} for c in checks], fmt, title="jtbench doctor")
    failed = [c for c in checks if c.status == FAIL]
    if fmt is OutputFormat.table:
        warned = sum(c.status == WARN for c in checks)
        typer.echo(f"{len(checks)} checks: {len(failed)} failed, {warned} warnings")
    raise typer.Exit(1 if failed else 0)
