"""Faults: SIGKILL mid-run then resume, two runs on one folder, a failing job among good ones."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import pandas as pd
from _run_helpers import invoke, reference_run, spawn, table

from jtbench.execution.store import ArtifactStore


def _wait_for(predicate, proc, timeout: float = 240.0) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert proc.poll() is None, f"the run ended before the kill point:\n{proc.stdout.read()}"
        assert time.time() < deadline, "the kill point was never reached"
        time.sleep(0.02)


def test_sigkill_mid_run_then_resume_gives_the_uninterrupted_table(tmp_path, tmp_path_factory, demo_data_root):
    reference = reference_run(tmp_path_factory, demo_data_root)
    out = tmp_path / "killed"
    scores = out / ".jtbench" / "records" / "score"
    proc = spawn(out, demo_data_root)
    _wait_for(lambda: scores.is_dir() and len(list(scores.glob("*.json"))) >= 1, proc)
    proc.send_signal(signal.SIGKILL)  # mid-way through scoring: one video scored, two not
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "results.parquet").exists(), "killed before the report"
    done_before = len(list(scores.glob("*.json")))
    assert 1 <= done_before < 3

    result = invoke(out, demo_data_root)  # the same command again: resumes
    assert result.exit_code == 0, result.output
    assert f"already done: train 3, sample 3, score {done_before}" in result.output
    resumed, uninterrupted = table(out), table(reference)
    assert len(resumed) == 3 and resumed["video_sha256"].is_unique
    pd.testing.assert_frame_equal(resumed, uninterrupted)


def test_second_run_on_a_busy_folder_refuses_with_a_clear_message(tmp_path, demo_data_root):
    with ArtifactStore(tmp_path).lock("jtbench run (the first one)"):
        result = invoke(tmp_path, demo_data_root, "--limit", "1")
    assert result.exit_code == 2
    assert "another jtbench run is using this output folder" in result.output
    assert "the first one" in result.output and "different --out" in result.output
    assert not (tmp_path / "videos").exists(), "the refused run did nothing"


def test_failed_job_is_reported_the_rest_finish_and_a_rerun_retries_it(tmp_path, demo_data_root):
    data = tmp_path / "data"
    shutil.copytree(demo_data_root, data)
    broken = data / "subjects" / "dog" / "00.jpg"
    good = broken.read_bytes()
    broken.write_bytes(b"not a jpeg")
    out = tmp_path / "run"

    result = invoke(out, data)
    assert result.exit_code == 1
    assert "3 job(s) failed or were skipped" in result.output  # dog: train failed, sample and score skipped
    assert "dog__person_playing_flute" in result.output and "cannot" in result.output
    assert "to retry them" in result.output and "run the same command again" in result.output
    df = pd.read_parquet(out / "results.parquet")
    assert sorted(df["subject"]) == ["backpack", "bear_plushie"], "the other combinations finished"

    broken.write_bytes(good)
    again = invoke(out, data)
    assert again.exit_code == 0, again.output
    assert "ran: train 1, sample 1, score 1, report 1" in again.output
    assert sorted(pd.read_parquet(out / "results.parquet")["subject"]) == ["backpack", "bear_plushie", "dog"]
    failures = Path(out / ".jtbench" / "failures" / "train")
    assert not list(failures.glob("*.json")), "success clears the failure record"
