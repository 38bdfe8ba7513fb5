"""The planner: job counts, deterministic keys, and which keys a config change invalidates."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from fresh_python import run_python

from jtbench.benchmark import Benchmark
from jtbench.execution.estimate import PUBLISHED, estimate, measured_figures
from jtbench.execution.jobs import RunRequest, build_plan, config_hash
from jtbench.execution.store import ArtifactStore
from jtbench.methods.base import METHODS, MethodAdapter, RunSettings, TrainUnit


class PerPartMethod(MethodAdapter):
    """A method that trains one unit per subject and one per motion (DreamVideo-style)."""

    name = "per_part_test"

    def sampling_units(self, combination):
        return [
            TrainUnit(self.name, "subject", subject=combination.subject),
            TrainUnit(self.name, "motion", motion=combination.motion),
        ]

    def train(self, unit, data, settings, workdir):
        raise NotImplementedError

    def sample(self, checkpoints, requests, settings, out_dir):
        raise NotImplementedError


METHODS.add("per_part_test", PerPartMethod, replace=True)


def _request(tmp_path: Path, **changes) -> RunRequest:
    bench = Benchmark.load()
    combos = bench.combinations(subject=["dog", "cat", "bear_plushie"], motion=["person_playing_flute", "dog_walking"])
    base = RunRequest(
        methods=("dummy",),
        base_model="zeroscope",
        out_dir=tmp_path,
        data_root=tmp_path / "data",
        combinations=tuple(combos),
        backgrounds=("grass", "snow"),
        seeds=(0, 1),
        settings=RunSettings(backbones="tiny", device="cpu"),
    )
    return replace(base, **changes)


def test_config_hash_is_order_independent_and_sensitive():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})
    assert len(config_hash({})) == 12


def test_plan_counts_per_stage(tmp_path):
    request = _request(tmp_path)
    combos = len(request.combinations)
    assert combos == 5  # dog, cat x {flute, dog_walking}; bear_plushie x flute (humanoid cannot walk like a dog)
    plan = build_plan(request)
    counts = {kind: len(plan.stage(kind)) for kind in ("train", "sample", "score", "report")}
    assert counts == {"train": combos, "sample": combos * 2, "score": combos * 2 * 2, "report": 1}
    assert [j.kind for j in plan.jobs] == sorted(
        (j.kind for j in plan.jobs), key=["train", "sample", "score", "report"].index
    )
    sample = plan.stage("sample")[0]
    assert sorted(sample.payload["videos"]) == sorted(
        f"{sample.payload['combination']['subject']}__{sample.payload['combination']['motion']}__{bg}"
        for bg in ("grass", "snow")
    )
    assert all(j.gpus == 0 for j in plan.jobs), "a CPU run of the dummy method asks for no GPU"


def test_keys_are_deterministic_and_unique(tmp_path):
    first, second = build_plan(_request(tmp_path)), build_plan(_request(tmp_path))
    assert [j.key for j in first.jobs] == [j.key for j in second.jobs]
    assert len({j.key for j in first.jobs}) == len(first.jobs)
    key = first.stage("score")[0].key
    assert key.startswith("score/dummy/zeroscope/") and "/seed0/" in key


def test_changed_config_gives_new_keys_downstream_only(tmp_path):
    plain = build_plan(_request(tmp_path))
    tuned = build_plan(_request(tmp_path, settings=RunSettings(backbones="tiny", device="cpu", overrides={"steps": 5})))
    rescored = build_plan(_request(tmp_path, metrics=("clip_t",)))
    moved = build_plan(_request(tmp_path, settings=RunSettings(backbones="tiny", device="cuda:3")))

    def keys(plan, kind):
        return {j.key for j in plan.stage(kind)}

    for kind in ("train", "sample", "score"):
        assert keys(plain, kind).isdisjoint(keys(tuned, kind)), f"an override must invalidate every {kind} job"
    assert keys(plain, "train") == keys(rescored, "train") and keys(plain, "sample") == keys(rescored, "sample")
    assert keys(plain, "score").isdisjoint(keys(rescored, "score")), "another metric set re-scores"
    assert keys(plain, "train") == keys(moved, "train"), "the device is not part of a job's identity"


def test_per_subject_and_per_motion_units_are_shared(tmp_path):
    plan = build_plan(_request(tmp_path, methods=("per_part_test",)))
    trains = plan.stage("train")
    assert sorted(j.key.split("/")[3] for j in trains) == ["motion"] * 2 + ["subject"] * 3
    sample = next(j for j in plan.stage("sample") if j.payload["combination"]["subject"] == "dog")
    assert len(sample.deps) == 2 and all(dep in {t.key for t in trains} for dep in sample.deps)


def test_limit_like_slicing_keeps_keys_stable(tmp_path):
    """A smaller slice plans a subset of the full plan's keys, so slices can be run one at a time."""
    full = build_plan(_request(tmp_path))
    part = build_plan(_request(tmp_path, combinations=full.request.combinations[:2], backgrounds=("snow",)))
    assert {j.key for j in part.jobs if j.kind in ("train", "score")} <= {j.key for j in full.jobs}


def test_estimate_uses_published_figures_per_unit_kind(tmp_path):
    plan = build_plan(_request(tmp_path, methods=("per_part_test",)))
    PUBLISHED[("per_part_test", "train:subject")] = PUBLISHED[("jointtuner", "train:combination")]
    try:
        rows = {r.kind: r for r in estimate(plan.jobs, ArtifactStore(tmp_path))}
    finally:
        del PUBLISHED[("per_part_test", "train:subject")]
    assert rows["train:subject"].jobs == 3 and rows["train:subject"].gpu_hours == 3 * 1800 / 3600
    assert rows["train:motion"].jobs == 2 and rows["train:motion"].gpu_hours is None


def test_estimate_uses_published_figures_and_measured_records(tmp_path):
    plan = build_plan(_request(tmp_path))
    store = ArtifactStore(tmp_path)
    train = ("dummy", "train:combination")
    rows = {(r.method, r.kind): r for r in estimate(plan.jobs, store)}
    assert rows[train].gpu_hours is None and "unknown" in rows[train].source
    for i, seconds in enumerate((2.0, 4.0, 9.0)):
        store.mark_done("train", f"train/dummy/zeroscope/combination/x{i}", [], {}, seconds)
    assert measured_figures(store)[train].seconds == 4.0  # the median
    rows = {(r.method, r.kind): r for r in estimate(plan.jobs, store)}
    assert rows[train].seconds_each == 4.0 and "measured here" in rows[train].source
    assert rows[train].gpu_hours == 0.0, "the dummy method needs no GPU"
    assert rows[("dummy", "sample")].jobs == len(plan.stage("score")), "sampling is counted per video"
    jointtuner = PUBLISHED[("jointtuner", "train:combination")]
    assert jointtuner.seconds == 1800 and jointtuner.source.startswith("published")


def test_report_key_names_methods_and_base(tmp_path):
    plan = build_plan(_request(tmp_path))
    report = plan.stage("report")[0]
    assert report.key.startswith("report/dummy/zeroscope/")
    assert len(report.payload["scores"]) == len(plan.stage("score"))


def test_ray_stays_optional():
    """The CLI, the planner and the local executor load without importing Ray."""
    code = (
        "import sys, jtbench.cli.app, jtbench.execution.local, jtbench.execution.runner\n"
        "from jtbench.execution.executor import EXECUTORS\n"
        "assert EXECUTORS.names() == ['local', 'ray'], EXECUTORS.names()\n"
        "print('ray' in sys.modules)"
    )
    assert run_python(code).strip() == "False"
