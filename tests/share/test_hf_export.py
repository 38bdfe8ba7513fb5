"""`jtbench export hf`: every config loads with datasets.load_dataset(DIR, name); videos as a video folder."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from jtbench.cli.app import app
from jtbench.io.digest import file_sha256
from jtbench.share.bundle import read_bundle


def test_each_config_loads_with_the_expected_rows(bundles, tmp_path):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "hf"
    paths = [str(p) for p in bundles.values()]
    result = CliRunner().invoke(app, ["export", "hf", *paths, "--out", str(out), "--shard-rows", "10"])
    assert result.exit_code == 0, result.output
    card = (out / "README.md").read_text()
    header = yaml.safe_load(card.split("---\n")[1])
    assert [c["config_name"] for c in header["configs"]] == ["prompts", "leaderboard", "per_video"]
    assert "Apache-2.0" in card and "DAVIS" in card and "not stated by the submitter" in card
    rows = sum(len(read_bundle(p).rows) for p in paths)
    expected = {"prompts": 450, "leaderboard": 3 + 6, "per_video": rows}  # 3 submissions + Tables 1 and A3
    for name, count in expected.items():
        # a cache of its own: offline, datasets may otherwise hand back another folder's cached "hf" config
        loaded = datasets.load_dataset(str(out), name, split="test", cache_dir=str(tmp_path / "cache"))
        assert loaded.num_rows == count, name
    shards = sorted(p.name for p in (out / "data" / "per_video").iterdir())
    n = -(-rows // 10)
    assert shards == [f"test-{k:05d}-of-{n:05d}.parquet" for k in range(n)]
    prompts = pd.read_parquet(out / "data" / "prompts")
    assert {"case_id", "prompt", "pairing", "subject_category", "motion_category"} <= set(prompts.columns)


def test_videos_become_a_video_folder(bundles, tmp_path):
    from jtbench.share.hf_export import export_hf, submission_slug

    out = export_hf([bundles["dummy"], bundles["dummy-static"]], tmp_path / "hf")
    folders = sorted(p.name for p in (out / "videos").iterdir())
    assert folders == [submission_slug("Dummy (v1)")]  # only the bundle that carries videos
    lines = [json.loads(x) for x in (out / "videos" / folders[0] / "metadata.jsonl").read_text().splitlines()]
    assert len(lines) == len(read_bundle(bundles["dummy"]).rows)
    assert all((out / "videos" / folders[0] / line["file_name"]).is_file() for line in lines)
    assert {"case_id", "seed", "prompt", "video_sha256", "CLIP-T"} <= set(lines[0])
    datasets = pytest.importorskip("datasets")
    loaded = datasets.load_dataset(str(out / "videos" / folders[0]), split="test", cache_dir=str(tmp_path / "cache"))
    loaded = loaded.cast_column("video", datasets.Video(decode=False))  # decoding needs torchcodec; paths suffice
    assert sorted(loaded["case_id"]) == sorted(line["case_id"] for line in lines)
    for row in loaded:
        assert file_sha256(row["video"]["path"]) == row["video_sha256"]
