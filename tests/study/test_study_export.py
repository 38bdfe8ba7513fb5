"""Export: SPEC §7 ratings.parquet (a|b from left/right + position_a, methods from the key), the three
interoperable formats, a truncated last line reported and skipped; `study status`."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
from test_study_server import answer_all, client_for, join
from typer.testing import CliRunner

from jtbench.cli.app import app
from jtbench.study.export import export_study, status_frame

SPEC_COLUMNS = [
    "study_id",
    "rater_id",
    "item_id",
    "case_id",
    "seed",
    "dimension",
    "kind",
    "method_a",
    "method_b",
    "video_sha256_a",
    "video_sha256_b",
    "response",
    "score",
    "position_a",
    "gold_expected",
    "rt_ms",
    "answered_at",
]


def rate(study, raters=("r1", "r2")):
    client = client_for(study)
    sent = []
    for rater in raters:
        join(client, rater)
        sent += answer_all(client, rater)[1]  # every answer is "left"
    return sent


def test_ratings_parquet_is_spec_7(study, demo_run):
    from jtbench.io.tables import read_results

    sent = rate(study)
    written, df, notes = export_study(study, study.parent / "export")
    table = pq.read_table(written["ratings"])
    assert table.column_names == SPEC_COLUMNS
    types = {f.name: str(f.type) for f in table.schema}
    assert types["seed"] == types["rt_ms"] == types["score"] == "int64"
    assert types["answered_at"] == "timestamp[ms, tz=UTC]" and types["response"] == "string"
    doc = json.loads((study / "study.json").read_text())
    practice = doc["practice"]["item_id"]
    assert len(df) == len([b for b in sent if b["item_id"] != practice]) and not notes
    assert set(df["response"]) <= {"a", "b"}  # every answer was "left": a where a was on the left
    assert (df["response"] == df["position_a"].map({"left": "a", "right": "b"})).all()
    assert set(df["position_a"]) == {"left", "right"}
    gold = df[df["kind"] == "gold"]
    assert len(gold) and (gold["gold_expected"] == "a").all() and df[df["kind"] != "gold"]["gold_expected"].isna().all()
    assert set(df["kind"]) <= {"pair", "gold", "repeat"} and df["score"].isna().all()
    # the methods and digests join back to the results table on (method, video_sha256)
    results = read_results(demo_run)
    keys = set(zip(results["method"], results["video_sha256"], strict=True))
    real = df[df["kind"] != "gold"]
    assert all((m, s) in keys for m, s in zip(real["method_a"], real["video_sha256_a"], strict=True))
    assert all((m, s) in keys for m, s in zip(real["method_b"], real["video_sha256_b"], strict=True))
    assert (df["method_a"] != df["method_b"]).sum() == len(real)  # gold pairs: one method against itself


def test_interoperable_formats(study):
    rate(study, raters=("r1",))
    written, df, _ = export_study(study, study.parent / "export")
    real = df[df["kind"] != "gold"]
    battles = json.loads(written["fastchat_battles"].read_text())
    assert len(battles) == len(real)
    for b, r in zip(battles, real.itertuples(), strict=True):
        assert (b["model_a"], b["model_b"], b["judge"]) == (r.method_a, r.method_b, r.rater_id)
        assert b["winner"] == {"a": "model_a", "b": "model_b"}[r.response]
    anno = json.loads((written["vbench_human_anno"] / "overall.json").read_text())
    overall = real[real["dimension"] == "overall"]
    assert len(anno) == len(overall)
    for record, r in zip(anno, overall.itertuples(), strict=True):
        assert record["human_anno"] == {r.method_a: {r.method_b: 1.0 if r.response == "a" else 0.0}}
        assert set(record["videos"]) == {r.method_a, r.method_b} and record["question_en"]
    csv = pd.read_csv(written["videogen_rewardbench"])
    assert {"path_A", "path_B", "A_model", "B_model", "prompt", "fps_A", "num_frames_A", "TA", "Overall"} <= set(csv)
    assert len(csv) == real["item_id"].nunique() and set(csv["TA"]) <= {"A", "B"}


def test_truncated_last_line_is_reported_not_fatal(study):
    rate(study, raters=("r1",))
    path = study / "ratings" / "r1.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]) + lines[-1][:25])  # a crash mid-write
    result = CliRunner().invoke(app, ["study", "export", str(study), "--out", str(study.parent / "ex")])
    assert result.exit_code == 0, result.output
    assert "truncated last line" in result.output
    df = pd.read_parquet(study.parent / "ex" / "ratings.parquet")
    last = json.loads(lines[-2])
    assert last["judgment_id"] and len(df) >= 1


def test_status_per_rater(study):
    client = client_for(study)
    join(client, "r1")
    join(client, "r2")
    answer_all(client, "r1")
    df, problems = status_frame(study)
    assert not problems
    r1, r2 = df.set_index("rater_id").loc["r1"], df.set_index("rater_id").loc["r2"]
    assert r1["done"] == r1["assigned"] > 0 and r2["done"] == 0
    _, ratings, _ = export_study(study, study.parent / "export")
    gold = ratings[(ratings["rater_id"] == "r1") & (ratings["kind"] == "gold")]
    assert r1["gold_total"] == len(gold) >= 1
    assert r1["gold_failed"] == (gold["position_a"] == "right").sum()  # every answer was "left"
    result = CliRunner().invoke(app, ["study", "status", str(study), "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.output)[0]["rater_id"] == "r1"
