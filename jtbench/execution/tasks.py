"""What each job kind does, the same code in every executor (in-process, worker process, Ray).

:func:`execute` never raises for a job's own failure: the error is written to the store's
failure record and returned in the :class:`JobResult`, so one bad input or one CUDA OOM
costs one job, not the run. Models stay loaded between jobs of one process through the
per-process scorer cache (a Ray scoring actor is such a process).
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jtbench.errors import JtbenchError
from jtbench.execution.jobs import Job, JobResult, RunRequest, checkpoint_dir, shard_dir, video_path, videos_dir
from jtbench.execution.store import ArtifactStore
from jtbench.methods.base import Checkpoint, SampleRequest, TrainingData, TrainUnit, get_method


def execute(job: Job, request: RunRequest) -> JobResult:
    """Run one job and record the outcome; a failure is returned, never raised."""
    os.environ.update(request.env)
    store = ArtifactStore(request.out_dir)
    start = time.perf_counter()
    try:
        info = HANDLERS[job.kind](job, request, store) or {}
    except Exception as exc:  # every failure becomes a record, by design
        error = describe_error(exc)
        store.mark_failed(job.kind, job.key, error, {"traceback": traceback.format_exc(limit=8)})
        _release_cuda_memory()
        return JobResult(job.key, job.kind, False, error, time.perf_counter() - start)
    return JobResult(job.key, job.kind, True, None, time.perf_counter() - start, info=info)


def _release_cuda_memory() -> None:
    """After a failure (an OOM above all), hand cached blocks back so the next job in this worker can start."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()


def describe_error(exc: BaseException) -> str:
    """One line: the jtbench message (file, problem, fix), or the exception type and text."""
    if isinstance(exc, JtbenchError):
        return str(exc)
    text = f"{type(exc).__name__}: {exc}".strip()
    if "out of memory" in text.lower():
        text += " — fix: lower the batch or resolution, use fewer jobs per GPU, or a larger GPU; then re-run"
    return text if len(text) <= 2000 else text[:2000] + " …"


# -- train --------------------------------------------------------------------------------------
def training_data(request: RunRequest, unit: TrainUnit) -> TrainingData:
    """The unit's images and clips from the prepared data, with the official captions."""
    bench = request.benchmark()
    images: tuple[Path, ...] = ()
    clips: tuple[Path, ...] = ()
    if unit.subject:
        images = tuple(bench.subject_images(unit.subject))
        if not images:
            raise JtbenchError(
                f"no images for subject {unit.subject!r}",
                file=request.data_root / "subjects" / unit.subject,
                fix="run `jtbench data prepare` (or --demo) so the prepared layout exists",
            )
    if unit.motion:
        frames = _training_frames(request.base_model)
        clips = tuple(bench.motion_clips(unit.motion, frames))
        if not clips:
            folder = "motions" if frames is None else f"motions_{frames}f"
            raise JtbenchError(
                f"no clips for motion {unit.motion!r}" + (f" in the {frames}-frame set" if frames else ""),
                file=request.data_root / folder / unit.motion,
                fix="run `jtbench data prepare` (or --demo) so the prepared layout exists"
                    + (" (the 49-frame set comes from the JointTuner release)" if frames else ""),
            )
    manifest = bench.manifest
    return TrainingData(
        subject_images=images,
        image_caption=bench.image_caption(unit.subject) if unit.subject else None,
        motion_clips=clips,
        motion_caption=bench.motion_caption(unit.motion) if unit.motion else None,
        subject_phrase=manifest.subjects[unit.subject].phrase if unit.subject else None,
    )


def _training_frames(base: str) -> int | None:
    """The clip set a base trains on: None (``motions/``, 16 frames) for the UNet bases, the base's
    own length (49: ``motions_49f/``) for a DiT."""
    from jtbench.methods.t2v.bases import BASES

    if base in BASES and BASES.get(base).is_dit:
        return BASES.get(base).frames
    return None


def run_train(job: Job, request: RunRequest, store: ArtifactStore) -> dict[str, Any]:
    unit = TrainUnit(**job.payload["unit"])
    method = get_method(job.method)
    start = time.perf_counter()
    ckpt = method.train(unit, training_data(request, unit), request.settings, checkpoint_dir(request, job.key))
    info = {"checkpoint": os.path.relpath(ckpt.path, request.out_dir), "metadata": ckpt.metadata}
    store.mark_done("train", job.key, [ckpt.path], info, time.perf_counter() - start)
    return info


# -- sample -------------------------------------------------------------------------------------
def _checkpoint(store: ArtifactStore, unit: dict[str, Any], train_key: str) -> Checkpoint:
    rec = store.record("train", train_key)
    if rec is None:
        raise JtbenchError(
            f"training job {train_key} has no completion record", fix="re-run: training runs before sampling"
        )
    return Checkpoint(TrainUnit(**unit), store.resolve(rec["info"]["checkpoint"]), rec["info"].get("metadata", {}))


def run_sample(job: Job, request: RunRequest, store: ArtifactStore) -> dict[str, Any]:
    """Sample only the videos of this job that have no valid record yet."""
    bench = request.benchmark()
    seed = int(job.payload["seed"])
    videos: dict[str, str] = job.payload["videos"]
    missing = [case_id for case_id, key in videos.items() if not store.is_complete("video", key)]
    if not missing:
        return {"sampled": 0}
    ckpts = [_checkpoint(store, u, k) for u, k in zip(job.payload["units"], job.deps, strict=True)]
    method = get_method(job.method)
    defaults = method.sample_defaults(request.settings)
    requests = [SampleRequest(bench.case_by_id(case_id), seed, **defaults) for case_id in missing]
    start = time.perf_counter()
    written = method.sample(ckpts, requests, request.settings, videos_dir(request, job.method))
    per_video = (time.perf_counter() - start) / len(requests)
    if len(written) != len(requests):
        raise JtbenchError(f"{job.method}.sample returned {len(written)} paths for {len(requests)} requests")
    for req, path in zip(requests, written, strict=True):
        expected = video_path(request, job.method, req.case.case_id, seed)
        if Path(path).resolve() != expected.resolve() or not expected.is_file():
            raise JtbenchError(
                f"{job.method}.sample wrote {path}, not the expected {expected}",
                fix="adapters write out_dir/<case_id>/<seed>.mp4 (SPEC §6)",
            )
        info = {"case_id": req.case.case_id, "seed": seed, "video": os.path.relpath(expected, request.out_dir)}
        store.mark_done("video", videos[req.case.case_id], [expected], info, per_video)
    return {"sampled": len(requests)}


# -- score --------------------------------------------------------------------------------------
_SCORERS: dict[tuple, Any] = {}


def scorer_for(request: RunRequest, method: str) -> Any:
    """One Scorer per process and settings: models load once and stay loaded between jobs."""
    from jtbench.metrics.scorer import Scorer
    from jtbench.models.base import ModelHub
    from jtbench.weights.resolve import WeightResolver

    s = request.settings
    key = (
        request.metrics,
        s.backbones,
        s.device,
        request.score_precision,
        s.offline,
        request.manifests,
        request.data_root,
    )
    if key not in _SCORERS:
        resolver = WeightResolver(offline=s.offline)
        hub = ModelHub(backbones=s.backbones, device=s.device, precision=request.score_precision, resolver=resolver)
        _SCORERS[key] = Scorer(request.metrics or None, hub=hub, benchmark=request.benchmark())
    scorer = _SCORERS[key]
    scorer.method, scorer.base_model = method, request.base_model
    return scorer


def run_score(job: Job, request: RunRequest, store: ArtifactStore) -> dict[str, Any]:
    """Score one video into its own shard (so parallel scorers never share a Parquet file)."""
    from jtbench.io.layout import VideoEntry

    case_id, seed = job.payload["case_id"], int(job.payload["seed"])
    if not store.is_complete("video", job.payload["video_key"]):
        raise JtbenchError(f"video {case_id} seed {seed} was not sampled", fix="re-run: sampling runs before scoring")
    video = video_path(request, job.method, case_id, seed)
    entry = VideoEntry(
        video, f"run {job.key}", case_id=case_id, method=job.method, seed=seed, base_model=request.base_model
    )
    shard = shard_dir(request, job.key)
    start = time.perf_counter()
    report = scorer_for(request, job.method).score([entry], shard)
    duration = time.perf_counter() - start
    if report.unscorable:
        u = report.unscorable[0]
        raise JtbenchError(u.problem, file=u.video, fix=u.fix)
    failed = {column: n for column, n in report.metric_failures.items() if n}
    if failed:
        from jtbench.io.tables import read_results

        errors = read_results(shard)["errors"].dropna().tolist()
        raise JtbenchError(
            f"metrics failed ({', '.join(sorted(failed))}): " + " | ".join(errors)[:1500],
            file=video,
            fix="the row is kept with NaN in those columns; re-run to retry only the failed metrics",
        )
    # The shard's table and the video are this record's files: a changed video invalidates it.
    info = {"shard": os.path.relpath(shard, request.out_dir)}
    store.mark_done("score", job.key, [shard / "results.parquet", video], info, duration)
    return {"scored": report.scored}


# -- report -------------------------------------------------------------------------------------
def run_report(job: Job, request: RunRequest, store: ArtifactStore) -> dict[str, Any]:
    from jtbench.execution.reporting import write_tables

    return write_tables(request, store, job.payload["scores"])


HANDLERS: dict[str, Callable[[Job, RunRequest, ArtifactStore], dict[str, Any] | None]] = {
    "train": run_train,
    "sample": run_sample,
    "score": run_score,
    "report": run_report,
}
