"""LocalExecutor: jobs in this process, or one worker process per visible GPU.

In-process is the default and what CPU runs and the demo use: models stay loaded in this
process between jobs. With several visible GPUs and a CUDA device, GPU jobs go to a pool of
spawned workers, each pinned to one GPU through ``CUDA_VISIBLE_DEVICES`` before it touches
CUDA, so each worker loads its models once onto its own GPU; jobs that need no GPU (the
report) stay in this process.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from jtbench.execution.executor import Executor, OnResult
from jtbench.execution.jobs import Job, JobResult, RunRequest
from jtbench.execution.tasks import execute


def visible_gpus() -> list[str]:
    """GPU ids this process may use (``CUDA_VISIBLE_DEVICES`` order, else all CUDA devices)."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g.strip() for g in env.split(",") if g.strip() and g.strip() != "-1"]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []


def _pin_gpu(queue) -> None:  # runs first in each spawned worker
    os.environ["CUDA_VISIBLE_DEVICES"] = queue.get()


class LocalExecutor(Executor):
    name = "local"

    def __init__(self, gpus: Sequence[str] | None = None) -> None:
        self.gpus = list(gpus) if gpus is not None else None
        self._pool: ProcessPoolExecutor | None = None

    def _gpu_ids(self) -> list[str]:
        if self.gpus is None:
            self.gpus = visible_gpus()
        return self.gpus

    def _worker_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = mp.get_context("spawn")
            queue = ctx.Queue()
            for gpu in self._gpu_ids():
                queue.put(gpu)
            self._pool = ProcessPoolExecutor(
                len(self._gpu_ids()), mp_context=ctx, initializer=_pin_gpu, initargs=(queue,)
            )
        return self._pool

    def run(self, jobs: Sequence[Job], request: RunRequest, on_result: OnResult | None = None) -> list[JobResult]:
        use_pool = str(request.settings.device).startswith("cuda") and len(self._gpu_ids()) > 1
        pooled = [j for j in jobs if use_pool and j.gpus > 0]
        results: list[JobResult] = []

        def done(result: JobResult) -> None:
            results.append(result)
            if on_result is not None:
                on_result(result)

        futures: dict[Future, Job] = {self._worker_pool().submit(execute, j, request): j for j in pooled}
        pooled_keys = {j.key for j in pooled}
        for job in jobs:
            if job.key not in pooled_keys:
                done(execute(job, request))
        while futures:
            finished, _ = wait(futures, return_when=FIRST_COMPLETED)
            for future in finished:
                job = futures.pop(future)
                try:
                    done(future.result())
                except Exception as exc:  # a worker died (e.g. killed by the OOM killer)
                    if isinstance(exc, BrokenProcessPool):
                        self._pool = None  # a fresh pool next time
                    done(JobResult(job.key, job.kind, False, f"worker process failed: {type(exc).__name__}: {exc}"))
        return results

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
