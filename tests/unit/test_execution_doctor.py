"""`jtbench doctor`: every check reports, a smoke score runs on tiny backbones, a real fault fails."""

from __future__ import annotations

import json
import shutil

from typer.testing import CliRunner

from jtbench.cli.app import app


def _doctor(*args: str):
    return CliRunner().invoke(app, ["doctor", "--format", "json", *args], catch_exceptions=False)


def test_doctor_reports_environment_weights_data_and_smoke(demo_data_root, tmp_path):
    result = _doctor("--data", str(demo_data_root), "--out", str(tmp_path), "--no-verify")
    assert result.exit_code == 0, result.output
    rows = {r["check"]: r for r in json.loads(result.stdout[result.stdout.index("[") :])}
    for name in ("python", "torch", "pyav", "h264 encoder", "disk (run folder)", "benchmark data"):
        assert name in rows, f"missing check {name}"
    assert rows["h264 encoder"]["status"] == "ok"
    # the demo slice draws a 49-frame set too (the DiT bases train on and are scored against motions_49f/)
    assert "4/15 subjects, 2/12 motions (16 frames), 2/12 motions (49 frames)" in rows["benchmark data"]["detail"]
    reference_set = rows["benchmark data reference set"]  # the demo slice is not the paper's files
    assert reference_set["status"] == "warn" and "demo" in reference_set["detail"]
    assert "--source jointtuner=PATH" in reference_set["detail"]
    assert any(name.startswith("weights openai-clip-vit-b-32") for name in rows), "the weights catalog is listed"
    assert "cuda" in rows or any(name.startswith("gpu ") for name in rows)
    for metric in ("clip_t", "subject_consistency"):
        smoke = rows[f"smoke {metric}"]
        assert smoke["status"] == "ok" and "(tiny)" in smoke["detail"], smoke


def test_doctor_fails_on_altered_data(demo_data_root, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(demo_data_root, data)
    (data / "subjects" / "dog" / "00.jpg").write_bytes(b"changed")
    result = _doctor("--data", str(data), "--no-verify", "--no-smoke")
    assert result.exit_code == 1
    rows = {r["check"]: r for r in json.loads(result.stdout[result.stdout.index("[") :])}
    lock = rows["benchmark data lock"]
    assert lock["status"] == "FAIL" and "dog" in lock["detail"]
