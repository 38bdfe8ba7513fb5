"""`jtbench score --profile dreamvideo` end to end (tiny backbones), and the reports that read its columns."""

from __future__ import annotations

import json
import math
import shutil

import pandas as pd
import pytest
from sample_media import downscale
from typer.testing import CliRunner

from jtbench.cli.app import app
from jtbench.io import layout
from jtbench.io.tables import read_results, upsert_results
from jtbench.io.video import read_video, write_video
from jtbench.metrics.base import PAPER_COLUMNS
from jtbench.report.api import report_text
from jtbench.report.build import ReportOptions, build_table
from jtbench.report.inputs import gather

PROFILE = ("CLIP-T@DreamVideo", "CLIP-I@DreamVideo", "DINO-I@DreamVideo", "T-Cons@DreamVideo")
CASES = ("bear_plushie__person_playing_flute__grass", "dog__person_playing_flute__beach")


@pytest.fixture(scope="module")
def scored(shared_data, sample_video, tmp_path_factory):
    """Two real (downscaled) videos of unequal length scored with CLIP-T and the dreamvideo profile."""
    root = tmp_path_factory.mktemp("profile_run")
    for subject in ("bear_plushie", "dog"):
        shutil.copytree(shared_data / "subjects" / subject, root / "data" / "subjects" / subject)
    frames = read_video(sample_video).frames
    folder = root / "my_method"
    write_video(downscale(frames[:12], 96, 144), layout.video_path(folder, CASES[0]), fps=8)
    write_video(downscale(frames[20:29], 120, 120), layout.video_path(folder, CASES[1]), fps=8)
    out = root / "out"
    args = ["score", str(folder), "--out", str(out), "--data", str(root / "data"), "--metrics", "CLIP-T",
            "--profile", "dreamvideo", "--backbones", "tiny", "--no-progress"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return root, out


def test_score_profile_writes_the_four_columns_for_every_video(scored):
    _, out = scored
    df = read_results(out)
    assert len(df) == 2
    for column in (*PROFILE, "CLIP-T"):
        assert df[column].dtype == "float64" and df[column].map(math.isfinite).all(), column
    assert df[[c for c in PAPER_COLUMNS if c != "CLIP-T"]].isna().all().all()  # the ten not asked for stay empty
    versions = json.loads(df["metric_versions"].iloc[0])
    assert {"clip_t", "clip_t_dreamvideo", "dino_i_dreamvideo"} <= set(versions)
    assert "dino_vits16=float32" in df["dtype"].iloc[0] or df["dtype"].iloc[0].endswith("float32")
    summary = pd.read_csv(out / "summary.csv")
    names = list(summary.columns)
    assert names.index("CLIP-T") < min(names.index(c) for c in PROFILE)  # the profile after the ten
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["profiles"] == ["dreamvideo"]


def test_an_index_row_may_name_its_reference_images_folder(scored):
    root, out = scored
    subset = root / "only_two"
    subset.mkdir(exist_ok=True)
    for name in ("01.jpg", "03.jpg"):
        shutil.copy(root / "data" / "subjects" / "bear_plushie" / name, subset / name)
    index = root / "index.csv"
    video = layout.video_path(root / "my_method", CASES[0])
    index.write_text(f"video,case_id,reference_images,method\n{video},{CASES[0]},only_two,subset\n")
    out2 = root / "out_subset"
    args = ["score", "--index", str(index), "--out", str(out2), "--data", str(root / "data"),
            "--metrics", "CLIP-I@DreamVideo,T-Cons@DreamVideo", "--backbones", "tiny", "--no-progress"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    ours, full = read_results(out2).iloc[0], read_results(out).set_index("case_id").loc[CASES[0]]
    assert ours["T-Cons@DreamVideo"] == pytest.approx(full["T-Cons@DreamVideo"], abs=1e-7)
    assert abs(ours["CLIP-I@DreamVideo"] - full["CLIP-I@DreamVideo"]) > 1e-5  # two images, not five


def test_report_puts_result_rows_beside_customttts_table(scored):
    _, out = scored
    result = CliRunner().invoke(app, ["report", str(out), "--reference", "customttt-supp", "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "method,Trainable Params,CLIP-T,CLIP-I,Temporal Consistency,Motion Fidelity"
    assert sum(line.endswith("(paper)", 0, line.index(",")) for line in lines[1:]) == 5
    ours = next(line for line in lines if line.startswith("my_method,")).split(",")
    df = read_results(out)
    assert float(ours[2]) == pytest.approx(df["CLIP-T@DreamVideo"].mean(), abs=5e-4)  # three decimals, as printed
    assert ours[5] == ""  # no Mot-Fid scored: left empty, and said so
    md = report_text(gather([out], "customttt-supp"), fmt="md")
    assert "our reading" in md or "jtbench's reading" in md
    assert "Motion Fidelity (needs Mot-Fid)" in md and "NOT real models" in md


def test_report_profile_table_and_html_section(scored, tmp_path):
    _, out = scored
    result = CliRunner().invoke(app, ["report", str(out), "--profile", "dreamvideo", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "method," + ",".join(PROFILE)
    with_ref = report_text(gather([out], "customttt-supp"), fmt="md", table="profile",
                           options=ReportOptions(profile="dreamvideo"))  # fmt: skip
    assert "Reference rows (customttt-supp) are not shown" in with_ref
    html_out = tmp_path / "html"
    result = CliRunner().invoke(app, ["report", str(out), "--format", "html", "--out", str(html_out)])
    assert result.exit_code == 0, result.output
    page = (html_out / "index.html").read_text()
    assert "Profile dreamvideo" in page and "DINO-I@DreamVideo" in page


def test_mot_fid_enters_customttts_motion_fidelity_divided_by_100(tmp_path):
    rows = [
        {"method": "m", "video_sha256": f"{i}", "video": f"/v{i}.mp4", "Mot-Fid": mot, "CLIP-T@DreamVideo": 0.3,
         "T-Cons@DreamVideo": 0.95}
        for i, mot in enumerate((70.0, 80.0))
    ]  # fmt: skip
    upsert_results(tmp_path / "results.parquet", rows)
    table = build_table("main", gather([tmp_path], "customttt-supp"), ReportOptions())
    row = table.frame.set_index("method").loc["m"]
    assert row["Motion Fidelity"] == pytest.approx(0.75) and row["CLIP-T"] == pytest.approx(0.3)
    assert pd.isna(row["CLIP-I"]) and "CLIP-I (needs CLIP-I@DreamVideo)" in " ".join(table.notes)
    assert not any(c in table.frame.columns for c in ("ARS", "NAS", "AAS"))


def test_results_without_any_mapped_column_are_told_how_to_get_them(tmp_path):
    upsert_results(tmp_path / "results.parquet", [{"method": "m", "video_sha256": "0", "video": "/v.mp4",
                                                  "CLIP-T": 30.0}])  # fmt: skip
    with pytest.raises(Exception, match="--profile dreamvideo"):
        build_table("main", gather([tmp_path], "customttt-supp"))
    with pytest.raises(Exception, match="--profile dreamvideo"):
        build_table("profile", gather([tmp_path]), ReportOptions(profile="dreamvideo"))


def test_a_changed_image_folder_rescores_only_the_profile_columns_that_read_it(scored, tmp_path):
    root, out = scored
    data, again = tmp_path / "data", tmp_path / "out"
    shutil.copytree(root / "data", data)
    shutil.copytree(out, again)
    before = read_results(again).set_index("case_id")
    assert before.loc[CASES[0], "reference_images"] == "subjects/bear_plushie"
    (data / "subjects" / "bear_plushie" / "04.jpg").unlink()
    args = ["score", str(root / "my_method"), "--out", str(again), "--data", str(data), "--metrics", "CLIP-T",
            "--profile", "dreamvideo", "--backbones", "tiny", "--no-progress"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "scored 1 video(s), skipped 1" in result.stdout  # the dog's folder did not change
    after = read_results(again).set_index("case_id")
    assert after.loc[CASES[0], "reference_images_sha256"] != before.loc[CASES[0], "reference_images_sha256"]
    assert after.loc[CASES[0], "CLIP-I@DreamVideo"] != before.loc[CASES[0], "CLIP-I@DreamVideo"]
    assert after.loc[CASES[0], "CLIP-T@DreamVideo"] == before.loc[CASES[0], "CLIP-T@DreamVideo"]
    assert after.loc[CASES[1]].equals(before.loc[CASES[1]])


def test_list_profiles_and_an_unknown_profile():
    runner = CliRunner()
    listed = runner.invoke(app, ["list", "profiles", "--format", "csv"])
    assert listed.exit_code == 0, listed.output
    assert "dreamvideo" in listed.stdout and "DINO-I@DreamVideo" in listed.stdout
    metrics = runner.invoke(app, ["list", "metrics", "--format", "csv"])
    assert "dino_i_dreamvideo,DINO-I@DreamVideo" in metrics.stdout
    bad = runner.invoke(app, ["score", ".", "--out", "x", "--profile", "dreamvidoe", "--backbones", "tiny"])
    assert bad.exit_code == 2 and "did you mean dreamvideo" in bad.output
