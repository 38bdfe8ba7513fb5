"""LocalExecutor with several GPUs: one spawned worker per GPU, each pinned through CUDA_VISIBLE_DEVICES."""

from __future__ import annotations

import os
from dataclasses import replace

from jtbench.benchmark import Benchmark
from jtbench.execution.jobs import RunRequest, build_plan
from jtbench.execution.local import LocalExecutor
from jtbench.execution.store import ArtifactStore
from jtbench.methods.base import RunSettings


def test_gpu_jobs_run_in_one_pinned_worker_per_gpu(tmp_path, demo_data_root):
    combos = Benchmark.load().combinations(subject=["backpack", "clock", "dog", "bear_plushie"])
    request = RunRequest(
        methods=("dummy",),
        base_model="zeroscope",
        out_dir=tmp_path,
        data_root=demo_data_root,
        combinations=tuple(c for c in combos if c.motion in ("train_turning", "person_playing_flute")),
        backgrounds=("grass",),
        settings=RunSettings(backbones="tiny", device="cuda"),  # the dummy method itself never touches CUDA
    )
    trains = [replace(job, gpus=1.0) for job in build_plan(request).stage("train")]
    assert len(trains) == 4
    with LocalExecutor(gpus=["0", "1"]) as executor:
        results = executor.run(trains, request)
    assert all(r.ok for r in results), [r.error for r in results]
    store = ArtifactStore(tmp_path)
    records = [store.record("train", job.key) for job in trains]
    assert {r["cuda_visible_devices"] for r in records} <= {"0", "1"}
    pids = {r["pid"] for r in records}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2, "GPU jobs run in the workers, at most one per GPU"
    device_of = {(r["pid"], r["cuda_visible_devices"]) for r in records}
    assert len(device_of) == len(pids) == len({d for _, d in device_of}), "each worker keeps its own GPU"
    for rec in records:
        assert (tmp_path / next(iter(rec["outputs"]))).is_file()
