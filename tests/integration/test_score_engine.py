"""The Scorer's promises, checked with fake metrics: one decode per video, one load per process,
references computed once, per-video cache dropped, failures recorded, incremental and resumable."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from _score_fakes import CALLS, CASES, GOOD, bench, make_prepared, make_video

from jtbench.io import layout
from jtbench.io.layout import VideoEntry
from jtbench.io.tables import read_results
from jtbench.metrics import scorer as scorer_module
from jtbench.metrics.scorer import TINY_LABEL, Scorer, TimedHub


@pytest.fixture
def decodes(monkeypatch):
    """Count every decode the engine does."""
    seen: list[str] = []
    real = scorer_module.read_video

    def counting(path, **kw):
        seen.append(str(path))
        return real(path, **kw)

    monkeypatch.setattr(scorer_module, "read_video", counting)
    return seen


@pytest.fixture
def world(tmp_path):
    CALLS.clear()
    prepared = make_prepared(tmp_path / "data")
    videos = tmp_path / "videos"
    paths = [
        make_video(layout.video_path(videos, case), level) for case, level in zip(CASES, (40, 90, 200), strict=True)
    ]
    return tmp_path, prepared, paths


def _hub(tmp_path, mode="tiny"):
    return TimedHub(backbones=mode, device="cpu", precision="fp32", tiny_dir=tmp_path / "tiny")


def _entries(paths, method="m"):
    return [VideoEntry(video=p, origin=p.name, case_id=p.stem, method=method) for p in paths]


def test_one_decode_one_load_references_once(world, decodes):
    tmp_path, prepared, paths = world
    scorer = Scorer(GOOD, hub=_hub(tmp_path), benchmark=bench(prepared))
    report = scorer.score(_entries(paths), tmp_path / "out")

    assert (report.scored, report.skipped, report.unscorable) == (3, 0, [])
    assert sorted(decodes) == sorted(map(str, paths))  # each video decoded exactly once
    assert CALLS["load"] == 1  # the backbone loaded once for the whole run
    # two subjects (bear twice, dog once) and one motion: each reference computed once
    assert CALLS["ref:00.jpg"] == 2 and CALLS["ref:00.mp4"] == 1
    # per-video entries dropped, reference entries kept
    assert {k[0] for k in scorer.ctx.cache} == {"fake.ref"}
    assert set(report.timings) >= {"decode", "hash", "load", *GOOD}
    assert report.timings["load:jtbench_test_fake_backbone"] > 0

    df = read_results(tmp_path / "out")
    assert list(df["case_id"]) == list(CASES)
    bright = df.set_index("case_id")["Fake-Bright"]
    assert bright[CASES[0]] == pytest.approx(40 * 100 / 255, abs=1.0)
    assert bright[CASES[2]] == pytest.approx(200 * 100 / 255, abs=1.0)
    row = df.iloc[0]
    assert (row["subject"], row["motion"], row["background"]) == ("bear_plushie", "person_playing_flute", "grass")
    assert row["prompt"] == "A bear plushie playing the flute on the grass."
    for column in ("metric_versions", "backbones", "device", "dtype", "jtbench_version", "created_at"):
        assert df[column].notna().all(), column
    assert df["manifest_digest"].str.len().eq(64).all() and df["weights_digest"].str.len().eq(16).all()
    assert (df["backbones"] == TINY_LABEL).all() and (df["dtype"] == "fp32:float32").all()
    assert json.loads(row["metric_versions"]) == {name: "1" for name in GOOD}
    assert df["video_sha256"].tolist() == [layout_sha(p) for p in paths]

    stamp = json.loads((tmp_path / "out" / "provenance.json").read_text())
    assert stamp["packages"]["torch"] and stamp["backbones"] == TINY_LABEL
    assert list(stamp["weights"]) == ["fake-weight"]


def layout_sha(path):
    from jtbench.io.video import file_sha256

    return file_sha256(path)


def test_metric_failures_become_nan_plus_an_explanation(world):
    tmp_path, prepared, paths = world
    metrics = [*GOOD, "jtbench_test_nan", "Fake-Bug"]
    report = Scorer(metrics, hub=_hub(tmp_path), benchmark=bench(prepared)).score(_entries(paths), tmp_path / "out")
    assert not report.ok and report.scored == 3
    assert dict(report.metric_failures) == {"Fake-Fragile": 1, "Fake-NaN": 3, "Fake-Bug": 3}
    df = read_results(tmp_path / "out").set_index("case_id")
    bright = df.loc[CASES[2]]  # level 200: the fragile metric fails on it
    assert math.isnan(bright["Fake-Fragile"]) and math.isfinite(bright["Fake-Bright"])
    lines = bright["errors"].splitlines()
    assert any(
        ln.startswith("Fake-Fragile: too bright for this metric") and "fix: darken the video" in ln for ln in lines
    )
    assert any(ln.startswith("Fake-NaN: returned a non-finite value (nan)") for ln in lines)
    assert any(ln.startswith("Fake-Bug: ZeroDivisionError: division by zero — fix:") for ln in lines)
    dark = df.loc[CASES[0]]
    assert dark["Fake-Fragile"] == 1.0 and "Fake-Fragile: scored on a test metric" in dark["errors"]
    assert df["Fake-NaN"].isna().all()  # NaN only with an explanation in the same row


def test_unscorable_inputs_go_to_errors_csv_and_the_rest_is_scored(world, tmp_path):
    _, prepared, paths = world
    bad = tmp_path / "bad"
    bad.mkdir()
    one_frame = make_video(bad / "one.mp4", 50, frames=1)
    empty = bad / "empty.mp4"
    empty.write_bytes(b"")
    garbage = bad / "garbage.mp4"
    garbage.write_bytes(b"this is not a video" * 10)
    entries = _entries(paths) + [
        VideoEntry(video=one_frame, origin="one", case_id=CASES[0]),
        VideoEntry(video=empty, origin="empty", case_id=CASES[0]),
        VideoEntry(video=garbage, origin="garbage", case_id=CASES[0]),
        VideoEntry(video=bad / "absent.mp4", origin="absent", case_id=CASES[0]),
        VideoEntry(video=paths[0], origin="unknown", case_id="bear_plushie__flying__grass"),
        VideoEntry(video=paths[0], origin="prompt only", prompt="A bear plushie playing the flute."),
        VideoEntry(video=paths[0], origin="unprepared", case_id="clock__train_turning__grass"),
    ]
    report = Scorer(GOOD, hub=_hub(tmp_path), benchmark=bench(prepared)).score(entries, tmp_path / "out")
    assert report.scored == 3 and len(read_results(tmp_path / "out")) == 3
    errors = pd.read_csv(tmp_path / "out" / "errors.csv")
    assert list(errors.columns) == ["video", "problem", "fix"] and len(errors) == 7
    problems = dict(zip(errors["video"].map(lambda v: v.rsplit("/", 1)[-1]), errors["problem"], strict=True))
    assert "1 frame(s); at least 2 needed" in problems["one.mp4"]
    assert "empty" in problems["empty.mp4"]
    assert "cannot decode" in problems["garbage.mp4"]
    assert "does not exist" in problems["absent.mp4"]
    assert errors["problem"].str.contains("unknown case_id").sum() == 1
    assert errors["problem"].str.contains("prompt-only row must give its reference_image").sum() == 1
    assert errors["problem"].str.contains("reference image is missing").sum() == 1
    assert errors["fix"].notna().all()
    assert not report.ok

    # a clean re-run removes the stale errors.csv
    Scorer(GOOD, hub=_hub(tmp_path), benchmark=bench(prepared)).score(_entries(paths), tmp_path / "out")
    assert not (tmp_path / "out" / "errors.csv").exists()


def test_rerun_skips_done_videos_and_subset_rescore_merges(world, decodes, monkeypatch):
    tmp_path, prepared, paths = world
    out = tmp_path / "out"
    hub = _hub(tmp_path)
    Scorer(GOOD, hub=hub, benchmark=bench(prepared)).score(_entries(paths), out)
    first = read_results(out).set_index("case_id")
    decodes.clear()

    # done metrics are skipped; the one that failed (Fake-Fragile on the bright video) is retried
    report = Scorer(GOOD, hub=hub, benchmark=bench(prepared)).score(_entries(paths), out)
    assert (report.scored, report.skipped, decodes) == (1, 2, [str(paths[2])])
    decodes.clear()
    report = Scorer(GOOD[:2], hub=hub, benchmark=bench(prepared)).score(_entries(paths), out)
    assert (report.scored, report.skipped, decodes) == (0, 3, [])

    # the same videos under another method are new rows
    report = Scorer(["Fake-Bright"], hub=hub, benchmark=bench(prepared)).score(_entries(paths[:1], "other"), out)
    assert report.scored == 1 and len(read_results(out)) == 4

    # a new version of one metric: only that metric is recomputed; others keep their values
    from _score_fakes import FakeBrightness

    monkeypatch.setattr(
        FakeBrightness, "spec", FakeBrightness.spec.__class__(**{**vars(FakeBrightness.spec), "version": "2"})
    )
    CALLS.clear()
    report = Scorer(GOOD, hub=hub, benchmark=bench(prepared)).score(_entries(paths), out)
    assert report.scored == 3 and CALLS["brightness"] == 3 and CALLS["ref:00.jpg"] == 0
    again = read_results(out)
    again = again[again["method"] == "m"].set_index("case_id")
    assert (again["Fake-Ref"] == first["Fake-Ref"]).all()
    assert (again["Fake-Fragile"].fillna(-1) == first["Fake-Fragile"].fillna(-1)).all()
    versions = json.loads(again.loc[CASES[2], "metric_versions"])
    assert versions == {"jtbench_test_brightness": "2", "jtbench_test_reference": "1", "jtbench_test_fragile": "1"}
    # the fragile metric's error line survived a re-score that did not select it…
    assert "Fake-Fragile: too bright" in again.loc[CASES[2], "errors"]
    # …and a metric whose result is finite is not recomputed when selected alone
    report = Scorer(["Fake-Fragile"], hub=hub, benchmark=bench(prepared)).score(_entries(paths), out)
    assert (report.scored, report.skipped) == (1, 2)


def test_other_backbones_rescore_everything_instead_of_mixing(world):
    tmp_path, prepared, paths = world
    out = tmp_path / "out"
    Scorer(GOOD, hub=_hub(tmp_path), benchmark=bench(prepared)).score(_entries(paths[:1]), out)
    row = read_results(out).iloc[0].to_dict()
    row["backbones"] = "paper"  # pretend the row came from the published checkpoints
    from jtbench.io.tables import upsert_results

    upsert_results(out / "results.parquet", [row])
    report = Scorer(["Fake-Bright"], hub=_hub(tmp_path), benchmark=bench(prepared)).score(_entries(paths[:1]), out)
    assert report.scored == 1
    new = read_results(out).iloc[0]
    assert new["backbones"] == TINY_LABEL and math.isfinite(new["Fake-Bright"])
    assert math.isnan(new["Fake-Ref"])  # the paper-mode value was not kept beside a tiny one


def test_rows_are_written_as_they_finish(world, monkeypatch):
    tmp_path, prepared, paths = world
    from _score_fakes import FakeBrightness

    real = FakeBrightness.score

    def crash_on_second(self, sample, ctx):
        if CALLS["brightness"] >= 1:
            raise KeyboardInterrupt
        return real(self, sample, ctx)

    monkeypatch.setattr(FakeBrightness, "score", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        Scorer(["Fake-Bright"], hub=_hub(tmp_path), benchmark=bench(prepared)).score(_entries(paths), tmp_path / "out")
    assert len(read_results(tmp_path / "out")) == 1


def test_summary_is_the_mean_over_videos_with_gaps_counted(world):
    tmp_path, prepared, paths = world
    out = tmp_path / "out"
    Scorer(GOOD, hub=_hub(tmp_path), benchmark=bench(prepared)).score(_entries(paths), out)
    df = read_results(out)
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 1 and summary.loc[0, "videos"] == 3 and summary.loc[0, "method"] == "m"
    assert summary.loc[0, "Fake-Bright"] == pytest.approx(df["Fake-Bright"].mean())
    assert summary.loc[0, "Fake-Fragile"] == pytest.approx(1.0)  # mean of the two finite values
    assert summary.loc[0, "missing"] == "Fake-Fragile: 1"


def test_an_unexpected_decoder_error_is_reported_not_fatal(world, monkeypatch):
    tmp_path, prepared, paths = world
    real = scorer_module.read_video

    def flaky(path, **kw):
        if str(path) == str(paths[1]):
            raise RuntimeError("decoder exploded")
        return real(path, **kw)

    monkeypatch.setattr(scorer_module, "read_video", flaky)
    report = Scorer(["Fake-Bright"], hub=_hub(tmp_path), benchmark=bench(prepared)).score(
        _entries(paths), tmp_path / "out"
    )
    assert report.scored == 2 and len(report.unscorable) == 1
    assert report.unscorable[0].problem == "cannot read: RuntimeError: decoder exploded"
    assert report.unscorable[0].video == str(paths[1])


@pytest.mark.parametrize("ahead", [0, 1])
def test_prefetch_keeps_the_plain_loops_semantics_for_a_repeated_video(world, monkeypatch, ahead):
    """With one ahead (CUDA's setting) entry n+1 is decoded while entry n is scored: a video listed
    twice is still scored once and then skipped, as a plain loop does, and rows keep input order."""
    tmp_path, prepared, paths = world
    monkeypatch.setattr(scorer_module, "depth_for", lambda device: ahead)
    entries = _entries([paths[0], paths[0], paths[1]])
    report = Scorer(["Fake-Bright"], hub=_hub(tmp_path), benchmark=bench(prepared)).score(entries, tmp_path / "out")
    assert (report.scored, report.skipped, report.unscorable) == (2, 1, [])
    assert read_results(tmp_path / "out")["video"].tolist() == [str(paths[0].resolve()), str(paths[1].resolve())]
