from __future__ import annotations

import csv
import io
import json

from typer.testing import CliRunner

from jtbench.cli.app import app

runner = CliRunner()


def test_list_prompts_csv_has_450_rows():
    result = runner.invoke(app, ["list", "prompts", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 450
    assert list(rows[0]) == [
        "case_id",
        "subject",
        "motion",
        "background",
        "prompt",
        "subject_category",
        "motion_category",
        "pairing",
    ]
    combos = {(r["subject"], r["motion"]) for r in rows}
    assert len(combos) == 90


def test_list_filters_and_json():
    result = runner.invoke(app, ["list", "combinations", "--pairing", "rigid/rigid", "--format", "json"])
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)) == 15
    result = runner.invoke(app, ["list", "prompts", "--subject", "dog", "--background", "snow", "--format", "csv"])
    assert result.stdout.count("\n") == 1 + 9  # dog pairs with 9 motions


def test_list_subjects_motions_table():
    assert "terracotta_warrior" in runner.invoke(app, ["list", "subjects"]).stdout
    assert "mallard-fly" in runner.invoke(app, ["list", "motions", "-f", "csv"]).stdout
