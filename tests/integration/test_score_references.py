"""Scoring against the JointTuner release: the reference fits the video's length, every row says
which files it was scored against, provenance/summary name the reference set, reports warn on a mix.
Also the issue's done-when run: prepare from a (synthetic) release, verify, score a 49-frame video."""

from __future__ import annotations

import json
import warnings
import zipfile

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from synthetic_release import make_release, release_members
from typer.testing import CliRunner

from jtbench.benchmark import release as release_module
from jtbench.cli.app import app
from jtbench.io.digest import file_sha256
from jtbench.io.layout import video_path
from jtbench.io.tables import read_results, upsert_results
from jtbench.io.video import write_video
from jtbench.metrics.scorer import TINY_LABEL
from jtbench.report.aggregate import MixedRowsWarning
from jtbench.report.build import build_table
from jtbench.report.inputs import gather

CASE = "bear_plushie__person_playing_flute__grass"
FLUTE = "person_playing_flute"
SIZE = 64  # LK tracks a 55x55 grid; 64x64 frames keep the run to seconds


@pytest.fixture(scope="module")
def release_dir(tmp_path_factory):
    return make_release(tmp_path_factory.mktemp("jointtuner"), members=release_members(SIZE))


def _cli(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def _generated(folder, seed: int, frames: int):
    """A video drifting right by one pixel per frame (so every LK track moves)."""
    rng = np.random.default_rng(seed)
    canvas = rng.integers(0, 256, (SIZE, SIZE + frames, 3), dtype=np.uint8)
    video = np.stack([canvas[:, t : t + SIZE] for t in range(frames)])
    return write_video(video, video_path(folder, CASE, seed), fps=8)


def test_done_when_prepare_verify_and_score_a_49_frame_video(release_dir, tmp_path):
    data = tmp_path / "D"
    prepared = _cli("data", "prepare", "--out", str(data), "--source", f"jointtuner={release_dir}")
    assert "reference set: jointtuner-release" in prepared.stdout
    assert "reference set: jointtuner-release" in _cli("data", "verify", str(data)).stdout

    videos = tmp_path / "jt"
    lengths = {0: 49, 1: 16}  # other lengths: test_release.py (choice) and test_motion_fidelity.py (notes)
    for seed, frames in lengths.items():
        _generated(videos, seed, frames)
    out = tmp_path / "scores"
    result = CliRunner().invoke(
        app,
        ["score", str(videos), "--out", str(out), "--data", str(data), "--backbones", "tiny", "--no-progress"]
        + ["--metrics", "Mot-Fid,CLIP-I"],
    )
    assert result.exit_code == 0, result.output
    rows = read_results(out).set_index("seed")
    assert rows.loc[0, "reference_video"] == f"motions_49f/{FLUTE}/00.mp4"
    assert rows.loc[1, "reference_video"] == f"motions/{FLUTE}/00.mp4"
    for seed in lengths:
        ref = data / rows.loc[seed, "reference_video"]
        assert rows.loc[seed, "reference_video_sha256"] == file_sha256(ref)
        assert rows.loc[seed, "reference_image"] == "subjects/bear_plushie/00.jpg"
        assert rows.loc[seed, "reference_image_sha256"] == file_sha256(data / "subjects" / "bear_plushie" / "00.jpg")
        assert rows.loc[seed, "reference_set"] == "jointtuner-release"
        assert np.isfinite(rows.loc[seed, "Mot-Fid"]) and np.isfinite(rows.loc[seed, "CLIP-I"])
    assert "truncated" not in rows.loc[0, "errors"] and "zero-padded" not in rows.loc[0, "errors"]
    assert "truncated" not in rows.loc[1, "errors"] and "zero-padded" not in rows.loc[1, "errors"]

    stamp = json.loads((out / "provenance.json").read_text())
    assert stamp["reference_set"] == "jointtuner-release"
    used = stamp["references"]["files"]
    assert used[f"motions_49f/{FLUTE}/00.mp4"]["reference_set"] == "jointtuner-release"
    assert stamp["references"]["prepared_reference_set"] == "jointtuner-release"
    summary = pd.read_csv(out / "summary.csv")
    assert summary.loc[0, "reference_set"] == "jointtuner-release"


def test_download_option_fetches_the_release(release_dir, tmp_path, monkeypatch):
    served = {}
    for name, url in release_module.archive_urls().items():
        served[url] = release_dir / name.rsplit("/", 1)[-1]
    monkeypatch.setattr(release_module, "_open_url", lambda url: open(served[url], "rb"))
    data = tmp_path / "D"
    args = ["data", "prepare", "--out", str(data), "--download", str(tmp_path / "dl"), "--subject", "dog"]
    _cli(*args, "--motion", FLUTE)
    assert (tmp_path / "dl" / "jointtuner" / "motion_49f.zip").is_file()
    with zipfile.ZipFile(release_dir / "motion_49f.zip") as zf:
        assert (data / "motions_49f" / FLUTE / "04.mp4").read_bytes() == zf.read(f"motion_49f/{FLUTE}/04.mp4")
    assert sorted(p.name for p in (data / "subjects" / "dog").iterdir()) == ["00.jpg", "01.jpg", "02.jpg"]


def test_old_results_without_reference_columns_still_load_and_upsert(release_dir, tmp_path):
    data = tmp_path / "D"
    args = ["data", "prepare", "--out", str(data), "--source", f"jointtuner={release_dir}"]
    _cli(*args, "--subject", "bear_plushie", "--motion", FLUTE)
    out = tmp_path / "scores"
    old = {"method": "jt", "video_sha256": "0" * 64, "case_id": CASE, "CLIP-I": 50.0, "backbones": TINY_LABEL}
    upsert_results(out / "results.parquet", [old])
    table = pq.read_table(out / "results.parquet")
    legacy = table.drop([c for c in table.column_names if c.startswith("reference_")])
    pq.write_table(legacy, out / "results.parquet")  # a table written before the reference columns

    _generated(tmp_path / "jt", 0, 49)
    args = ["score", str(tmp_path / "jt"), "--out", str(out), "--data", str(data), "--method", "jt"]
    _cli(*args, "--backbones", "tiny", "--no-progress", "--metrics", "CLIP-I")
    rows = read_results(out).set_index("video_sha256")
    assert len(rows) == 2 and rows.loc["0" * 64, "CLIP-I"] == 50.0
    assert pd.isna(rows.loc["0" * 64, "reference_set"])
    new = rows.drop(index="0" * 64).iloc[0]
    assert new["reference_set"] == "jointtuner-release" and pd.isna(new["reference_video"])  # Mot-Fid not run
    assert pd.read_csv(out / "summary.csv").loc[0, "reference_set"] == "jointtuner-release+not-recorded"
    with pytest.warns(MixedRowsWarning, match="reference sets .*not-recorded: jt"):
        build_table("main", gather([out]))


def test_a_report_mixing_release_and_rebuilt_references_warns(tmp_path):
    rows = [
        {"method": "a", "video_sha256": "1", "case_id": CASE, "subject": "bear_plushie", "motion": FLUTE,
         "CLIP-I": 60.0, "reference_set": "jointtuner-release"},
        {"method": "b", "video_sha256": "2", "case_id": CASE, "subject": "bear_plushie", "motion": FLUTE,
         "CLIP-I": 61.0, "reference_set": "rebuilt"},
    ]  # fmt: skip
    upsert_results(tmp_path / "mixed" / "results.parquet", rows)
    with pytest.warns(MixedRowsWarning, match="jointtuner-release: a; rebuilt: b"):
        build_table("main", gather([tmp_path / "mixed"]))
    upsert_results(tmp_path / "same" / "results.parquet", [{**rows[1], "reference_set": "jointtuner-release"}])
    upsert_results(tmp_path / "same" / "results.parquet", [rows[0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error", MixedRowsWarning)
        build_table("main", gather([tmp_path / "same"]))


def test_a_changed_reference_is_scored_again_an_unchanged_one_is_skipped(tmp_path):
    """Re-preparing changes the 49-frame clip: the 49-frame video is re-scored, the 16-frame one is not."""
    from _score_fakes import make_video

    from jtbench.benchmark import Benchmark
    from jtbench.benchmark.prepare import prepare
    from jtbench.io.layout import scan_folder
    from jtbench.metrics.scorer import Scorer, TimedHub

    members = release_members(16)
    data = tmp_path / "D"
    prepare(data, {"jointtuner": make_release(tmp_path / "v1", members=members)}, motions=[FLUTE])
    videos = tmp_path / "jt"
    make_video(video_path(videos, CASE, 0), 90, frames=49)
    make_video(video_path(videos, CASE, 1), 120, frames=16)
    hub = TimedHub(backbones="tiny", device="cpu", precision="fp32", tiny_dir=tmp_path / "tiny")

    def run():
        scorer = Scorer(["jtbench_test_reference"], hub=hub, benchmark=Benchmark.load(data_root=data))
        return scorer.score(scan_folder(videos, method="jt"), tmp_path / "out")

    assert run().scored == 2
    first = read_results(tmp_path / "out").set_index("seed")["reference_video_sha256"]
    changed = {name: dict(files) for name, files in members.items()}
    changed["motion_49f.zip"][f"motion_49f/{FLUTE}/00.mp4"] = release_members(32)["motion_49f.zip"][
        f"motion_49f/{FLUTE}/00.mp4"
    ]
    prepare(data, {"jointtuner": make_release(tmp_path / "v2", members=changed)}, motions=[FLUTE])
    report = run()
    assert (report.scored, report.skipped) == (1, 1)
    second = read_results(tmp_path / "out").set_index("seed")["reference_video_sha256"]
    assert second[0] != first[0] and second[0] == file_sha256(data / "motions_49f" / FLUTE / "00.mp4")
    assert second[1] == first[1]
    assert (run().scored, run().skipped) == (0, 2)
