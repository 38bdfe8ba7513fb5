"""`jtbench run` end to end with the local executor: tables, report, resumption, dry run."""

from __future__ import annotations

import json

import pandas as pd
from _run_helpers import invoke, reference_run, table

from jtbench.metrics.base import PAPER_COLUMNS


def test_run_writes_results_report_and_html(tmp_path_factory, demo_data_root):
    out = reference_run(tmp_path_factory, demo_data_root)
    df = pd.read_parquet(out / "results.parquet")
    assert sorted(df["case_id"]) == [
        "backpack__train_turning__grass",
        "bear_plushie__person_playing_flute__grass",
        "dog__person_playing_flute__grass",
    ]
    assert list(df.columns[: len(df.columns)]).count("video_sha256") == 1
    assert set(df["method"]) == {"dummy"} and set(df["base_model"]) == {"zeroscope"} and set(df["seed"]) == {0}
    assert df[["CLIP-T", "CLIP-I", "Subj-Con"]].notna().all().all()
    assert df[[c for c in PAPER_COLUMNS if c not in ("CLIP-T", "CLIP-I", "Subj-Con")]].isna().all().all()
    assert all(v == f"videos/dummy/zeroscope/{c}/0.mp4" for v, c in zip(df["video"], df["case_id"], strict=True))
    assert all((out / v).is_file() for v in df["video"])
    assert df["backbones"].str.contains("tiny").all()
    report = (out / "report.md").read_text()
    assert "tiny backbones with random weights" in report and "| dummy |" in report
    assert (out / "report" / "index.html").is_file() and (out / "summary.csv").is_file()


def test_rerun_does_only_the_report_and_keeps_the_table(tmp_path_factory, demo_data_root):
    out = reference_run(tmp_path_factory, demo_data_root)
    before = table(out)
    result = invoke(out, demo_data_root)
    assert result.exit_code == 0, result.output
    assert "ran: report 1; already done: train 3, sample 3, score 3" in result.output
    pd.testing.assert_frame_equal(table(out), before)


def test_changed_seeds_add_videos_without_redoing_training(tmp_path_factory, demo_data_root):
    out = tmp_path_factory.mktemp("seeds")
    first = invoke(out, demo_data_root, "--limit", "1")
    assert first.exit_code == 0, first.output
    second = invoke(out, demo_data_root, "--limit", "1", "--seeds", "0,1")
    assert second.exit_code == 0, second.output
    assert "ran: sample 1, score 1, report 1; already done: train 1, sample 1, score 1" in second.output
    df = pd.read_parquet(out / "results.parquet")
    assert sorted(df["seed"]) == [0, 1] and df["video_sha256"].nunique() == 2


def test_changed_config_reruns_and_replaces_the_stale_row(tmp_path_factory, demo_data_root):
    out = tmp_path_factory.mktemp("config")
    assert invoke(out, demo_data_root, "--limit", "1").exit_code == 0
    before = pd.read_parquet(out / "results.parquet")
    changed = invoke(out, demo_data_root, "--limit", "1", "--set", "size=96")
    assert changed.exit_code == 0, changed.output
    assert "ran: train 1, sample 1, score 1, report 1; already done: nothing" in changed.output
    after = pd.read_parquet(out / "results.parquet")
    assert len(after) == 1 and after["case_id"].tolist() == before["case_id"].tolist()
    assert after["video_sha256"].tolist() != before["video_sha256"].tolist(), "the new config's video replaced the old"


def test_dry_run_prints_the_plan_and_measured_figures(tmp_path_factory, demo_data_root):
    out = reference_run(tmp_path_factory, demo_data_root)
    result = invoke(out, demo_data_root, "--dry-run", "--seeds", "0,1")
    assert result.exit_code == 0, result.output
    assert "3 combinations × 1 backgrounds × 2 seeds = 6 videos" in result.output
    assert "measured here" in result.output and "GPU-hours" in result.output
    assert "projection from: " in result.output, "the dry run says which figures it projects from"
    last = json.loads((out / ".jtbench" / "last_run.json").read_text())
    assert last["failed"] == [], "a dry run writes nothing"
    assert not (out / "videos" / "dummy" / "zeroscope" / "backpack__train_turning__grass" / "1.mp4").exists()
