"""Jobs and the planner: methods × base model × training units × backgrounds × seeds → keyed jobs.

Every job key is a path-like string built only from what determines the job's output:
``<kind>/<method>/<base model>/<unit or case>/<seed>/<config hash>``. The config hash covers
the method's hyperparameters, the run settings that change results (backbones, precision,
overrides) and, for downstream jobs, the hash of the job they consume, so a changed config
gives new keys (the old outputs are simply not used) and an unchanged one finds its
completion records and is skipped.

Four kinds, run stage by stage: ``train`` (one per training unit), ``sample`` (one per
combination and seed: the chosen backgrounds' videos from that combination's checkpoints;
each video has its own record, so a half-finished sample job resumes per video), ``score``
(one per video) and ``report`` (merges the score rows into ``results.parquet`` and writes the
report; always re-run, it is cheap).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from jtbench.benchmark.combinations import Benchmark, Combination
from jtbench.execution.store import ArtifactStore, safe_name
from jtbench.methods.base import METHODS, RunSettings, TrainUnit

JobKind = Literal["train", "sample", "score", "report"]
STAGES: tuple[JobKind, ...] = ("train", "sample", "score", "report")
#: Where a job kind keeps score rows before the report merges them: one shard per video.
SHARDS_DIR = "scores"


def config_hash(obj: Any, length: int = 12) -> str:
    """Stable short hash of a JSON-able object (keys sorted, so dict order never matters)."""
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]


@dataclass(frozen=True)
class Job:
    """One idempotent unit of work. ``payload`` is JSON-able, so jobs travel to any worker."""

    kind: JobKind
    key: str
    method: str
    base_model: str
    payload: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    deps: tuple[str, ...] = ()  # keys of jobs whose outputs this one reads
    gpus: float = 1.0

    @property
    def label(self) -> str:
        return self.key.split("/", 1)[1] if "/" in self.key else self.key


@dataclass(frozen=True)
class JobResult:
    key: str
    kind: JobKind
    ok: bool
    error: str | None = None
    duration_s: float = 0.0
    skipped: bool = False  # not attempted because a job it depends on failed
    info: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class RunRequest:
    """Everything a run needs, picklable (it is shipped to worker processes and Ray tasks)."""

    methods: tuple[str, ...]
    base_model: str
    out_dir: Path
    data_root: Path
    combinations: tuple[Combination, ...]
    backgrounds: tuple[str, ...]
    seeds: tuple[int, ...] = (0,)
    settings: RunSettings = field(default_factory=RunSettings)
    metrics: tuple[str, ...] = ()  # empty: the ten paper metrics
    score_precision: str = "anchor"  # metrics run as the official evaluation did, whatever the method used
    manifests: Path | None = None
    env: dict[str, str] = field(default_factory=dict, hash=False)  # cache locations for workers
    report_formats: tuple[str, ...] = ("md", "html")

    def benchmark(self) -> Benchmark:
        return Benchmark.load(self.manifests, self.data_root)

    def method_gpus(self, method: str) -> float:
        """GPUs a train/sample job asks for: 0 on CPU runs and for methods that declare ``gpus = 0``."""
        if not str(self.settings.device).startswith("cuda"):
            return 0.0
        return float(getattr(METHODS.get(method), "gpus", 1.0))

    def scoring_settings(self) -> dict[str, Any]:
        return {"metrics": list(self.metrics), "backbones": self.settings.backbones, "precision": self.score_precision}

    @property
    def scoring_gpus(self) -> float:
        return 1.0 if str(self.settings.device).startswith("cuda") else 0.0


@dataclass
class Plan:
    request: RunRequest
    jobs: list[Job]

    def stage(self, kind: JobKind) -> list[Job]:
        return [j for j in self.jobs if j.kind == kind]

    def counts(self) -> Counter:
        return Counter((j.kind, j.method) for j in self.jobs)

    def to_json(self) -> list[dict[str, Any]]:
        return [asdict(j) for j in self.jobs]


def _settings_fingerprint(settings: RunSettings) -> dict[str, Any]:
    """Settings that change outputs (the device does not: a job may move between GPUs)."""
    return {
        "base_model": settings.base_model,
        "backbones": settings.backbones,
        "precision": settings.precision,
        "overrides": settings.overrides,
    }


def _unit_label(unit: TrainUnit) -> str:
    return f"{unit.kind}/{unit.subject or '-'}__{unit.motion or '-'}"


def build_plan(request: RunRequest) -> Plan:
    """All jobs for ``request`` in stage order; whether each is done is the store's business."""
    jobs: list[Job] = []
    base = request.base_model
    score_keys: list[str] = []
    bench = request.benchmark()
    for method_name in request.methods:
        method = METHODS.get(method_name)()
        method.check_base(base)
        gpus = request.method_gpus(method_name)
        method_hash = config_hash({"method": method.config(), "settings": _settings_fingerprint(request.settings)})
        train_keys: dict[str, str] = {}
        for unit in method.units(list(request.combinations)):
            key = f"train/{method_name}/{base}/{_unit_label(unit)}/{method_hash}"
            train_keys[unit.key] = key
            payload = {"unit": asdict(unit), "config_hash": method_hash}
            jobs.append(Job("train", key, method_name, base, payload, (), gpus))
        for combo in request.combinations:
            units = method.sampling_units(combo)
            deps = tuple(train_keys[u.key] for u in units)
            sample_hash = config_hash({"train": deps, "sample": method_hash})
            for seed in request.seeds:
                cases = [bench.case(combo, bg) for bg in request.backgrounds]
                videos = {c.case_id: video_key(method_name, base, c.case_id, seed, sample_hash) for c in cases}
                key = f"sample/{method_name}/{base}/{combo.id}/seed{seed}/{sample_hash}"
                payload = {
                    "combination": asdict(combo),
                    "units": [asdict(u) for u in units],
                    "seed": seed,
                    "backgrounds": list(request.backgrounds),
                    "videos": videos,
                }
                jobs.append(Job("sample", key, method_name, base, payload, deps, gpus))
                for case in cases:
                    score_hash = config_hash({"video": videos[case.case_id], "scoring": request.scoring_settings()})
                    score_key = f"score/{method_name}/{base}/{case.case_id}/seed{seed}/{score_hash}"
                    score_payload = {"case_id": case.case_id, "seed": seed, "video_key": videos[case.case_id]}
                    jobs.append(Job("score", score_key, method_name, base, score_payload, (key,), request.scoring_gpus))
                    score_keys.append(score_key)
    report_key = f"report/{'+'.join(request.methods)}/{base}/{config_hash(score_keys)}"
    jobs.append(Job("report", report_key, "+".join(request.methods), base, {"scores": score_keys}, (), 0.0))
    order = {kind: i for i, kind in enumerate(STAGES)}
    jobs.sort(key=lambda j: order[j.kind])  # stable: keeps plan order within a stage
    return Plan(request, jobs)


def video_key(method: str, base: str, case_id: str, seed: int, sample_hash: str) -> str:
    """The record key of one generated video."""
    return f"video/{method}/{base}/{case_id}/seed{seed}/{sample_hash}"


def video_path(request: RunRequest, method: str, case_id: str, seed: int) -> Path:
    """Where a method's video lands: the SPEC naming rule ``<case_id>/<seed>.mp4``."""
    return videos_dir(request, method) / case_id / f"{seed}.mp4"


def videos_dir(request: RunRequest, method: str) -> Path:
    return request.out_dir / "videos" / method / request.base_model


def checkpoint_dir(request: RunRequest, train_key: str) -> Path:
    """``checkpoints/<method>/<base>/<unit kind>/<subject>__<motion>/<config hash>``."""
    return request.out_dir / "checkpoints" / train_key.split("/", 1)[1]


def shard_dir(request: RunRequest, key: str) -> Path:
    """The score shard of one job, below the run's state folder (read by the tasks and the report)."""
    return ArtifactStore(request.out_dir).state / SHARDS_DIR / safe_name(key)
