"""Blinded media: one format (differences reported or refused, never silent), resumable `create`, gold bytes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from jtbench.cli.app import app
from jtbench.errors import InputError
from jtbench.io.video import read_video
from jtbench.study.media import MediaFormat, Probe, Tokenizer, conform, decide_format


def test_tokens_are_keyed_and_stable():
    a, b = Tokenizer("01" * 32), Tokenizer("02" * 32)
    assert a("video:abc") == Tokenizer("01" * 32)("video:abc") != b("video:abc")
    assert len(a("x")) == 24 and a("x") != a("y")


def test_different_lengths_are_refused_unless_trimmed():
    probes = {"unet": [Probe(256, 256, 16, 8.0)], "dit": [Probe(720, 480, 49, 8.0), Probe(720, 480, 49, 8.0)]}
    with pytest.raises(InputError, match=r"differ in length.*unet: 16 frames at 8 fps.*dit: 49 frames"):
        decide_format(probes, None)
    fmt, notes = decide_format(probes, "shortest")
    assert (fmt.frames, fmt.fps, fmt.width, fmt.height) == (16, 8.0, 720, 480)  # the most common size
    assert any("--trim shortest" in n for n in notes) and any(
        "scaled to 720x480: the videos of unet" in n for n in notes
    )


def test_trim_resamples_to_the_lowest_fps():
    fmt, _ = decide_format({"a": [Probe(64, 64, 48, 24.0)], "b": [Probe(64, 64, 16, 8.0)]}, "shortest")
    assert (fmt.frames, fmt.fps) == (16, 8.0)
    frames = np.arange(48, dtype=np.uint8)[:, None, None, None].repeat(64, 1).repeat(64, 2).repeat(3, 3)
    out = conform(frames, 24.0, fmt)
    assert out.shape == (16, 64, 64, 3) and list(out[:, 0, 0, 0]) == list(range(0, 48, 3))
    scaled = conform(frames[:16], 8.0, MediaFormat(32, 48, 8.0, 16))
    assert scaled.shape == (16, 48, 32, 3)


def test_create_is_resumable_keeps_edits_and_the_gold_is_frozen(demo_study, demo_run, tmp_path):
    import shutil

    study = tmp_path / "study"
    shutil.copytree(demo_study, study)
    doc = json.loads((study / "study.json").read_text())
    doc["texts"]["consent"] = "edited consent"
    (study / "study.json").write_text(json.dumps(doc))
    removed = sorted((study / "media").iterdir())[0]
    removed.unlink()  # as if transcoding had been interrupted
    args = [
        "study",
        "create",
        str(demo_run),
        "--data",
        str(demo_run / "data"),
        "--out",
        str(study),
        "--raters",
        "4",
        "--ratings-per-item",
        "2",
        "--gold",
        "1",
        "--repeats",
        "1",
        "--no-progress",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "media: 1 made" in result.output and removed.is_file()
    again = json.loads((study / "study.json").read_text())
    assert again["texts"]["consent"] == "edited consent" and again["items"] == doc["items"]
    # the frozen gold copy really is the first frame repeated
    key = json.loads((study / "private" / "key.json").read_text())["tokens"]
    frozen = next(t for t, s in key.items() if s.get("perturbation") == "frozen_first_frame")
    frames = read_video(study / "media" / f"{frozen}.mp4").frames.numpy().astype(int)
    assert frames.shape[0] == 16 and np.abs(frames - frames[:1]).max() <= 2  # one still image (codec noise only)
    # a study with ratings is never re-planned into another one
    (study / "ratings" / "r1.jsonl").write_text("")
    other = CliRunner().invoke(app, [*args[:-1], "--seed", "5", "--no-progress"])
    assert other.exit_code != 0 and "different plan" in str(other.exception)
