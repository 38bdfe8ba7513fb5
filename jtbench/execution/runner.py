"""Drive a plan through an executor stage by stage, skipping what is done, isolating failures.

For each stage (train → sample → score → report) the runner drops jobs whose completion
records are valid, marks jobs whose inputs failed as skipped (with the reason), and hands the
rest to the executor. A failed job never stops the run; the outcome lists every failure so
the CLI can end non-zero with a summary and the command that retries them.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from jtbench.execution.executor import Executor
from jtbench.execution.jobs import STAGES, Job, JobResult, Plan
from jtbench.execution.store import ArtifactStore

Event = Callable[[str, Any], None]


def is_done(store: ArtifactStore, job: Job) -> bool:
    """Complete = a valid record (a sample job: every one of its videos has one). Reports always re-run."""
    if job.kind == "report":
        return False
    if job.kind == "sample":
        return all(store.is_complete("video", key) for key in job.payload["videos"].values())
    return store.is_complete(job.kind, job.key)


def done_flags(plan: Plan, store: ArtifactStore) -> list[bool]:
    return [is_done(store, job) for job in plan.jobs]


@dataclass
class RunOutcome:
    results: list[JobResult] = field(default_factory=list)
    already_done: Counter = field(default_factory=Counter)
    wall_s: float = 0.0
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> list[JobResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.failed

    def ran(self) -> Counter:
        return Counter(r.kind for r in self.results if r.ok)


def run_plan(plan: Plan, executor: Executor, on_event: Event | None = None) -> RunOutcome:
    """Execute ``plan``; ``on_event(name, payload)`` receives ``stage`` and ``result`` events."""
    request = plan.request
    store = ArtifactStore(request.out_dir)
    outcome = RunOutcome()
    settings = {k: v for k, v in asdict(request).items() if k != "env"}  # env may hold tokens: not on disk
    ArtifactStore.write_json(store.state / "plan.json", {"request": settings, "jobs": plan.to_json()})
    failed: set[str] = set()
    start = time.perf_counter()
    for kind in STAGES:
        todo: list[Job] = []
        for job in plan.stage(kind):
            broken = [d for d in job.deps if d in failed]
            if broken:
                failed.add(job.key)
                result = JobResult(job.key, kind, False, f"not run: it needs {broken[0]}, which failed", skipped=True)
                outcome.results.append(result)
                _emit(on_event, "result", result)
            elif is_done(store, job):
                outcome.already_done[kind] += 1
            else:
                todo.append(job)
        _emit(on_event, "stage", {"kind": kind, "todo": len(todo), "done": outcome.already_done[kind]})
        if not todo:
            continue

        def record(result: JobResult) -> None:
            if not result.ok:
                failed.add(result.key)
                if store.failure(result.kind, result.key) is None:  # e.g. a worker that died
                    store.mark_failed(result.kind, result.key, result.error or "unknown error")
            else:
                if result.kind == "report":
                    outcome.report = dict(result.info)
            outcome.results.append(result)
            _emit(on_event, "result", result)

        executor.run(todo, request, record)
    outcome.wall_s = time.perf_counter() - start
    _write_summary(store, plan, outcome)
    return outcome


def _emit(on_event: Event | None, name: str, payload: Any) -> None:
    if on_event is not None:
        on_event(name, payload)


def _write_summary(store: ArtifactStore, plan: Plan, outcome: RunOutcome) -> None:
    """``.jtbench/last_run.json``: what ran, what was already done, what failed and why."""
    summary = {
        "wall_s": round(outcome.wall_s, 2),
        "jobs": len(plan.jobs),
        "already_done": dict(outcome.already_done),
        "ran": dict(outcome.ran()),
        "failed": [{"key": r.key, "error": r.error, "skipped": r.skipped} for r in outcome.failed],
    }
    ArtifactStore.write_json(store.state / "last_run.json", summary)


def failure_summary(outcome: RunOutcome) -> list[dict[str, str]]:
    """Rows for the CLI's failure table: kind, job, error (skips reported once, compactly)."""
    rows = []
    for r in outcome.failed:
        rows.append({"kind": r.kind, "job": r.key.split("/", 1)[1], "error": (r.error or "")[:400]})
    return rows


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=1, default=str)
