"""The executor interface: run a batch of independent jobs, report each result as it lands.

The runner hands an executor one stage at a time (train, then sample, then score, then
report), minus the jobs already complete and those whose inputs failed, so an executor only
decides *where* jobs run: in this process, one process per GPU, or on a Ray cluster.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

from jtbench.execution.jobs import Job, JobResult, RunRequest
from jtbench.registry import Registry

OnResult = Callable[[JobResult], None]


class Executor(ABC):
    name: str

    @abstractmethod
    def run(self, jobs: Sequence[Job], request: RunRequest, on_result: OnResult | None = None) -> list[JobResult]:
        """Run ``jobs`` (no order between them is promised) and return one result per job."""

    def close(self) -> None:
        """Release workers (process pools, Ray actors); the executor is unusable afterwards."""
        return None

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


EXECUTORS: Registry[type[Executor]] = Registry("executor", "jtbench.executors")
EXECUTORS.add("local", "jtbench.execution.local:LocalExecutor")
EXECUTORS.add("ray", "jtbench.execution.ray_backend:RayExecutor")
