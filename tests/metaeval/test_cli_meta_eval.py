"""`jtbench meta-eval` end to end on a simulated study; converted inputs; bad input; all-or-nothing writes."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from jtbench.cli.app import app
from jtbench.errors import InputError
from jtbench.io.tables import write_atomic
from jtbench.metaeval import report
from jtbench.metaeval.ratings import read_ratings
from jtbench.metaeval.simulate import simulate_study


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("meta")
    sim = simulate_study(cases=15, raters=5, seed=7)
    sim.ratings.to_parquet(root / "ratings.parquet", index=False)
    write_atomic(sim.results, root / "results" / "results.parquet")
    return root, sim


def invoke(*args: str):
    return CliRunner().invoke(app, ["meta-eval", *args], catch_exceptions=False)


def run_simulated(root, out, resamples: str = "20"):
    return invoke(str(root / "ratings.parquet"), str(root / "results"), "--out", str(out), "--resamples", resamples)


def test_cli_writes_every_output(files, tmp_path):
    root, sim = files
    out = tmp_path / "out"
    result = invoke(str(root / "ratings.parquet"), str(root / "results"), "--out", str(out), "--resamples", "30")
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "meta_eval.parquet")
    assert list(table.columns) == [
        "metric",
        "dimension",
        "statistic",
        "raters",
        "value",
        "ci_low",
        "ci_high",
        "n",
        "test",
        "note",
    ]
    assert {
        "acc23",
        "acc_no_ties",
        "alpha_nominal",
        "human_ceiling",
        "cluster",
        "method_pair_accuracy",
        "disagreement_gap_dyndeg",
        "position_left_rate",
    } <= set(table["statistic"])
    assert {"ARS", "NAS", "AAS", "Sim-00@Sim"} <= set(table["metric"])
    provenance = json.loads(pq.read_schema(out / "meta_eval.parquet").metadata[b"jtbench.provenance"])
    assert (
        provenance["ratings"][str(root / "ratings.parquet")]
        == json.loads((out / "provenance.json").read_text())["ratings"][str(root / "ratings.parquet")]
    )
    assert len(next(iter(provenance["results"].values()))) == 64
    md = (out / "meta_eval.md").read_text()
    assert "acc23" in md and "only 4 methods" in md
    assert "\\begin{table" in (out / "meta_eval.tex").read_text()
    page = (out / "meta_eval" / "index.html").read_text()
    assert "accuracy-overall.png" in page and (out / "meta_eval" / "accuracy-overall.png").is_file()
    assert (out / "meta_eval" / "dyndeg-overall.png").is_file()
    assert "pipeline, not the metrics" not in page  # simulated, not tiny backbones
    assert not list(out.glob(".meta_eval.*"))


def test_bad_input_is_named_and_nothing_is_written(files, tmp_path):
    root, sim = files
    bad = tmp_path / "bad.parquet"
    sim.ratings.drop(columns=["response"]).to_parquet(bad, index=False)
    out = tmp_path / "out"
    result = invoke(str(bad), str(root / "results"), "--out", str(out))
    assert result.exit_code == 2
    assert "bad.parquet" in result.output and "response" in result.output
    assert not (out / "meta_eval.parquet").exists()
    result = invoke(str(root / "results"), "--out", str(out))
    assert result.exit_code == 2 and "no ratings" in result.output


def test_a_failing_write_keeps_the_previous_outputs(files, tmp_path, monkeypatch):
    root, _ = files
    out = tmp_path / "out"
    assert run_simulated(root, out).exit_code == 0
    before = (out / "meta_eval.md").read_text()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "_latex", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        invoke(str(root / "ratings.parquet"), str(root / "results"), "--out", str(out), "--resamples", "20")
    assert (out / "meta_eval.md").read_text() == before
    assert not list(out.glob(".meta_eval.*"))


def test_vbench_human_anno_and_battles_convert_on_read(tmp_path):
    vbench = [
        {
            "prompt_en": "a cat",
            "style_en": "oil",
            "question_en": "which?",
            "videos": {},
            "human_anno": {"lavie": {"modelscope": 1, "cogvideo": 0.5}, "modelscope": {"lavie": 0}},
        }
    ]
    (tmp_path / "appearance_style.json").write_text(json.dumps(vbench))
    df = read_ratings(tmp_path / "appearance_style.json")
    assert df[["method_a", "method_b", "response", "dimension", "case_id"]].values.tolist() == [
        ["lavie", "modelscope", "a", "appearance_style", "a cat"],
        ["lavie", "cogvideo", "tie", "appearance_style", "a cat"],
    ]
    battles = [
        {"question_id": "q1", "model_a": "x", "model_b": "y", "winner": "model_b", "judge": "u1", "tstamp": 1.0},
        {"question_id": "q2", "model_a": "x", "model_b": "y", "winner": "tie (bothbad)", "judge": "u2"},
    ]
    (tmp_path / "battles.json").write_text(json.dumps(battles))
    df = read_ratings(tmp_path / "battles.json")
    assert df["response"].tolist() == ["b", "both_bad"] and df["rater_id"].tolist() == ["u1", "u2"]
    (tmp_path / "broken.json").write_text(json.dumps([{"model_a": "x", "model_b": "y", "winner": "nobody"}]))
    with pytest.raises(InputError, match="winner"):
        read_ratings(tmp_path / "broken.json")


def test_converted_ratings_join_by_method_and_case(tmp_path):
    sim = simulate_study(cases=12, raters=3, random_raters=0, seed=5)
    write_atomic(sim.results, tmp_path / "results.parquet")
    pairs = sim.ratings[sim.ratings["kind"] == "pair"]
    battles = [
        {
            "question_id": r.case_id,
            "model_a": r.method_a,
            "model_b": r.method_b,
            "judge": r.rater_id,
            "winner": {"a": "model_a", "b": "model_b", "tie": "tie"}[r.response],
            "dimension": r.dimension,
        }
        for r in pairs.itertuples()
    ]
    (tmp_path / "battles.json").write_text(json.dumps(battles))
    out = tmp_path / "out"
    result = invoke(
        str(tmp_path / "battles.json"), str(tmp_path / "results.parquet"), "--out", str(out), "--resamples", "20"
    )
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "meta_eval.parquet")
    row = table[(table.metric == "CLIP-I") & (table.dimension == "appearance_fidelity") & (table.statistic == "acc23")]
    assert row["n"].iloc[0] == (pairs["dimension"] == "appearance_fidelity").sum()


def test_the_page_renders_in_a_browser(files, tmp_path, chromium_browser):
    root, _ = files
    out = tmp_path / "out"
    assert run_simulated(root, out).exit_code == 0
    page = chromium_browser.new_page()
    try:
        page.goto((out / "meta_eval" / "index.html").as_uri())
        assert page.locator("h1").inner_text() == "jtbench meta-eval"
        widths = page.eval_on_selector_all("figure img", "imgs => imgs.map(i => i.naturalWidth)")
        assert widths and all(w > 100 for w in widths)
        assert page.locator("table.scores").count() > 4
    finally:
        page.close()
