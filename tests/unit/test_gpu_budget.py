"""benchmarks/gpu_budget.py: slices, skips, per-item failures and timeouts, files always written."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from gpu_budget import Budget, Results, Stage, run_stages  # noqa: E402
from gpu_check_stages import step_seconds  # noqa: E402


def _results(tmp_path: Path) -> Results:
    return Results(tmp_path / "gpu-test.json", lambda data: f"# {len(data['stages'])} stages\n", {"stages": {}})


def _on_disk(results: Results) -> dict:
    return json.loads(results.json_path.read_text())


def test_a_failing_item_is_recorded_and_the_next_one_runs(tmp_path):
    results = _results(tmp_path)

    def body(stage: Stage) -> None:
        with stage.item("boom") as row:
            row["partial"] = 1
            raise ValueError("broken input")
        with stage.item("oom"):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        with stage.item("fine") as row:
            row["value"] = 42

    run_stages(Budget(60), results, "cpu", [("s", 1.0, 1.0, body)])
    items = {row["item"]: row for row in _on_disk(results)["stages"]["s"]["items"]}
    assert items["boom"]["status"] == "failed" and "broken input" in items["boom"]["reason"]
    assert items["oom"]["status"] == "out of memory"
    assert items["fine"] == {**items["fine"], "status": "done", "value": 42}
    assert _on_disk(results)["stages"]["s"]["status"] == "partial"
    assert results.md_path.read_text() == "# 1 stages\n"


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGALRM"), reason="needs SIGALRM")
def test_an_item_past_its_slice_is_interrupted_and_later_stages_still_run(tmp_path):
    results = _results(tmp_path)
    ran = []

    def slow(stage: Stage) -> None:
        with stage.item("endless"):
            while True:
                time.sleep(0.01)

    def quick(stage: Stage) -> None:
        with stage.item("quick"):
            ran.append(stage.slice_s)

    run_stages(Budget(15), results, "cpu", [("fast", 0.5, 0.5, lambda stage: None), ("slow", 0.2, 0.5, slow),
                                            ("quick", 0.3, 0.5, quick)])
    data = _on_disk(results)
    assert data["stages"]["slow"]["status"] == "timed out (partial)"
    assert data["stages"]["slow"]["items"][0]["status"] == "timed out"
    assert data["stages"]["slow"]["slice_s"] > 3, "the fast stage's unused time flows on (its own share is 2 s)"
    assert ran and data["stages"]["quick"]["status"] == "done"


def test_a_stage_or_item_that_cannot_fit_is_skipped_and_recorded(tmp_path):
    results = _results(tmp_path)

    def body(stage: Stage) -> None:
        assert not stage.fits("huge", need_s=1e6)
        with stage.item("small"):
            pass

    run_stages(Budget(8), results, "cpu", [("first", 0.5, 1.0, body), ("second", 0.5, 100.0, body)])
    data = _on_disk(results)
    assert data["stages"]["first"]["items"][0] == {**data["stages"]["first"]["items"][0], "status": "skipped"}
    assert "would not fit" in data["stages"]["first"]["items"][0]["reason"]
    assert data["stages"]["second"]["status"] == "skipped" and "would not fit" in data["stages"]["second"]["reason"]


def test_step_seconds_skips_warmup_and_phase_switch_gaps():
    marks = [0.0, 5.0, 6.0, 7.0, 8.0, 20.0, 21.0, 22.0]  # step 1 ends at 0; 8 → 20: a new phase's setup
    out = step_seconds(marks, warmup=2)
    assert out["s_per_step"] == 1.0 and out["gaps_left_out"] == 1 and out["steps_timed"] == 5
    assert step_seconds([1.0], warmup=1)["s_per_step"] is None


def test_real_size_base_reaches_every_adapter_and_is_undone(monkeypatch):
    """Real-size builds are too slow for a test: the builders are swapped, the routing is what is checked."""
    import real_size_t2v

    import baselines.dreamvideo.adapter as dreamvideo
    from jtbench.methods.t2v import base_model

    original = base_model.load_for_settings
    monkeypatch.setattr(real_size_t2v, "build_components", lambda tiny, device, seed=0: ("base", tiny, device))
    monkeypatch.setattr(real_size_t2v, "build_image_tower", lambda device, seed=0: ("tower", device))
    with real_size_t2v.real_size_base("cpu"):
        assert base_model.load_for_settings(None) == ("base", False, "cpu")
        assert dreamvideo.load_for_settings(None) == ("base", False, "cpu")  # imported by name at module level
        assert dreamvideo.clip_image.encoder_for_settings({}, None) == ("tower", "cpu")
    assert base_model.load_for_settings is original and dreamvideo.load_for_settings is original
