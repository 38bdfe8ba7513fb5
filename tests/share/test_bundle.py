"""`jtbench bundle`: submission fields, refusals that name rows, deterministic bytes."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from typer.testing import CliRunner

from jtbench.cli.app import app
from jtbench.errors import InputError
from jtbench.paths import manifests_dir
from jtbench.share.bundle import BundleRefused, make_bundle, read_bundle
from jtbench.share.submission import read_info

from .conftest import results_copy, write_info


def test_the_shipped_example_is_a_valid_info_file():
    info = read_info(manifests_dir() / "submission_example.yaml")
    assert info["slice"] == "full" and info["prompt_rewriting"] is False


def test_missing_required_fields_are_all_listed(tmp_path):
    with pytest.raises(InputError) as err:
        read_info(write_info(tmp_path, sampled_by=None, evaluated_by=None, seed_rule=None))
    assert "sampled_by" in str(err.value) and "evaluated_by" in str(err.value) and "seed_rule" in str(err.value)


def test_prompt_rewriting_needs_how_and_bad_values_are_named(tmp_path):
    with pytest.raises(InputError, match="prompt_rewriting_how"):
        read_info(write_info(tmp_path, prompt_rewriting=True))
    with pytest.raises(InputError, match="access must be one of"):
        read_info(write_info(tmp_path, access="public"))
    info = read_info(write_info(tmp_path, prompt_rewriting=True, prompt_rewriting_how="GPT-4o, prompts in rw.json"))
    assert info["prompt_rewriting_how"].startswith("GPT-4o")


def test_tiny_backbones_are_refused_by_default_naming_rows(demo_run, tmp_path):
    info = read_info(write_info(tmp_path))
    with pytest.raises(BundleRefused, match=r"not scored with the paper backbones.*seed 0"):
        make_bundle(demo_run, info, tmp_path / "b.zip", method="dummy")
    assert not (tmp_path / "b.zip").exists()


def test_several_methods_need_method(demo_run, tmp_path):
    with pytest.raises(InputError, match="pass --method"):
        make_bundle(demo_run, read_info(write_info(tmp_path)), tmp_path / "b.zip", allow_tiny=True)


def test_same_inputs_give_the_same_bytes(demo_run, tmp_path):
    info = read_info(write_info(tmp_path))
    a = make_bundle(demo_run, info, tmp_path / "a.zip", method="dummy", videos=True, allow_tiny=True)
    b = make_bundle(demo_run, info, tmp_path / "b.zip", method="dummy", videos=True, allow_tiny=True)
    assert a.path.read_bytes() == b.path.read_bytes() and a.sha256 == b.sha256
    with zipfile.ZipFile(a.path) as zf:
        names = zf.namelist()
        assert names[:5] == ["submission.json", "results.parquet", "summary.csv", "provenance.json", "videos.sha256"]
        assert names[-1] == "digests.sha256" and any(n.startswith("videos/") for n in names)
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    bundle = read_bundle(a.path)
    assert bundle.submission["sampled_by"] == "jtbench tests" and bundle.submission["seed_rule"]
    assert bundle.submission["prompt_rewriting"] is False and bundle.submission["slice"] == "demo"
    assert set(bundle.rows["method"]) == {"dummy"}
    assert all(v.startswith("videos/") for v in bundle.rows["video"])  # no path of the submitter's machine
    assert bundle.submission["metric_versions"] and bundle.submission["backbones"].startswith("tiny")


def _nan_one(df):
    df.loc[df.index[0], "CLIP-T"] = np.nan
    return df


def test_nan_cells_refused_unless_allowed_and_recorded(demo_run, tmp_path):
    source = results_copy(demo_run, tmp_path / "r", lambda df: _nan_one(df[df["method"] == "dummy"].copy()))
    info = read_info(write_info(tmp_path))
    with pytest.raises(BundleRefused, match=r"CLIP-T is NaN in 1 row\(s\): .+ seed 0"):
        make_bundle(source, info, tmp_path / "b.zip", allow_tiny=True)
    made = make_bundle(source, info, tmp_path / "b.zip", allow_tiny=True, allow_missing=True)
    submission = read_bundle(made.path).submission
    assert submission["allow_missing"] is True and submission["missing_cells"] == 1


def _mixed_versions(df):
    df = df[df["method"] == "dummy"].copy()
    versions = json.loads(df["metric_versions"].iloc[0])
    versions["clip_t"] = "0-old"
    df.loc[df.index[0], "metric_versions"] = json.dumps(versions)
    return df


def _duplicate(df):
    df = df[df["method"] == "dummy"].copy()
    extra = df.iloc[[0]].copy()
    extra["video_sha256"] = "f" * 64
    return __import__("pandas").concat([df, extra], ignore_index=True)


@pytest.mark.parametrize(
    ("change", "message"),
    [(_mixed_versions, r"metric clip_t has 2 versions .* seed 0"), (_duplicate, r"2 rows share a \(case, seed\)")],
)
def test_mixed_versions_and_duplicates_refused(demo_run, tmp_path, change, message):
    source = results_copy(demo_run, tmp_path / "r", change)
    with pytest.raises(BundleRefused, match=message):
        make_bundle(source, read_info(write_info(tmp_path)), tmp_path / "b.zip", allow_tiny=True)


def test_cli_bundle_refuses_then_allows_with_the_test_only_flag(demo_run, tmp_path):
    info = write_info(tmp_path)
    args = ["bundle", str(demo_run), "--info", str(info), "--out", str(tmp_path / "b.zip"), "--method", "dummy"]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 2 and "paper backbones" in refused.output
    made = CliRunner().invoke(app, [*args, "--test-only-allow-tiny-backbones"])
    assert made.exit_code == 0, made.output
    assert "sha256:" in made.output and (tmp_path / "b.zip").is_file()
    assert "--test-only-allow-tiny-backbones" not in CliRunner().invoke(app, ["bundle", "--help"]).output
