"""A video that kills its scoring process must not block the others (markers, isolated child, errors.csv).

The kill is injected (``JTBENCH_FAULT_KILL_VIDEO``): the process scoring that video SIGKILLs
itself, as the kernel's out-of-memory killer would.
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _score_fakes import CASES, bench, make_prepared, make_video

from jtbench.io import layout
from jtbench.io.layout import VideoEntry
from jtbench.io.tables import read_results
from jtbench.metrics.isolation import KILL_ENV, CrashGuard
from jtbench.metrics.scorer import Scorer, TimedHub

REPO = Path(__file__).resolve().parents[2]


def _errors(out: Path) -> list[dict[str, str]]:
    with open(out / "errors.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_marked_video_is_rescored_in_a_child_and_a_killer_is_named(tmp_path, monkeypatch):
    prepared = make_prepared(tmp_path / "data")
    paths = [make_video(layout.video_path(tmp_path / "v", c), lvl) for c, lvl in zip(CASES, (40, 90, 200), strict=True)]
    entries = [VideoEntry(video=p, origin=p.name, case_id=p.stem, method="m") for p in paths]
    out = tmp_path / "out"
    guard = CrashGuard(out)
    for entry in entries[1:]:  # as a run that died on these videos leaves them
        guard.marker(entry).parent.mkdir(parents=True, exist_ok=True)
        guard.marker(entry).write_text("{}")
    monkeypatch.setenv(KILL_ENV, paths[1].name)  # the second video kills whoever scores it

    hub = TimedHub(backbones="tiny", device="cpu", precision="fp32", tiny_dir=tmp_path / "tiny")
    report = Scorer(("jtbench_test_brightness",), hub=hub, benchmark=bench(prepared)).score(entries, out)

    assert report.scored == 2  # the first in this process, the third in an isolated child
    rows = read_results(out / "results.parquet")
    assert sorted(rows["video"]) == sorted(str(p.resolve()) for p in (paths[0], paths[2]))
    assert all(math.isfinite(v) for v in rows["Fake-Bright"])
    (line,) = _errors(out)
    assert line["video"] == str(paths[1])
    assert "killed while scoring (signal SIGKILL" in line["problem"] and "needs about" in line["problem"]
    assert "--max-memory" in line["fix"]
    assert guard.crashed_before(entries[1]) and not guard.crashed_before(entries[2])  # the killer stays marked
    assert not guard.crashed_before(entries[0])
    stamp = json.loads((out / "provenance.json").read_text())
    assert stamp["peak_memory_mb"]["jtbench_test_brightness"] >= 0  # measured in this process
    assert stamp["peak_memory_kind"] == "RSS growth" and stamp["memory_events"] == []


@pytest.mark.slow
def test_cli_run_killed_on_one_video_then_rerun_finishes_the_others(tmp_path):
    """The done-when: the first run dies on the killer; the re-run scores the rest and names it."""
    folder = tmp_path / "videos"
    paths = [make_video(folder / f"clip_{i}.mp4", level, frames=4, size=32) for i, level in enumerate((40, 90, 200))]
    index = tmp_path / "index.csv"
    index.write_text("video,prompt\n" + "".join(f"{p},a clip\n" for p in paths))
    out = tmp_path / "out"
    env = dict(os.environ, **{KILL_ENV: paths[1].name, "PYTHONPATH": str(REPO)})
    cmd = [sys.executable, "-m", "jtbench", "score", "--index", str(index), "--out", str(out)]
    cmd += ["--backbones", "tiny", "--metrics", "Subj-Con", "--no-progress"]

    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == -9, first.stderr[-2000:]  # killed, as by the OOM killer
    assert list(read_results(out / "results.parquet")["video"]) == [str(paths[0].resolve())]

    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 1, second.stderr[-2000:]  # finished, with an error to report
    rows = read_results(out / "results.parquet")
    assert sorted(rows["video"]) == sorted(str(p.resolve()) for p in (paths[0], paths[2]))
    (line,) = _errors(out)
    assert line["video"] == str(paths[1]) and "killed while scoring" in line["problem"]


@pytest.mark.slow
def test_run_score_stage_isolates_the_video_that_killed_it(tmp_path, demo_data_root, monkeypatch):
    """`jtbench run`: killed while scoring one video; the re-run finishes the others and names it."""
    from _run_helpers import invoke, spawn

    out = tmp_path / "run"
    monkeypatch.setenv(KILL_ENV, "dog__person_playing_flute")
    proc = spawn(out, demo_data_root)
    proc.wait(timeout=900)
    assert proc.returncode == -9, proc.stdout.read()[-2000:]

    result = invoke(out, demo_data_root)
    assert result.exit_code != 0
    assert "killed while scoring" in result.output and "dog__person_playing_flute" in result.output
    shards = list((out / ".jtbench" / "scores").glob("*/results.parquet"))
    scored = {Path(read_results(s)["video"].iloc[0]).parent.name for s in shards}
    assert len(scored) == 2 and not any("dog__" in name for name in scored), scored
