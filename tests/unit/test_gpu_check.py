"""`make gpu-check DEVICE=cpu TINY=1`: the GPU measurement's code path on tiny models, and the dry
run's use of its results."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jtbench.execution.estimate import estimate, gpu_check_figures, newest_gpu_check, projection_basis

REPO = Path(__file__).resolve().parents[2]


def test_make_target_takes_device_tiny_and_budget():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = subprocess.run(["make", "-n", "gpu-check", "DEVICE=cpu", "TINY=1", "BUDGET=77"], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in out.splitlines() if "gpu_check.py" in ln)
    assert line.split("python", 1)[1].split() == ["benchmarks/gpu_check.py", "--device", "cpu", "--budget", "77",
                                                   "--tiny"]
    real = subprocess.run(["make", "-n", "gpu-check"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "--device cuda --budget 420" in real and "--tiny" not in real


@pytest.fixture(scope="module")
def tiny_check(tmp_path_factory) -> Path:
    """One tiny CPU run of the whole script, in its own process (its watchdog may end the process)."""
    out = tmp_path_factory.mktemp("gpu_check")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--device", "cpu", "--tiny", "--budget", "1200",
         "--out", str(out), "--work", str(out / "work")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1500,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (out / "stdout.txt").write_text(proc.stdout)
    return out


def test_tiny_run_writes_json_and_markdown_with_every_stage(tiny_check):
    files = sorted(tiny_check.glob("gpu-*.json"))
    assert len(files) == 1 and "-tiny-" in files[0].name
    data = json.loads(files[0].read_text())
    assert data["tiny"] is True and data["preflight"]["torch"] and data["wall_s"] > 0
    stages = data["stages"]
    assert set(stages) == {"scoring", "training", "sampling", "dit"}
    not_done = [(s, r["item"], r["status"], r.get("reason")) for s in stages for r in stages[s]["items"]
                if r["status"] != "done"]
    assert not not_done, not_done
    scoring = {(r["video"], r["side"]): r for r in stages["scoring"]["items"] if r.get("side")}
    assert len(scoring) == 2 and all(r["per_video_s"] > 0 and len(r["metrics_s"]) == 9 for r in scoring.values())
    assert all(c["ratio"] > 0 for c in stages["scoring"]["comparison"].values())
    training = {(r["method"], r["unit"]): r for r in stages["training"]["items"] if r.get("method")}
    assert set(training) == {("jointtuner", "combination"), ("motiondirector", "subject"),
                             ("motiondirector", "motion"), ("dreamvideo", "subject"), ("dreamvideo", "motion"),
                             ("customttt", "subject"), ("customttt", "motion")}
    for row in training.values():
        assert row["s_per_step"] > 0 and row["full_steps"] >= 300 and row["projected_full_min"] > 0
    assert training[("jointtuner", "combination")]["full_steps"] == 2000
    assert set(stages["training"]["per_combination"]) == {"jointtuner", "motiondirector", "dreamvideo", "customttt"}
    sampling = {r["method"]: r for r in stages["sampling"]["items"]}
    assert set(sampling) == {"jointtuner", "motiondirector", "dreamvideo", "customttt"}
    assert all(r["s_per_video"] > 0 and r["videos"] == 1 for r in sampling.values())
    dit = {r["item"]: r for r in stages["dit"]["items"]}
    train, sample = dit["train jointtuner/cogvideox-2b"], dit["sample jointtuner/cogvideox-2b"]
    assert train["lora_targets"] == 12 and train["s_per_step_video"] > 0 and train["s_per_step_image"] > 0
    assert train["full_steps"] == 1000 and train["projected_full_min"] > 0 and train["base"] == "cogvideox-2b"
    assert sample["steps_run"] == 3 and sample["s_per_sampler_step"] > 0 and sample["projected_s_per_video"] > 0
    markdown = files[0].with_suffix(".md").read_text()
    for heading in ("## Scoring", "## Training", "## Sampling", "## DiT", "NOT real-size"):
        assert heading in markdown
    assert "## Training" in (tiny_check / "stdout.txt").read_text(), "the tables are printed"


def test_dry_run_figures_come_from_the_newest_real_size_file_never_a_tiny_one(tiny_check, tmp_path):
    tiny = json.loads(next(tiny_check.glob("gpu-*.json")).read_text())
    assert newest_gpu_check(tiny_check) is None, "a tiny check is not a measurement"
    assert "published figures" in projection_basis(tiny_check)
    for name, started in (("gpu-old-2026-01-01-000000.json", "2026-01-01T00:00:00+00:00"),
                          ("gpu-new-2026-02-01-000000.json", "2026-02-01T00:00:00+00:00")):
        (tmp_path / name).write_text(json.dumps({**tiny, "tiny": False, "started": started, "device_name": name}))
    (tmp_path / "gpu-broken.json").write_text("{not json")
    path, data = newest_gpu_check(tmp_path)
    assert path.name.startswith("gpu-new")
    figures = gpu_check_figures(path, data)
    jt = figures[("jointtuner", "train:combination")]
    row = next(r for r in tiny["stages"]["training"]["items"] if r.get("method") == "jointtuner")
    assert jt.seconds == pytest.approx(row["projected_full_min"] * 60) and "gpu-new" in jt.source
    assert figures[("*", "score")].seconds > 0 and figures[("customttt", "sample")].seconds > 0
    assert "gpu-new" in projection_basis(tmp_path)


def test_estimate_prefers_gpu_check_over_published_figures(tiny_check, tmp_path):
    from jtbench.execution.jobs import Job
    from jtbench.execution.store import ArtifactStore

    data = json.loads(next(tiny_check.glob("gpu-*.json")).read_text())
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "gpu-x-2026-02-01-000000.json").write_text(json.dumps({**data, "tiny": False}))
    unit = {"method": "jointtuner", "kind": "combination", "subject": "dog", "motion": "car_turn"}
    jobs = [Job("train", "train/jointtuner/zeroscope/combination/dog__car_turn", "jointtuner", "zeroscope",
                {"unit": unit})]
    store = ArtifactStore(tmp_path / "run")
    published = estimate(jobs, store, gpu_results=tmp_path / "empty")[0]
    checked = estimate(jobs, store, gpu_results=tmp_path / "results")[0]
    assert published.source.startswith("published") and checked.source.startswith("gpu-check")
    assert checked.seconds_each != published.seconds_each
    dit_job = Job("train", "train/jointtuner/cogvideox-2b/combination/dog__car_turn", "jointtuner", "cogvideox-2b",
                  {"unit": unit})
    unknown = estimate([dit_job], store, gpu_results=tmp_path / "empty", base="cogvideox-2b")[0]
    assert unknown.seconds_each is None, "the ZeroScope figure must not project a CogVideoX run"
    dit_row = next(r for r in data["stages"]["dit"]["items"] if r["item"].startswith("train"))
    measured = estimate([dit_job], store, gpu_results=tmp_path / "results", base="cogvideox-2b")[0]
    assert measured.seconds_each == pytest.approx(dit_row["projected_full_min"] * 60) and "s/step" in measured.source


def test_meter_total_keeps_its_loads_and_a_metric_gives_them_away(monkeypatch):
    """``total - load`` is the run without its loads (it once took them off twice, going negative)."""
    import time

    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    from scoring_structures import Meter

    meter = Meter("cpu")
    with meter.measure("total"):
        with meter.measure("clip_t"):
            with meter.measure("load"):
                time.sleep(0.2)
            time.sleep(0.05)
    assert meter.wall["load"] >= 0.2
    assert 0.05 <= meter.wall["clip_t"] < 0.2
    assert meter.wall["total"] - meter.wall["load"] >= 0.05
