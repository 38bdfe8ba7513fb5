"""GPU-hour estimates for ``--dry-run``: per-job seconds from this run folder's own completed
jobs when there are any, else from the newest ``benchmarks/gpu_check.py`` results file, else
from the small table of published figures below.

Each figure says where it comes from. The published ones are the authors' own statements on
their GPUs (not measured by jtbench, GPUs differ); gpu-check figures were measured by jtbench on
the GPU the file names (random weights of the real architectures: the cost does not depend on
the weights); figures from completed job records are measured here, on whatever device ran
them. A job kind without any is listed as unknown, never guessed.
"""

from __future__ import annotations

import json
import os
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jtbench.execution.jobs import Job
from jtbench.execution.store import ArtifactStore
from jtbench.paths import REPO_ROOT


@dataclass(frozen=True)
class StepFigure:
    seconds: float  # per job (train: one unit; sample: one video; score: one video)
    source: str
    measured_here: bool = False


#: (method, stage) -> seconds per job on one GPU, as the methods' authors report them. A training
#: stage names the unit kind ("train:combination", "train:subject", "train:motion"), since methods
#: that train subjects and motions apart take different times for each.
PUBLISHED: dict[tuple[str, str], StepFigure] = {
    ("jointtuner", "train:combination"): StepFigure(
        1800, "published: JointTuner paper §4.1, 2000 steps 'about 30 minutes' (README: one RTX 4090)"
    ),
    ("motiondirector", "train:motion"): StepFigure(
        750, "published: MotionDirector README, multi-clip 300-500 steps 9-16 min on one A5000 (midpoint)"
    ),
    ("dreamvideo", "train:subject"): StepFigure(
        3750, "published: DreamVideo maintainer (VGen issue #116), subject steps 50 + 10-15 min on one A100"
    ),
    ("customttt", "train:subject"): StepFigure(240, "published: CustomTTT supplementary §1, spatial LoRA 4 min, A6000"),
    ("customttt", "train:motion"): StepFigure(240, "published: CustomTTT supplementary §1, temporal LoRA 4 min, A6000"),
}


#: (method, stage, base) -> seconds per job on a DiT base. No seconds/step was published for a LoRA
#: at 49 × 480 × 720 (reference/dit-bases.md §4), so training stays unknown until gpu-check's DiT
#: stage or a completed job measures it; sampling uses the published inference times.
_COGVIDEOX_DOCS = "published: diffusers docs training/cogvideox.md, inference with CPU offload"
PUBLISHED_DIT: dict[tuple[str, str, str], StepFigure] = {
    **{(m, "sample", "cogvideox-2b"): StepFigure(90, f"{_COGVIDEOX_DOCS}, CogVideoX-2B fp16 ~90 s on one A100")
       for m in ("jointtuner", "cogvideox-lora")},
    **{(m, "sample", "cogvideox-5b"): StepFigure(180, f"{_COGVIDEOX_DOCS}, CogVideoX-5B bf16 ~180 s on one A100")
       for m in ("jointtuner", "cogvideox-lora")},
    ("jointtuner", "sample", "wan2.1-1.3b"): StepFigure(
        240, "published: Wan2.1 README, 1.3B 5 s 480P video in ~4 min on one RTX 4090 (81 frames; the port samples 49)"
    ),
}


def _is_dit(base: str | None) -> bool:
    from jtbench.methods.t2v.bases import BASES

    return base is not None and base in BASES and BASES.get(base).is_dit


def dit_gpu_check_figures(path: Path, data: dict[str, Any], base: str) -> dict[tuple[str, str], StepFigure]:
    """Seconds per job from gpu-check's DiT stage (JointTuner on CogVideoX-2B) for ``base``."""
    label = f"gpu-check {path.name} ({data.get('device_name')}, {str(data.get('started', ''))[:10]})"
    figures: dict[tuple[str, str], StepFigure] = {}
    for row in data.get("stages", {}).get("dit", {}).get("items", []):
        if row.get("status") != "done" or row.get("base") != base:
            continue
        if row.get("projected_full_min"):
            figures[(row["method"], f"train:{row['unit']}")] = StepFigure(
                row["projected_full_min"] * 60,
                f"{label}: {row['s_per_step']:.3g} s/step x {row['full_steps']} steps (cached latents, no loading)")
        if row.get("projected_s_per_video"):
            figures[(row["method"], "sample")] = StepFigure(
                row["projected_s_per_video"], f"{label}: 50 x {row['s_per_sampler_step']:.3g} s/step (no VAE decode)")
    scored = [r for r in data.get("stages", {}).get("scoring", {}).get("items", [])
              if r.get("status") == "done" and r.get("side") == "jtbench" and r.get("per_video_s")
              and str(r.get("video", "")).startswith("49x")]
    if scored:  # the 49-frame video: the length the DiT bases generate
        figures[(ANY_METHOD, "score")] = StepFigure(scored[0]["per_video_s"],
                                                   f"{label}: nine metrics, {scored[0]['video']} video")
    return figures


def stage_of(job: Job) -> str:
    """``train:<unit kind>`` for training jobs, else the job kind."""
    return f"train:{job.payload['unit']['kind']}" if job.kind == "train" else job.kind


def measured_figures(store: ArtifactStore) -> dict[tuple[str, str], StepFigure]:
    """Median seconds per job of this folder's completion records, by (method, stage)."""
    durations: dict[tuple[str, str], list[float]] = defaultdict(list)
    for kind in ("train", "video", "score"):
        for rec in store.records(kind):
            parts = rec.get("key", "").split("/")
            if len(parts) < 4 or rec.get("duration_s", 0) <= 0:
                continue
            stage = {"train": f"train:{parts[3]}", "video": "sample", "score": "score"}[kind]
            durations[(parts[1], stage)].append(float(rec["duration_s"]))
    return {
        key: StepFigure(statistics.median(values), f"measured here: median of {len(values)} completed jobs", True)
        for key, values in durations.items()
    }


# -- benchmarks/gpu_check.py results -----------------------------------------------------------------
ANY_METHOD = "*"  # a figure that holds for every method's jobs of a stage (scoring)


def gpu_results_dir() -> Path:
    """Where ``make gpu-check`` writes (``JTBENCH_GPU_RESULTS`` overrides)."""
    return Path(os.environ.get("JTBENCH_GPU_RESULTS", REPO_ROOT / "benchmarks" / "results"))


def newest_gpu_check(folder: Path | None = None) -> tuple[Path, dict[str, Any]] | None:
    """The newest real-size ``gpu-*.json`` (by its start time); tiny code-path checks never count."""
    found = []
    for path in sorted((folder or gpu_results_dir()).glob("gpu-*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # a half-written or foreign file is not a measurement
        if isinstance(data, dict) and data.get("tool") == "benchmarks/gpu_check.py" and not data.get("tiny"):
            found.append((str(data.get("started", "")), path, data))
    if not found:
        return None
    _, path, data = max(found, key=lambda item: item[0])
    return path, data


def gpu_check_figures(path: Path, data: dict[str, Any]) -> dict[tuple[str, str], StepFigure]:
    """Seconds per job from a gpu-check file: training units (s/step × the unit's full steps), one
    sampled video per method, and jtbench's seconds per scored 16-frame video."""
    label = f"gpu-check {path.name} ({data.get('device_name')}, {str(data.get('started', ''))[:10]})"
    stages = data.get("stages", {})
    figures: dict[tuple[str, str], StepFigure] = {}
    for row in stages.get("training", {}).get("items", []):
        if row.get("status") == "done" and row.get("projected_full_min"):
            figures[(row["method"], f"train:{row['unit']}")] = StepFigure(
                row["projected_full_min"] * 60,
                f"{label}: {row['s_per_step']:.3g} s/step x {row['full_steps']} steps (loading not included)",
            )
    for row in stages.get("sampling", {}).get("items", []):
        if row.get("status") == "done" and row.get("s_per_video"):
            figures[(row["method"], "sample")] = StepFigure(row["s_per_video"], f"{label}: one sampled video")
    scored = [r for r in stages.get("scoring", {}).get("items", [])
              if r.get("status") == "done" and r.get("side") == "jtbench" and r.get("per_video_s")]
    if scored:
        row = scored[0]  # the 16-frame video: the size the methods generate
        figures[(ANY_METHOD, "score")] = StepFigure(row["per_video_s"], f"{label}: nine metrics, {row['video']} video")
    return figures


def projection_basis(folder: Path | None = None) -> str:
    """One line for ``--dry-run``: which figures the projection uses."""
    newest = newest_gpu_check(folder)
    if newest is None:
        return (f"published figures (no real-size gpu-check results in {folder or gpu_results_dir()}; "
                "run `make gpu-check` on a GPU)")
    path, data = newest
    return f"gpu-check {path} ({data.get('device_name')}, {data.get('started')}), published figures where it has none"


@dataclass(frozen=True)
class EstimateRow:
    method: str
    kind: str
    jobs: int
    seconds_each: float | None
    gpu_hours: float | None
    source: str


def _gpus_per_job(method: str, kind: str) -> float:
    """GPUs a job takes on a GPU cluster (the plan's own figure is 0 when planned for a CPU)."""
    from jtbench.methods.base import METHODS

    if kind == "score" or method not in METHODS:  # scoring actors hold one GPU each
        return 1.0
    try:
        return float(getattr(METHODS.get(method), "gpus", 1.0))
    except ImportError:  # an adapter whose extra is not installed here: assume one GPU
        return 1.0


def estimate(jobs: Sequence[Job], store: ArtifactStore, gpu_results: Path | None = None,
             base: str | None = None) -> list[EstimateRow]:
    """Estimated GPU-hours of ``jobs`` (the pending ones), per method and stage: this folder's
    completed jobs first, then the newest gpu-check file, then the published figures. On a DiT
    ``base`` only figures of that base count (the UNet ones would be wrong by an order of magnitude)."""
    newest = newest_gpu_check(gpu_results)
    if _is_dit(base):
        published = {(m, k): f for (m, k, b), f in PUBLISHED_DIT.items() if b == base}
        checked = dit_gpu_check_figures(*newest, base) if newest else {}
    else:
        published, checked = PUBLISHED, gpu_check_figures(*newest) if newest else {}
    figures = {**published, **checked, **measured_figures(store)}
    groups: dict[tuple[str, str], list[Job]] = defaultdict(list)
    for job in jobs:
        if job.kind != "report":
            groups[(job.method, stage_of(job))].append(job)
    rows = []
    for (method, kind), members in groups.items():
        count = sum(len(j.payload["videos"]) for j in members) if kind == "sample" else len(members)
        figure = figures.get((method, kind)) or figures.get((ANY_METHOD, kind))
        gpus = _gpus_per_job(method, kind.split(":")[0])
        if figure is None:
            rows.append(EstimateRow(method, kind, count, None, None,
                                    "unknown: no published or gpu-check figure, no completed job"))
        else:
            hours = count * figure.seconds * gpus / 3600
            rows.append(EstimateRow(method, kind, count, figure.seconds, hours, figure.source))
    return rows


def total_hours(rows: Sequence[EstimateRow]) -> float:
    return sum(r.gpu_hours or 0.0 for r in rows)
