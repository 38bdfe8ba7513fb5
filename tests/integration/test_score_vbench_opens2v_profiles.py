"""`jtbench score --profile vbench-extra,opens2v-open --backbones tiny` on the demo slice, and its reports."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from typer.testing import CliRunner

from jtbench.cli.app import app
from jtbench.cli.demo import write_my_method
from jtbench.io.tables import read_results
from jtbench.metrics.opens2v import leaderboard_scores

COLUMNS = ("Temp-Flicker@VBench", "Overall-Con@VBench", "Aesthetics@OpenS2V", "Motion@OpenS2V")


@pytest.fixture(scope="module")
def scored(demo_data_root, tmp_path_factory):
    """The demo's "my method" videos (each case's reference clip) scored with CLIP-T and both profiles."""
    root = tmp_path_factory.mktemp("extra_profiles")
    (root / "run").mkdir()
    (root / "run" / "data").symlink_to(demo_data_root, target_is_directory=True)
    folder = write_my_method(root)
    out = root / "out"
    args = ["score", str(folder), "--out", str(out), "--data", str(demo_data_root), "--metrics", "CLIP-T",
            "--profile", "vbench-extra,opens2v-open", "--backbones", "tiny", "--no-progress"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return out


def test_score_writes_every_profile_column_for_every_video(scored):
    df = read_results(scored)
    assert len(df) >= 2
    for column in (*COLUMNS, "CLIP-T"):
        assert df[column].dtype == "float64" and df[column].map(math.isfinite).all(), column
    versions = json.loads(df["metric_versions"].iloc[0])
    assert {"temporal_flickering_vbench", "overall_consistency_vbench", "aesthetics_opens2v", "motion_opens2v"} <= set(
        versions
    )
    assert sorted(json.loads((scored / "provenance.json").read_text())["profiles"]) == ["opens2v-open", "vbench-extra"]
    names = list(pd.read_csv(scored / "summary.csv").columns)
    assert names.index("CLIP-T") < min(names.index(c) for c in COLUMNS)


def test_report_opens2v_prints_the_leaderboard_normalisation_beside(scored):
    result = CliRunner().invoke(app, ["report", str(scored), "--profile", "opens2v-open", "--format", "csv"])
    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()[:2]
    assert header == ("method,Aesthetics@OpenS2V,Motion@OpenS2V,Aesthetics@OpenS2V (OpenS2V norm.),"
                      "Motion@OpenS2V (OpenS2V norm.)")  # fmt: skip
    df = read_results(scored)
    expected = leaderboard_scores(df["Aesthetics@OpenS2V"], df["Motion@OpenS2V"])
    values = [float(v) for v in row.split(",")[1:]]
    assert values[2] == pytest.approx(expected["Aesthetics@OpenS2V"], abs=5e-5)
    assert values[3] == pytest.approx(expected["Motion@OpenS2V"], abs=5e-5)
    md = CliRunner().invoke(app, ["report", str(scored), "--profile", "opens2v-open", "--format", "md"])
    assert "TotalScore cannot be formed" in md.stdout and "GmeScore is not included" in md.stdout


def test_report_vbench_extra_and_the_html_sections(scored, tmp_path):
    result = CliRunner().invoke(app, ["report", str(scored), "--profile", "vbench-extra", "--format", "md"])
    assert result.exit_code == 0, result.output
    assert "Temp-Flicker@VBench" in result.stdout and "temporal_style is the same code" in result.stdout
    html = tmp_path / "html"
    result = CliRunner().invoke(app, ["report", str(scored), "--format", "html", "--out", str(html)])
    assert result.exit_code == 0, result.output
    page = (html / "index.html").read_text()
    assert "Profile vbench-extra" in page and "Profile opens2v-open" in page and "(OpenS2V norm.)" in page


def test_list_profiles_shows_them():
    listed = CliRunner().invoke(app, ["list", "profiles", "--format", "csv"])
    assert listed.exit_code == 0, listed.output
    for text in ("vbench-extra", "opens2v-open", "Overall-Con@VBench", "Motion@OpenS2V", "dreamvideo"):
        assert text in listed.stdout
