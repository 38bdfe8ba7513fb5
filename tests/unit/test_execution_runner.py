"""The runner: failures are recorded and isolated, dependants are skipped, re-runs do only what is left."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from jtbench.benchmark import Benchmark
from jtbench.execution import tasks
from jtbench.execution.jobs import RunRequest, build_plan
from jtbench.execution.local import LocalExecutor
from jtbench.execution.runner import failure_summary, run_plan
from jtbench.execution.store import ArtifactStore
from jtbench.methods.base import RunSettings
from jtbench.metrics.base import METRICS, Metric, MetricSpec, MetricValue


def _request(tmp_path: Path) -> RunRequest:
    combos = Benchmark.load().combinations(subject=["dog", "backpack", "clock"], motion=["*_playing_flute", "train_*"])
    assert len(combos) == 3
    return RunRequest(
        methods=("dummy",),
        base_model="zeroscope",
        out_dir=tmp_path,
        data_root=tmp_path,
        combinations=tuple(combos),
        backgrounds=("grass",),
        settings=RunSettings(backbones="tiny", device="cpu"),
    )


@pytest.fixture
def fake_handlers(monkeypatch):
    """Handlers that only write records; ``fail`` maps a key fragment to the exception to raise."""
    calls: list[str] = []
    fail: dict[str, BaseException] = {}

    def handler(job, request, store):
        calls.append(job.key)
        for fragment, exc in fail.items():
            if fragment in job.key:
                raise exc
        if job.kind == "sample":
            for key in job.payload["videos"].values():
                store.mark_done("video", key)
        elif job.kind != "report":
            store.mark_done(job.kind, job.key)
        return {}

    for kind in ("train", "sample", "score", "report"):
        monkeypatch.setitem(tasks.HANDLERS, kind, handler)
    return calls, fail


def test_failed_job_is_recorded_dependants_skipped_rest_continue(tmp_path, fake_handlers):
    calls, fail = fake_handlers
    fail["train/dummy/zeroscope/combination/dog__"] = ValueError("cannot read dog/00.jpg")
    fail["score/dummy/zeroscope/clock__"] = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
    plan = build_plan(_request(tmp_path))
    outcome = run_plan(plan, LocalExecutor(gpus=[]))
    store = ArtifactStore(tmp_path)

    failed = {r.key: r for r in outcome.failed}
    assert len(failed) == 4  # dog: train failed, its sample and score skipped; clock: score OOM
    dog_train = next(k for k in failed if k.startswith("train/"))
    assert "cannot read dog/00.jpg" in store.failure("train", dog_train)["error"]
    skipped = [r for r in outcome.failed if r.skipped]
    assert {r.kind for r in skipped} == {"sample", "score"} and all("which failed" in r.error for r in skipped)
    oom = next(r for r in outcome.failed if r.kind == "score" and not r.skipped)
    assert "out of memory" in oom.error.lower() and "fix:" in oom.error
    assert outcome.ran() == {"train": 2, "sample": 2, "score": 1, "report": 1}, "the other jobs still ran"
    assert {row["kind"] for row in failure_summary(outcome)} == {"train", "sample", "score"}
    assert (tmp_path / ".jtbench" / "last_run.json").is_file()

    calls.clear()
    fail.clear()
    again = run_plan(build_plan(_request(tmp_path)), LocalExecutor(gpus=[]))
    assert again.ok
    assert sorted(k.split("/")[0] for k in calls) == ["report", "sample", "score", "score", "train"]
    assert again.already_done == {"train": 2, "sample": 2, "score": 1}


def test_nothing_to_do_on_a_complete_run(tmp_path, fake_handlers):
    calls, _ = fake_handlers
    run_plan(build_plan(_request(tmp_path)), LocalExecutor(gpus=[]))
    calls.clear()
    outcome = run_plan(build_plan(_request(tmp_path)), LocalExecutor(gpus=[]))
    assert [k.split("/")[0] for k in calls] == ["report"], "only the cheap report re-runs"
    assert outcome.already_done == {"train": 3, "sample": 3, "score": 3}


def test_execute_never_raises_and_records_a_traceback(tmp_path, monkeypatch):
    def boom(job, request, store):
        raise KeyError("missing field")

    monkeypatch.setitem(tasks.HANDLERS, "train", boom)
    job = build_plan(_request(tmp_path)).stage("train")[0]
    result = tasks.execute(job, _request(tmp_path))
    assert not result.ok and result.error == "KeyError: 'missing field'"
    assert "Traceback" in ArtifactStore(tmp_path).failure("train", job.key)["info"]["traceback"]


class _Brightness(Metric):
    spec = MetricSpec(name="run_test_brightness", column="Run-Bright", description="test", source="test", paper=False)

    def score(self, sample, ctx):
        return MetricValue(float(sample.video.frames.float().mean()) / 2.55)


class _Flaky(Metric):
    """Fails while ``FLAKY["fail"]`` is set: a metric that breaks on one run and works on the next."""

    spec = MetricSpec(name="run_test_flaky", column="Run-Flaky", description="test", source="test", paper=False)

    def score(self, sample, ctx):
        if FLAKY["fail"]:
            raise RuntimeError("flaky metric broke")
        return MetricValue(42.0)


FLAKY = {"fail": True}
METRICS.add("run_test_brightness", _Brightness, replace=True)
METRICS.add("run_test_flaky", _Flaky, replace=True)


def test_metric_failure_keeps_the_row_fails_the_job_and_is_retried(tmp_path, demo_data_root):
    """A failing metric: NaN + errors in the row, the score job recorded as failed, a re-run fixes only it."""
    combo = Benchmark.load().combinations(subject="backpack", motion="train_turning")
    request = replace(
        _request(tmp_path),
        data_root=demo_data_root,
        combinations=tuple(combo),
        metrics=("run_test_brightness", "run_test_flaky"),
        report_formats=("md",),
    )
    FLAKY["fail"] = True
    outcome = run_plan(build_plan(request), LocalExecutor(gpus=[]))
    assert [r.kind for r in outcome.failed] == ["score"]
    assert "Run-Flaky" in outcome.failed[0].error and "flaky metric broke" in outcome.failed[0].error
    row = pd.read_parquet(tmp_path / "results.parquet").iloc[0]
    assert np.isnan(row["Run-Flaky"]) and row["Run-Bright"] > 0 and "flaky metric broke" in row["errors"]

    FLAKY["fail"] = False
    again = run_plan(build_plan(request), LocalExecutor(gpus=[]))
    assert again.ok and again.ran() == {"score": 1, "report": 1}
    fixed = pd.read_parquet(tmp_path / "results.parquet")
    assert len(fixed) == 1 and fixed["Run-Flaky"].iloc[0] == 42.0
    assert fixed["Run-Bright"].iloc[0] == row["Run-Bright"], "the metric that worked is not recomputed differently"
