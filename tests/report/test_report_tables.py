"""Table builders, statistics and the md/latex/csv renderers, on paper rows and synthetic results."""

from __future__ import annotations

import csv
import io
import json
import re
import warnings

import pandas as pd
import pytest
from scipy import stats

from jtbench.errors import InputError
from jtbench.io.tables import read_results, upsert_results
from jtbench.metrics.base import PAPER_COLUMNS
from jtbench.report import ReportOptions, build_table, gather, report_text
from jtbench.report.aggregate import MixedRowsWarning, bootstrap_ci, paired_wilcoxon
from jtbench.report.latex import escape
from jtbench.report.model import Mark, ReportTable

from .conftest import synthetic_rows


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_reference_only_csv_has_the_contract_columns_and_jtbench_composites():
    rows = _csv(report_text(gather(references="paper-zeroscope"), fmt="csv"))
    assert list(rows[0]) == ["method", "ARS", "NAS", "AAS", *PAPER_COLUMNS]
    assert [r["method"] for r in rows] == ["MotionDirector", "DreamVideo", "JointTuner"]
    assert [(r["ARS"], r["NAS"]) for r in rows] == [("2.00", "92.78"), ("2.50", "92.27"), ("1.50", "96.14")]
    assert rows[2]["CLIP-T"] == "32.14" and rows[0]["Dyn-Deg"] == "34.22"


def test_markdown_marks_best_bold_and_second_underlined():
    text = report_text(gather(references="paper-zeroscope"), fmt="md")
    joint = next(line for line in text.splitlines() if line.startswith("| JointTuner"))
    director = next(line for line in text.splitlines() if line.startswith("| MotionDirector"))
    assert "| **1.50** |" in joint and "| **32.14** |" in joint and "| <u>62.44</u> |" in joint
    assert "| <u>28.56</u> |" in director and "| **70.73** |" in director
    assert "| ARS↓ | NAS↑ | AAS↑ | CLIP-T↑ |" in text


def test_tied_best_values_are_all_bold_and_leave_no_second_best():
    frame = pd.DataFrame({"method": ["a", "b", "c"], "v": [46.89, 46.891, 40.0]})
    table = ReportTable(title="t", frame=frame, labels=["method"], values=["v"], marked=["v"])
    marks = [m if isinstance(m, Mark) else None for m in table.marks()["v"]]
    assert marks == [Mark.best, Mark.best, None]


def test_latex_structure_booktabs_groups_arrows_and_marks():
    text = report_text(gather(references="paper-ablation"), fmt="latex")
    for token in (r"\toprule", r"\midrule", r"\bottomrule", r"\begin{tabular}", r"\end{table*}"):
        assert text.count(token) == 1, token
    groups = re.findall(r"\\multicolumn\{(\d)\}\{c\}\{([^}]*)\}", text)
    assert groups == [
        ("3", "Composite Metrics"),
        ("2", "Semantic Alignment"),
        ("3", "Motion Dynamism"),
        ("2", "Temporal Consistency"),
        ("3", "Perceptual Quality"),
    ]
    assert r"ARS$\downarrow$ & NAS$\uparrow$" in text
    body = text.split(r"\midrule")[1].split(r"\bottomrule")[0].strip().splitlines()
    assert len(body) == 7 and all(line.count("&") == 13 and line.endswith(r"\\") for line in body)
    assert r"\textbf{2.30}" in body[2] and r"\underline{2.70}" in body[1]
    assert text.count("{") == text.count("}")


def test_latex_escapes_special_characters():
    assert escape("my_method 100% & #1 ~x^2") == r"my\_method 100\% \& \#1 \textasciitilde{}x\textasciicircum{}2"


def test_results_means_over_videos_match_an_independent_groupby(results_dir):
    rows = read_results(results_dir)
    expected = rows.groupby("method")[list(PAPER_COLUMNS)].mean()
    table = build_table("main", gather([results_dir]))
    frame = table.frame.set_index("method")
    for method in ("alpha", "beta", "gamma"):
        for col in PAPER_COLUMNS:
            assert frame.loc[method, col] == pytest.approx(expected.loc[method, col], abs=1e-12)
    # Dyn-Deg per video is 0/100, so the mean is the share of dynamic videos x 100
    dynamic = (rows[rows["method"] == "alpha"]["Dyn-Deg"] == 100).mean() * 100
    assert frame.loc["alpha", "Dyn-Deg"] == pytest.approx(dynamic)
    assert any("alpha: 8 videos" in n and "Mot-Fid (7)" in n for n in table.notes)


def test_reference_rows_beside_results_are_labelled_and_rank_together(results_dir):
    table = build_table("main", gather([results_dir], "paper-zeroscope"))
    assert table.frame["method"].tolist()[:3] == ["MotionDirector (paper)", "DreamVideo (paper)", "JointTuner (paper)"]
    assert len(table.frame) == 6
    # six rows ranked together: each metric's ranks sum to 1+..+6 without ties, so ARS averages to 3.5
    assert table.frame["ARS"].mean() == pytest.approx(3.5, abs=0.2)
    assert table.frame.loc[table.frame["method"] == "JointTuner (paper)", "ARS"].item() != 1.5


def test_mixing_base_models_warns_unless_allowed(results_dir):
    inputs = gather([results_dir], "paper-modelscope")
    with pytest.warns(MixedRowsWarning, match="base models"):
        build_table("main", inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_table("main", inputs, ReportOptions(allow_mixed=True))
        build_table("main", gather([results_dir], "paper-zeroscope"))


def test_mixing_metric_versions_warns(tmp_path):
    rows = synthetic_rows(tmp_path, with_videos=False)
    rows[0]["metric_versions"] = json.dumps({"CLIP-T": "2"})
    upsert_results(tmp_path / "results.parquet", rows)
    with pytest.warns(MixedRowsWarning, match="metric versions"):
        build_table("main", gather([tmp_path]))


def test_own_column_reference_cannot_share_a_table(results_dir):
    text = report_text(gather(references="paper-single-video"), fmt="csv")
    assert text.splitlines()[0] == "method,CLIP-T,CLIP-I,Mot-Fid,Pick-Sc,Subj-Con"
    with pytest.raises(InputError, match="own columns"):
        build_table("main", gather([results_dir], "paper-single-video"))


def test_per_category_composites_are_computed_within_each_category(results_dir):
    table = build_table("per-category", gather([results_dir]))
    frame = table.frame
    assert list(frame.columns[:3]) == ["breakdown", "category", "method"]
    pairings = frame[frame["breakdown"] == "pairing"]["category"].unique().tolist()
    assert pairings == ["rigid/rigid", "non_humanoid/non_human", "non_humanoid/human_props", "humanoid/human_no_props"]
    rows = read_results(results_dir)
    snow = rows[rows["background"] == "snow"].groupby("method")["CLIP-I"].mean()
    cell = frame[(frame["breakdown"] == "background") & (frame["category"] == "snow")].set_index("method")
    assert cell.loc["beta", "CLIP-I"] == pytest.approx(snow["beta"])
    # each category ranks its own three methods (composites relative to that group only)
    for _, group in frame.groupby(["breakdown", "category"]):
        assert len(group) == 3 and group["NAS"].max() <= 100.0 and group["ARS"].min() >= 1.0
    assert table.marks().notna().any().any()


def test_per_video_table_groups_by_case(results_dir):
    table = build_table("per-video", gather([results_dir]))
    assert len(table.frame) == 24 and table.frame["case"].nunique() == 8
    text = report_text(gather([results_dir]), fmt="csv", table="per-video")
    assert text.splitlines()[0].startswith("case,method,seed,ARS,NAS,AAS,CLIP-T")
    assert ",alpha,0," in text


def test_paired_wilcoxon_matches_scipy_on_matched_cases(results_dir):
    rows = read_results(results_dir)
    result = paired_wilcoxon(rows, "alpha", "gamma").set_index("metric")
    a = rows[rows["method"] == "alpha"].set_index("case_id").sort_index()
    g = rows[rows["method"] == "gamma"].set_index("case_id").sort_index()
    expected = stats.wilcoxon(a["CLIP-T"], g["CLIP-T"])
    assert result.loc["CLIP-T", "n"] == 8
    assert result.loc["CLIP-T", "p"] == pytest.approx(expected.pvalue)
    assert result.loc["CLIP-T", "W"] == pytest.approx(expected.statistic)
    assert result.loc["Mot-Fid", "n"] == 7  # alpha's failed Mot-Fid drops that case
    assert result.loc["CLIP-T", "mean diff"] == pytest.approx((a["CLIP-T"] - g["CLIP-T"]).mean())
    with pytest.raises(InputError, match="delta"):
        paired_wilcoxon(rows, "alpha", "delta")


def test_bootstrap_ci_is_seeded_and_brackets_the_mean(results_dir):
    rows = read_results(results_dir)
    first = bootstrap_ci(rows, n_resamples=200, seed=1)
    again = bootstrap_ci(rows, n_resamples=200, seed=1)
    other = bootstrap_ci(rows, n_resamples=200, seed=2)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)
    means = rows.groupby("method")["Img-Q"].mean()
    for _, row in first.iterrows():
        assert row["Img-Q CI low"] < means[row["method"]] < row["Img-Q CI high"]
    constant = rows.assign(**{"Img-Q": 5.0})
    fixed = bootstrap_ci(constant, columns=["Img-Q"], n_resamples=50)
    assert (fixed["Img-Q CI low"] == 5.0).all() and (fixed["Img-Q CI high"] == 5.0).all()


def test_ci_appears_in_markdown_and_csv(results_dir):
    options = ReportOptions(ci=True, ci_resamples=100)
    inputs = gather([results_dir])
    md = report_text(inputs, fmt="md", options=options)
    assert "95% bootstrap confidence intervals" in md
    header = report_text(inputs, fmt="csv", options=options).splitlines()[0].split(",")
    assert header[-2:] == ["Img-Q CI low", "Img-Q CI high"]


def test_nothing_to_report_and_unknown_reference_fail_clearly():
    with pytest.raises(InputError, match="nothing to report"):
        gather([], None)
    with pytest.raises(KeyError, match="did you mean paper-zeroscope"):
        gather([], "paper-zeroscop")


def test_cli_prints_table_1_as_csv_and_writes_files(results_dir, tmp_path):
    from typer.testing import CliRunner

    from jtbench.cli.app import app

    runner = CliRunner()
    result = runner.invoke(app, ["report", "--reference", "paper-zeroscope", "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "method,ARS,NAS,AAS," + ",".join(PAPER_COLUMNS)
    assert lines[3].startswith("JointTuner,1.50,96.14,64.15,32.14,")
    out = tmp_path / "paired.md"
    result = runner.invoke(
        app, ["report", str(results_dir), "--table", "paired", "--compare", "alpha,gamma", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "| CLIP-T | 8 |" in out.read_text()
    result = runner.invoke(app, ["report", str(results_dir), "--reference", "paper-modelscope", "--format", "latex"])
    assert result.exit_code == 0 and "base models" in result.stderr and r"\toprule" in result.stdout


def test_two_references_are_labelled_by_name_and_warn_about_base_models():
    inputs = gather([], "paper-zeroscope,paper-modelscope")
    with pytest.warns(MixedRowsWarning, match="modelscope: paper rows; zeroscope: paper rows"):
        table = build_table("main", inputs)
    assert table.frame["method"].tolist()[::3] == [
        "MotionDirector (paper-zeroscope)",
        "MotionDirector (paper-modelscope)",
    ]
    assert len(table.frame) == 6 and table.frame["ARS"].min() == pytest.approx(2.2)
