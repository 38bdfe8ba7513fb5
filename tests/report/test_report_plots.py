"""Radar (per-axis normalisation as NAS) and per-category bars: content and reproducible files."""

from __future__ import annotations

import pandas as pd
import pytest

from jtbench.metrics.base import PAPER_COLUMNS
from jtbench.report import build_table, gather
from jtbench.report.build import ReportOptions
from jtbench.report.plots import category_bars, normalise_like_nas, radar_chart, save_figure


def test_normalisation_divides_each_axis_by_its_best_value():
    table = pd.DataFrame({"a": [50.0, 25.0], "b": [2.0, 4.0]})
    assert normalise_like_nas(table, ["a", "b"]).to_numpy().tolist() == [[100.0, 50.0], [50.0, 100.0]]


def test_radar_draws_one_polygon_per_row_and_saves_reproducible_svg(tmp_path):
    frame = build_table("main", gather(references="paper-zeroscope")).frame
    fig = radar_chart(frame)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(PAPER_COLUMNS)
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["MotionDirector", "DreamVideo", "JointTuner"]
    # JointTuner's CLIP-T is the column's best, so its first vertex sits at 100
    assert lines[2].get_ydata()[0] == pytest.approx(100.0)
    assert lines[0].get_ydata()[0] == pytest.approx(28.56 / 32.14 * 100)
    first = save_figure(fig, tmp_path / "a" / "radar", formats=("svg",))[0].read_bytes()
    second = save_figure(radar_chart(frame), tmp_path / "b" / "radar", formats=("svg",))[0].read_bytes()
    assert first == second


def test_category_bars_one_panel_per_metric(results_dir, tmp_path):
    frame = build_table("per-category", gather([results_dir]), ReportOptions(breakdowns=("background",))).frame
    fig = category_bars(frame, "background")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["AAS", *PAPER_COLUMNS]
    assert len(visible[0].patches) == 3 * 2  # three methods x two backgrounds
    png, svg = save_figure(fig, tmp_path / "bars")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and svg.stat().st_size > 1000


def test_cli_plots_option_writes_the_radar_and_skips_own_column_tables(tmp_path):
    from typer.testing import CliRunner

    from jtbench.cli.app import app
    from jtbench.report.plots import write_figures

    result = CliRunner().invoke(app, ["report", "-r", "paper-ablation", "--plots", str(tmp_path / "figs")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == ["radar.png", "radar.svg"]
    own = build_table("main", gather(references="customttt-supp"))
    assert write_figures(own, None, tmp_path / "none") == {}
