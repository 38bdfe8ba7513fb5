"""The scoring engine: decode each video once, load each model once, write rows as they finish.

The official evaluation reloads ~9 models and decodes every video ~9 times per video. Here one
:class:`~jtbench.io.video.VideoClip` per video is shared by every selected metric through one
:class:`~jtbench.metrics.base.Sample`; one :class:`~jtbench.metrics.base.ScoringContext` (model
hub + feature cache) lives for the whole run, so models load once and reference features
(image embeddings, reference tracks) are computed once per subject / motion. Per-video cache
entries are dropped after each video so memory stays flat.

Paper-profile metrics (:mod:`jtbench.metrics.profiles`, e.g. ``CLIP-T@DreamVideo``) are ordinary
metrics here: same pass, same cache, their own columns; the subject's image folder they read is
``Sample.reference_images`` and is recorded per row like the other references.

Failure policy (SPEC §6):

- an input that cannot be scored at all (missing/unreadable/empty/one-frame video, unknown
  case_id, missing reference) gets no row; it is listed in ``errors.csv`` (video, problem, fix);
- a metric that raises on one video gives NaN in its column **and** a line in the row's
  ``errors`` (``<column>: <problem> — fix: <fix>``); a metric that returns NaN without raising
  is recorded the same way — never a silent NaN. Notes a metric attaches to a finite value
  (e.g. Mot-Fid's truncation) are also written there.

Resumption and merge semantics (row key: method, video_sha256):

- a metric is *done* for a row when the row's ``metric_versions`` names the same version, the
  row was scored with the same backbones (paper / tiny), its value is finite and its reference
  file (the row's ``reference_*_sha256``) is still the one it would be scored against; done
  metrics are skipped, failed ones are retried;
- re-scoring a subset (``--metrics``) replaces only the selected columns, their
  ``metric_versions`` entries and their ``errors`` lines; other columns keep their values.
  When the old row came from other backbones, its values are dropped instead of mixed;
- rows are upserted after every video, so a crash loses at most the video in flight.
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from jtbench import __version__
from jtbench.benchmark.combinations import Benchmark
from jtbench.benchmark.prepared import ReferenceLedger
from jtbench.errors import JtbenchError, VideoError
from jtbench.io.layout import ResolvedEntry, VideoEntry, fit_reference_to_length, resolve_entry
from jtbench.io.tables import metric_columns, rows_by_key, upsert_results
from jtbench.io.video import VideoClip, count_frames, file_sha256, read_video
from jtbench.metrics.base import Metric, Sample, ScoringContext, resolve_metrics
from jtbench.metrics.isolation import CrashGuard, estimate_need, inject_fault, score_isolated
from jtbench.metrics.memory import PeakMeter, default_max_memory
from jtbench.metrics.outcome import (
    ERRORS_FILE,
    PROVENANCE_FILE,
    RESULTS_FILE,
    SUMMARY_FILE,
    ScoreReport,
    Unscorable,
    error_line,
    is_finite,
    line_column,
)
from jtbench.metrics.prefetch import depth_for, pin_for, prefetched
from jtbench.metrics.run_record import RunRecord
from jtbench.metrics.summary import summarise
from jtbench.models.base import ModelHub, TimedHub
from jtbench.provenance import utc_now

TINY_LABEL = "tiny (random weights; NOT the paper's numbers)"
BACKBONE_LABELS = {"paper": "paper", "tiny": TINY_LABEL}
DEFAULT_METHOD = "external"


@dataclass(frozen=True)
class _Ready:
    """One entry resolved, hashed and decoded ahead of scoring (``clip`` None: nothing was pending)."""

    entry: VideoEntry
    item: ResolvedEntry
    method: str
    digest: str
    clip: VideoClip | None
    timings: dict[str, float]

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.digest)


class Scorer:
    """Score videos with a fixed set of metrics through one model hub and one feature cache."""

    def __init__(
        self,
        metrics: Iterable[str | Metric] | None = None,
        *,
        hub: ModelHub,
        benchmark: Benchmark | None = None,
        batch_size: int = 16,
        method: str = DEFAULT_METHOD,
        base_model: str | None = None,
        max_memory: int | None = None,
    ) -> None:
        self.metrics = resolve_metrics(metrics)
        self.hub = hub
        self.benchmark = benchmark or Benchmark.load()
        self.ctx = ScoringContext(hub=hub, batch_size=batch_size)
        # --max-memory (default JTBENCH_MAX_MEMORY); the device's room caps every batch too
        self.ctx.memory.max_bytes = max_memory if max_memory is not None else default_max_memory()
        self.peaks = PeakMeter(hub.device)  # per metric, for provenance
        self.details: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.method = method
        self.base_model = base_model
        self.backbones_label = BACKBONE_LABELS[hub.mode]
        self._need_image = any(m.spec.needs_reference_image for m in self.metrics)
        self._need_video = any(m.spec.needs_reference_video for m in self.metrics)
        self._need_images = any(m.spec.needs_reference_images for m in self.metrics)
        self.record = RunRecord(hub, self.metrics)  # weights, dtypes and the run's files
        self.references = ReferenceLedger(self.benchmark.data_root)  # what each row was scored against

    # -- provenance (jtbench.metrics.run_record) -------------------------------------------
    def weights_digest(self) -> tuple[dict[str, str], str]:
        return self.record.weights_digest()

    def dtype_label(self) -> str:
        return self.record.dtype_label()

    def _load_time(self) -> float:
        return sum(getattr(self.hub, "load_seconds", {}).values())

    def recipe(self) -> dict[str, Any]:
        """Constructor arguments for the same scorer in another process (the hub without its models)."""
        return dict(
            metrics=self.metrics,
            hub=self.hub,
            benchmark=self.benchmark,
            batch_size=self.ctx.batch_size,
            method=self.method,
            base_model=self.base_model,
            max_memory=self.ctx.memory.max_bytes,
        )

    def memory_need(self, entry: VideoEntry) -> int:
        """Rough bytes one video needs with these metrics (for the error of a video that kills its process)."""
        return estimate_need([b for m in self.metrics for b in m.spec.backbones], entry.video)

    # -- resumption -----------------------------------------------------------------------
    def pending(self, old: dict[str, Any] | None) -> list[Metric]:
        """Selected metrics not yet done for this row (see the module docstring)."""
        if old is None or old.get("backbones") != self.backbones_label:
            return list(self.metrics)
        versions = json.loads(old.get("metric_versions") or "{}")
        return [
            m
            for m in self.metrics
            if not (versions.get(m.spec.name) == m.spec.version and is_finite(old.get(m.spec.column)))
        ]

    def _todo(self, old: dict[str, Any] | None, item: ResolvedEntry) -> list[Metric]:
        """What this video still needs: metrics not done, and done ones whose reference file changed."""
        return self.pending(old) + self._stale_references(old, item)

    def _stale_references(self, old: dict[str, Any] | None, item: ResolvedEntry) -> list[Metric]:
        """Done metrics whose reference file changed since (checked before decoding: the clip's
        frame count comes from the container)."""
        done = [m for m in self.metrics if m not in self.pending(old)]
        if old is None or not done:
            return []
        video = item.reference_video
        if video is not None and any(m.spec.needs_reference_video for m in done):
            video = fit_reference_to_length(item, count_frames(item.video), self.benchmark).reference_video
        changed = self.references.changed(old, item.reference_image, video, item.reference_images)
        return [
            m
            for m in done
            if (m.spec.needs_reference_image and "reference_image" in changed)
            or (m.spec.needs_reference_video and "reference_video" in changed)
            or (m.spec.needs_reference_images and "reference_images" in changed)
        ]

    # -- one video ------------------------------------------------------------------------
    def score_sample(self, sample: Sample, metrics: Sequence[Metric], report: ScoreReport) -> tuple[dict, list]:
        """Every metric on one decoded sample: ``({column: value}, [errors lines])``; never raises."""
        values: dict[str, float] = {}
        lines = [f"video: {note}" for note in sample.video.notes]
        for metric in metrics:
            column = metric.spec.column
            start, loads = time.perf_counter(), self._load_time()
            try:
                with self.peaks.measure(metric.spec.name):
                    result = metric.score(sample, self.ctx)
                for key, amount in (result.details or {}).items():
                    self.details[metric.spec.name][key] += amount
                if not is_finite(result.value):
                    raise JtbenchError(
                        f"returned a non-finite value ({result.value})" + (f": {result.note}" if result.note else ""),
                        fix="check the video (e.g. frozen or blank frames) or report the metric",
                    )
                values[column] = float(result.value)
                if result.note:
                    lines.append(f"{column}: {result.note}")
            except Exception as exc:  # one metric failing must not lose the others
                values[column] = math.nan
                lines.append(error_line(column, exc))
                report.metric_failures[column] += 1
            loaded = self._load_time() - loads
            report.timings["load"] += loaded
            report.timings[metric.spec.name] += time.perf_counter() - start - loaded
        if sample.video.digest:
            self.ctx.forget_video(sample.video.digest)
        return values, lines

    def _row(
        self, item: ResolvedEntry, method: str, pending: list[Metric], scored: tuple[dict, list], old: dict | None
    ) -> dict[str, Any]:
        """The new row: selected columns from this run, the rest kept from ``old`` (module docstring)."""
        entry, case = item.entry, item.case
        values, lines = scored
        keep_old = old is not None and old.get("backbones") == self.backbones_label
        redone = {m.spec.column for m in pending} | {"video"}
        versions = json.loads(old.get("metric_versions") or "{}") if keep_old else {}
        versions.update({m.spec.name: m.spec.version for m in pending})
        old_errors = old.get("errors") if keep_old else None  # null reads back as None or NaN
        old_lines = old_errors.splitlines() if isinstance(old_errors, str) else []
        row: dict[str, Any] = {}
        if keep_old:
            row.update({c: old.get(c) for c in metric_columns(pd.DataFrame([old]))})
        row.update(values)
        row.update(self.references.columns(
            item.reference_image, item.reference_video, old if keep_old else None, item.reference_images
        ))  # fmt: skip
        _, weights_digest = self.weights_digest()
        row.update(
            case_id=case.case_id if case else None,
            prompt=item.prompt,
            method=method,
            base_model=entry.base_model or self.base_model,
            subject=case.subject if case else None,
            motion=case.motion if case else None,
            background=case.background if case else None,
            seed=entry.seed,
            video=str(Path(entry.video).resolve()),
            errors="\n".join([ln for ln in old_lines if line_column(ln) not in redone] + lines) or None,
            metric_versions=json.dumps(dict(sorted(versions.items()))),
            backbones=self.backbones_label,
            device=str(self.hub.device),
            dtype=self.dtype_label(),
            jtbench_version=__version__,
            manifest_digest=self.benchmark.manifest.digest,
            weights_digest=weights_digest,
            created_at=utc_now(),
        )
        return row

    # -- the run --------------------------------------------------------------------------
    def score(
        self,
        entries: Sequence[VideoEntry],
        out_dir: str | Path,
        *,
        on_video: Callable[[str], None] | None = None,
    ) -> ScoreReport:
        """Score ``entries`` into ``out_dir``: results.parquet, errors.csv, summary.csv, provenance.json.

        ``on_video(name)`` is called after each entry (scored, skipped or not) — the progress bar.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        results = out / RESULTS_FILE
        report = ScoreReport(out_dir=out)
        existing = rows_by_key(results)
        guard = CrashGuard(out)
        crashed = {id(e) for e in entries if guard.crashed_before(e)}  # markers left by an earlier run

        def prepare(entry: VideoEntry) -> _Ready | Unscorable | None:
            return None if id(entry) in crashed else self._prepare(entry, existing)

        # On CUDA, entry n+1 is hashed and decoded on a CPU thread while entry n is scored (same rows, same order).
        ready_entries = iter(prefetched(entries, prepare, ahead=depth_for(self.hub.device)))
        for entry in entries:
            if id(entry) in crashed:  # it took a scoring process down before: isolate it
                next(ready_entries)
                score_isolated(self, entry, existing, results, report, guard)
            else:
                with guard.watch(entry):  # on CPU the decode happens here too, inside the watch
                    self._score_entry(next(ready_entries), existing, results, report)
            if on_video is not None:
                on_video(Path(entry.video).name)
        self._finish(out, report)
        return report

    def _prepare(self, entry: VideoEntry, existing: dict) -> _Ready | Unscorable:
        """Resolve, hash and (when a metric is pending) decode one entry; runs on the prefetch thread."""
        timings: dict[str, float] = {}
        try:
            item = resolve_entry(
                entry, self.benchmark, need_image=self._need_image, need_video=self._need_video,
                need_images=self._need_images,
            )  # fmt: skip
            if not item.video.is_file():
                raise VideoError("video file does not exist", file=item.video, fix="check the path")
            start = time.perf_counter()
            digest = file_sha256(item.video)
            timings["hash"] = time.perf_counter() - start
            method = entry.method or self.method
            clip = None
            if self._todo(existing.get((method, digest)), item):
                start = time.perf_counter()
                clip = pin_for(read_video(item.video, min_frames=2), self.hub.device)  # the one decode all share
                timings["decode"] = time.perf_counter() - start
                item = fit_reference_to_length(item, clip.num_frames, self.benchmark)  # 49 frames → motions_49f/
        except JtbenchError as exc:
            return Unscorable(str(entry.video), exc.problem, exc.fix or "")
        except Exception as exc:  # an unreadable file must not stop the other videos
            fix = "check that the file is a complete, readable video"
            return Unscorable(str(entry.video), f"cannot read: {type(exc).__name__}: {exc}", fix)
        return _Ready(entry, item, method, digest, clip, timings)

    def score_one(self, entry: VideoEntry, existing: dict, results: Path, report: ScoreReport) -> None:
        """Prepare and score one entry on this thread (the isolated child's whole job)."""
        self._score_entry(self._prepare(entry, existing), existing, results, report)

    def _score_entry(self, ready: _Ready | Unscorable, existing: dict, results: Path, report: ScoreReport) -> None:
        if isinstance(ready, _Ready):
            inject_fault(ready.entry.video)
        if isinstance(ready, _Ready) and ready.clip is None and self._todo(existing.get(ready.key), ready.item):
            ready = self._prepare(ready.entry, {})  # defensive: the row changed after the prefetch looked
        if isinstance(ready, Unscorable):
            report.unscorable.append(ready)
            return
        for part, seconds in ready.timings.items():
            report.timings[part] += seconds
        item, method, clip = ready.item, ready.method, ready.clip
        old = existing.get(ready.key)
        pending = self._todo(old, item)
        if not pending:
            report.skipped += 1
            return
        sample = Sample(
            video=clip,
            prompt=item.prompt,
            case_id=item.case.case_id if item.case else None,
            reference_image=item.reference_image,
            reference_video=item.reference_video,
            reference_images=item.reference_images,
        )
        scored = self.score_sample(sample, pending, report)
        row = self._row(item, method, pending, scored, old)
        row["video_sha256"] = clip.digest
        upsert_results(results, [row])
        existing[(method, clip.digest)] = row
        report.scored += 1

    def _finish(self, out: Path, report: ScoreReport) -> None:
        self.record.write(
            out, report, benchmark=self.benchmark, backbones_label=self.backbones_label, ctx=self.ctx,
            peaks=self.peaks, details=self.details, references=self.references,
        )  # fmt: skip


__all__ = [
    "BACKBONE_LABELS",
    "ERRORS_FILE",
    "PROVENANCE_FILE",
    "RESULTS_FILE",
    "SUMMARY_FILE",
    "ScoreReport",
    "Scorer",
    "TINY_LABEL",
    "TimedHub",
    "Unscorable",
    "resolve_metrics",
    "summarise",  # re-exported: the aggregate lives in jtbench.metrics.summary
]
