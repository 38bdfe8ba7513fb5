"""`jtbench meta-eval --perturb` on the demo slice with tiny backbones: the invariances that hold by construction."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from jtbench.cli.app import app
from jtbench.io.perturb import load_perturbations
from jtbench.metaeval.report import TINY_NOTE

CHEAP = ("CLIP-T", "CLIP-I")  # the by-construction expectations below are about these two
CHOSEN = ("shuffled_frames", "swapped_prompt", "swapped_subject_reference", "swapped_motion_reference")


def perturb_args(run, out, perturbations, metrics) -> list[str]:
    """One method's videos, tiny backbones, a few cheap metrics."""
    return ["meta-eval", str(run), "--perturb", "--perturbations", ",".join(perturbations), "--metrics",
            ",".join(metrics), "--methods", "dummy", "--backbones", "tiny", "--out", str(out)]  # fmt: skip


def test_perturb_pass_keeps_the_by_construction_invariances(demo_run, tmp_path):
    out = tmp_path / "out"
    args = perturb_args(demo_run, out, CHOSEN, CHEAP)
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "meta_eval.parquet")
    assert set(table["raters"]) == {"synthetic"}
    videos = len(pd.read_parquet(demo_run / "results.parquet").query("method == 'dummy'"))
    checked = 0
    for pid in CHOSEN:
        spec = load_perturbations()[pid]
        for column in set(spec.by_construction) & set(CHEAP):
            row = table[
                (table.dimension == f"perturb:{pid}")
                & (table.metric == column)
                & (table.statistic == "invariance_violations")
            ]
            assert len(row) == 1, (pid, column)
            assert row["value"].iloc[0] == 0 and row["n"].iloc[0] == videos, row.to_dict("records")
            assert row["test"].iloc[0] == "by construction: same"
            checked += 1
    assert checked == 6  # shuffled: CLIP-T, CLIP-I; prompt: CLIP-I; subject: CLIP-T; motion: CLIP-T, CLIP-I
    # what was swapped does move (so a zero above is not a metric that never moves)
    for pid, column in (("swapped_prompt", "CLIP-T"), ("swapped_subject_reference", "CLIP-I")):
        effect = table[
            (table.dimension == f"perturb:{pid}") & (table.metric == column) & (table.statistic == "effect_size")
        ]
        assert effect["value"].abs().iloc[0] > 0
    plan = pd.read_csv(out / "perturb" / "plan.csv")
    assert set(plan["perturbation"]) == {"original", "control", *CHOSEN}
    assert TINY_NOTE in (out / "meta_eval.md").read_text()
    assert "pipeline, not the metrics" in (out / "meta_eval" / "index.html").read_text()
    assert TINY_NOTE in (out / "meta_eval.tex").read_text()

    again = CliRunner().invoke(app, args, catch_exceptions=False)  # resumable: nothing is scored twice
    assert again.exit_code == 0 and "scored 0 video(s)" in again.output, again.output
    assert pd.read_parquet(out / "meta_eval.parquet").equals(table)


def test_perturb_refuses_unknown_ids_and_needs_one_results_table(demo_run, tmp_path):
    result = CliRunner().invoke(
        app, ["meta-eval", str(demo_run), "--perturb", "--perturbations", "melt", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "unknown perturbation" in result.output
    assert not (tmp_path / "o" / "meta_eval.parquet").exists()


@pytest.mark.slow
def test_perturb_frame_kinds_and_graded_severities(demo_run, tmp_path):
    """Every frame perturbation (graded ones at 3 severities) through the cheap metrics: the pass runs and
    reports Spearman vs severity where graded."""
    out = tmp_path / "out"
    ids = "frozen_first_frame,reversed_frames,blur,noise,compression"
    args = perturb_args(demo_run, out, ids.split(","), ("CLIP-T", "CLIP-I", "Dyn-Deg", "Img-Q"))
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "meta_eval.parquet")
    reversed_rows = table[(table.dimension == "perturb:reversed_frames") & (table.statistic == "invariance_violations")]
    assert set(reversed_rows["metric"]) == {"CLIP-T", "CLIP-I"} and (reversed_rows["value"] == 0).all()
    graded = table[table.statistic == "spearman_severity"]
    assert set(graded["dimension"]) == {"perturb:blur", "perturb:noise", "perturb:compression"}
