"""`jtbench demo` (= `make demo`): the three jobs on the drawn slice, nothing read from outside the repo."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from jtbench.cli.app import app
from jtbench.cli.demo import DEMO_METHODS, MY_METHOD


def test_demo_runs_scores_and_reports_beside_the_paper(tmp_path, monkeypatch):
    monkeypatch.setenv("JTBENCH_SHARED_DATA", str(tmp_path / "no-such-folder"))  # the demo must not need it
    out = tmp_path / "demo"
    metrics = "clip_i,subject_consistency,motion_fidelity"  # cheap ones; Mot-Fid's LK tracker needs no weights
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--metrics", metrics])
    assert result.exit_code == 0, result.output
    steps = ("$ jtbench run --methods dummy,dummy-static,dummy-noise --demo", "$ jtbench score", "$ jtbench report")
    for step in steps:
        assert step in result.output
    run = pd.read_parquet(out / "run" / "results.parquet")
    assert sorted(run["method"].unique()) == sorted(DEMO_METHODS) and len(run) == 6
    mine = pd.read_parquet(out / f"{MY_METHOD}_scores" / "results.parquet")
    assert set(mine["method"]) == {MY_METHOD} and len(mine) == 2
    means = pd.concat([run, mine]).groupby("method")[["Subj-Con", "Mot-Fid"]].mean()
    assert means["Subj-Con"].round(2).nunique() == 4, f"the four methods must differ where the metrics look: {means}"
    assert means.loc["dummy-static", "Mot-Fid"] == 0 < means.loc["dummy", "Mot-Fid"], "holding still copies no motion"
    assert means.loc[MY_METHOD, "Mot-Fid"] > 90, "the reference clip itself has the reference's motion"
    table = (out / "table1.md").read_text()
    assert "tiny random backbones: NOT the paper's metrics" in table
    for row in (*DEMO_METHODS, MY_METHOD, "JointTuner (paper)"):
        assert f"| {row} |" in table, row
    latex = (out / "table1.tex").read_text()
    assert "\\begin{table" in latex and "tiny random backbones" in latex and "my\\_method" in latex
    tail = result.output.split("demo finished in", 1)[1]
    assert str(out / "table1.tex") in tail and "jtbench weights download" in tail and "jtbench data prepare" in tail
