"""RayExecutor: one Ray task per train/sample job, scoring on long-lived actors.

* train, sample and report jobs are Ray tasks with ``num_gpus`` from the job and
  ``max_retries`` for system failures (a node lost, a worker killed). A job's own error is
  not retried: it is recorded and returned, like everywhere else.
* score jobs go to a few actors that live for the whole scoring stage, each holding a Scorer
  with its models loaded, so a cluster loads each backbone once per actor, not once per video.
  Actors restart after a crash and retry the call in flight.

Ray is an optional extra (``pip install jtbench[ray]``); this module imports it only when an
executor is created, and ``import jtbench`` never does. Every worker writes into the same run
folder, so the folder must be on a filesystem all nodes share (see README.md here).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

from jtbench.errors import JtbenchError
from jtbench.execution.executor import Executor, OnResult
from jtbench.execution.jobs import Job, JobResult, RunRequest
from jtbench.execution.tasks import execute


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise JtbenchError(
            "the ray executor needs Ray, which is not installed",
            fix="pip install 'jtbench[ray]' (or use --executor local)",
        ) from exc
    return ray


class _ScoringWorker:
    """A long-lived process that scores videos; its Scorer (models) persists between calls."""

    def run(self, job: Job, request: RunRequest) -> JobResult:
        return execute(job, request)


class RayExecutor(Executor):
    name = "ray"

    def __init__(
        self,
        address: str | None = "auto",
        *,
        max_retries: int = 2,
        scoring_actors: int | None = None,
        init_kwargs: dict[str, Any] | None = None,
    ) -> None:
        """``address``: ``auto`` joins the cluster this node belongs to, ``local`` starts a
        private one, anything else is a cluster address (``ray://host:10001`` or ``host:6379``).
        A Ray session already initialised by the caller is used as it is and left running."""
        self.ray = _import_ray()
        self.max_retries = max_retries
        self.scoring_actors = scoring_actors
        self._owns_ray = False
        self._actors: list[Any] = []
        self._actor_gpus: float | None = None
        self._remote_execute: Any = None
        if not self.ray.is_initialized():
            kwargs = {"include_dashboard": False, "log_to_driver": False, **(init_kwargs or {})}
            try:
                self.ray.init(address=None if address in (None, "local") else address, **kwargs)
            except (ConnectionError, RuntimeError) as exc:
                raise JtbenchError(
                    f"cannot connect to a Ray cluster at {address!r}: {exc}",
                    fix="start one (`ray start --head`, see jtbench/execution/README.md) or pass --address local",
                ) from exc
            self._owns_ray = True

    # -- tasks ----------------------------------------------------------------------------------
    def _submit_task(self, job: Job, request: RunRequest) -> Any:
        if self._remote_execute is None:
            self._remote_execute = self.ray.remote(execute)
        options = {"num_gpus": job.gpus, "num_cpus": 1, "max_retries": self.max_retries, "name": job.label[:120]}
        return self._remote_execute.options(**options).remote(job, request)

    # -- scoring actors -------------------------------------------------------------------------
    def _scoring_pool(self, gpus: float) -> list[Any]:
        if self._actors and self._actor_gpus == gpus:
            return self._actors
        self._kill_actors()
        count = self.scoring_actors or (max(1, int(self.ray.cluster_resources().get("GPU", 0))) if gpus else 1)
        actor_cls = self.ray.remote(_ScoringWorker).options(
            num_gpus=gpus, num_cpus=1, max_restarts=self.max_retries, max_task_retries=self.max_retries
        )
        self._actors = [actor_cls.remote() for _ in range(count)]
        self._actor_gpus = gpus
        return self._actors

    def _kill_actors(self) -> None:
        for actor in self._actors:
            self.ray.kill(actor)
        self._actors = []

    # -- the interface --------------------------------------------------------------------------
    def run(self, jobs: Sequence[Job], request: RunRequest, on_result: OnResult | None = None) -> list[JobResult]:
        """Tasks for train/sample/report jobs; score jobs fed to the actors one at a time as each frees up."""
        pending: dict[Any, tuple[Job, Any]] = {}
        queue = deque(j for j in jobs if j.kind == "score")

        def feed(actor: Any) -> None:
            if queue:
                job = queue.popleft()
                pending[actor.run.remote(job, request)] = (job, actor)

        if queue:
            for actor in self._scoring_pool(max(j.gpus for j in queue)):
                feed(actor)
        for job in jobs:
            if job.kind != "score":
                pending[self._submit_task(job, request)] = (job, None)
        results: list[JobResult] = []
        while pending:
            ready, _ = self.ray.wait(list(pending), num_returns=1)
            for ref in ready:
                job, actor = pending.pop(ref)
                try:
                    result = self.ray.get(ref)
                except Exception as exc:  # the worker or actor died beyond its retries
                    result = JobResult(job.key, job.kind, False, f"Ray worker failed: {type(exc).__name__}: {exc}")
                if actor is not None:
                    feed(actor)
                results.append(result)
                if on_result is not None:
                    on_result(result)
        if self._actors:
            self._kill_actors()  # free their GPUs/CPUs for the next stage (a 1-CPU cluster would deadlock)
        return results

    def close(self) -> None:
        self._kill_actors()
        if self._owns_ray:
            self.ray.shutdown()
            self._owns_ray = False
