"""`jtbench validate`: a bundle round-trips; a flipped byte, a removed case and a swapped video fail, named."""

from __future__ import annotations

import json
import shutil
import zipfile

import pytest
from typer.testing import CliRunner

from jtbench.cli.app import app
from jtbench.io.tables import read_results
from jtbench.metrics.base import PAPER_COLUMNS
from jtbench.share.bundle import make_bundle, read_bundle
from jtbench.share.rescore import draw_sample, within
from jtbench.share.submission import read_info
from jtbench.share.validate import validate_bundle, validation_path

from .conftest import FAST_METRICS, results_copy, write_info


@pytest.fixture(scope="module")
def hub_factory(tiny_hub):
    return lambda kind: tiny_hub  # the session's tiny models (the demo run scored with the same seeded ones)


def _failed(result) -> dict[str, str]:
    return {c.name: c.detail for c in result.checks if c.ok is False}


def _round_trip(bundles, demo_run, hub_factory, tmp_path, metrics):
    bundle = shutil.copy(bundles["dummy"], tmp_path / "dummy.zip")
    result = validate_bundle(bundle, sample=2, seed=3, data=demo_run / "data", hub_factory=hub_factory,
                             allow_tiny=True, metrics=metrics)  # fmt: skip
    assert result.ok, _failed(result)
    record = json.loads(validation_path(bundle).read_text())
    assert record["ok"] and record["bundle_sha256"] == result.sha256
    rescore = record["rescore"]
    rows = read_bundle(bundle).rows
    assert rescore["n"] == 2 and rescore["videos_verified"] and rescore["videos_source"] == "bundle"
    assert rescore["sample"] == list(rows["video"].iloc[draw_sample(len(rows), 2, 3)])
    width = len(metrics or PAPER_COLUMNS)
    assert len(rescore["figures"]) == 2 * width and all(f["ok"] for f in rescore["figures"])
    assert rescore["all_columns"] is (metrics is None)


def test_round_trip_passes_and_writes_the_record(bundles, demo_run, hub_factory, tmp_path):
    _round_trip(bundles, demo_run, hub_factory, tmp_path, FAST_METRICS)


@pytest.mark.slow
def test_round_trip_rescoring_all_ten(bundles, demo_run, hub_factory, tmp_path):
    _round_trip(bundles, demo_run, hub_factory, tmp_path, None)


def test_tiny_rows_fail_without_the_test_only_allowance(bundles):
    result = validate_bundle(bundles["dummy-static"], write=False)
    assert not result.ok and "backbones" in _failed(result)


def _flip_byte(path, member):
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    data = bytearray(path.read_bytes())
    name_len, extra_len = int.from_bytes(data[info.header_offset + 26:info.header_offset + 28], "little"), \
        int.from_bytes(data[info.header_offset + 28:info.header_offset + 30], "little")  # fmt: skip
    start = info.header_offset + 30 + name_len + extra_len
    data[start + info.compress_size // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("member", ["results.parquet", "submission.json", "videos.sha256"])
def test_one_flipped_byte_fails_naming_the_member(bundles, tmp_path, member):
    bundle = shutil.copy(bundles["dummy-static"], tmp_path / "b.zip")
    _flip_byte(bundle, member)
    result = validate_bundle(bundle, allow_tiny=True)
    assert not result.ok
    assert member in _failed(result)["digests"]
    assert json.loads(validation_path(bundle).read_text())["ok"] is False


def test_a_removed_case_fails_naming_it(demo_run, tmp_path):
    gone = sorted(set(read_results(demo_run)["case_id"]))[0]
    source = results_copy(demo_run, tmp_path / "r", lambda df: df[(df["method"] == "dummy") & (df["case_id"] != gone)])
    made = make_bundle(source, read_info(write_info(tmp_path)), tmp_path / "b.zip", allow_tiny=True)
    result = validate_bundle(made.path, allow_tiny=True)
    assert not result.ok and gone in _failed(result)["completeness"]


def test_rescoring_from_a_folder_catches_a_swapped_video(bundles, demo_run, hub_factory, tmp_path):
    bundle = shutil.copy(bundles["dummy-noise"], tmp_path / "noise.zip")  # carries no videos
    rows = read_bundle(bundle).rows
    folder = tmp_path / "videos"
    source = {r.video: r for r in rows.itertuples()}
    originals = read_results(demo_run).set_index("video_sha256")["video"]
    for member, row in source.items():
        target = folder / member.removeprefix("videos/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(demo_run / originals[row.video_sha256], target)  # run paths are relative to the run
    kwargs = dict(videos_dir=folder, sample=1, seed=0, data=demo_run / "data", hub_factory=hub_factory,
                  allow_tiny=True, metrics=FAST_METRICS)  # fmt: skip
    first = validate_bundle(bundle, **kwargs)
    assert first.ok, _failed(first)
    drawn = first.rescore["sample"][0]
    other = next(m for m in source if m != drawn and source[m].case_id != source[drawn].case_id)
    shutil.copyfile(folder / other.removeprefix("videos/"), folder / drawn.removeprefix("videos/"))  # swap one file
    second = validate_bundle(bundle, **kwargs)
    failed = _failed(second)
    assert not second.ok and drawn in failed["video files"]
    metrics = [f["metric"] for f in second.rescore["figures"] if not f["ok"]]
    assert metrics, "the swapped video re-scored within tolerance on every metric"
    assert f"{drawn}, {metrics[0]}: re-scored" in failed["re-score"]
    assert second.rescore["videos_verified"] is False


def test_tolerance_rule():
    assert within(90.0, 90.44) and not within(90.0, 90.46)  # 0.5 % of 90 = 0.45
    assert within(0.0, 0.01) and not within(0.0, 0.02)  # absolute floor
    assert not within(0.0, 100.0)  # a Dyn-Deg flip


def test_cli_prints_the_verdict_and_sets_the_exit_code(bundles, tmp_path):
    bundle = shutil.copy(bundles["dummy-static"], tmp_path / "s.zip")
    ok = CliRunner().invoke(app, ["validate", str(bundle), "--test-only-allow-tiny-backbones"])
    assert ok.exit_code == 0, ok.output
    assert "completeness" in ok.output and "pass" in ok.output and "not run" in ok.output
    refused = CliRunner().invoke(app, ["validate", str(bundle)])
    assert refused.exit_code == 1 and "FAIL" in refused.output
    missing = CliRunner().invoke(app, ["validate", str(tmp_path / "nothing.zip")])
    assert missing.exit_code == 2 and "no bundle here" in missing.output
    assert not validation_path(tmp_path / "nothing.zip").exists()
