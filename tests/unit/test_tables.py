from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq

from jtbench.io.tables import export_table, read_results, result_schema, upsert_results
from jtbench.metrics.base import PAPER_COLUMNS


def _row(method, sha, value):
    return {"method": method, "video_sha256": sha, "case_id": "dog__dog_walking__grass", "seed": 1, "CLIP-T": value}


def test_schema_columns_and_types(tmp_path):
    path = tmp_path / "results.parquet"
    upsert_results(path, [_row("a", "x", 1.0)])
    schema = pq.read_schema(path)
    assert schema.names[:10] == [
        "case_id",
        "prompt",
        "method",
        "base_model",
        "subject",
        "motion",
        "background",
        "seed",
        "video",
        "video_sha256",
    ]
    assert all(str(schema.field(c).type) == "double" for c in PAPER_COLUMNS)
    assert set(result_schema().names) <= set(schema.names)
    df = read_results(tmp_path)  # a folder works too
    assert np.isnan(df.loc[0, "Mot-Fid"]) and df.loc[0, "CLIP-T"] == 1.0


def test_upsert_replaces_never_duplicates(tmp_path):
    path = tmp_path / "results.parquet"
    upsert_results(path, [_row("a", "x", 1.0), _row("b", "x", 2.0)])
    df = upsert_results(path, [_row("a", "x", 3.0), _row("a", "y", 4.0)])
    assert len(df) == 3
    assert df.set_index(["method", "video_sha256"]).loc[("a", "x"), "CLIP-T"] == 3.0
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_export_csv_json(tmp_path):
    df = upsert_results(tmp_path / "r.parquet", [_row("a", "x", 1.5)])
    export_table(df, tmp_path / "r.csv")
    records = json.loads(export_table(df, tmp_path / "r.json").read_text())
    assert records[0]["CLIP-T"] == 1.5 and "CLIP-T" in (tmp_path / "r.csv").read_text()
