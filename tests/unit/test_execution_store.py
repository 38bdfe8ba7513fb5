"""The artifact store: records describe their files, writes are atomic, the lock refuses a second run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jtbench.execution.store import ArtifactStore, RunLockedError


def test_record_is_valid_only_while_outputs_are_unchanged(tmp_path):
    store = ArtifactStore(tmp_path)
    video = tmp_path / "videos" / "a.mp4"
    video.parent.mkdir()
    video.write_bytes(b"frames-1")
    assert not store.is_complete("video", "video/m/b/a/seed0/h")
    store.mark_done("video", "video/m/b/a/seed0/h", [video], {"case_id": "a"}, 1.5)
    assert store.is_complete("video", "video/m/b/a/seed0/h")
    assert store.record("video", "video/m/b/a/seed0/h")["info"] == {"case_id": "a"}
    video.write_bytes(b"frames-2")  # same size, other bytes: the digest catches it
    assert not store.is_complete("video", "video/m/b/a/seed0/h")
    video.unlink()
    assert not store.is_complete("video", "video/m/b/a/seed0/h")


def test_directory_outputs_and_relative_paths(tmp_path):
    store = ArtifactStore(tmp_path)
    ckpt = tmp_path / "checkpoints" / "unit"
    (ckpt / "lora").mkdir(parents=True)
    (ckpt / "lora" / "w.pt").write_bytes(b"\0" * 10)
    rec = store.mark_done("train", "train/m/b/u/h", [ckpt])
    assert list(rec["outputs"]) == ["checkpoints/unit/lora/w.pt"]
    assert store.is_complete("train", "train/m/b/u/h")
    (ckpt / "lora" / "w.pt").write_bytes(b"\0" * 11)
    assert not store.is_complete("train", "train/m/b/u/h")


def test_corrupt_record_counts_as_missing_and_failures_are_cleared(tmp_path):
    store = ArtifactStore(tmp_path)
    store.mark_failed("score", "score/x", "VideoError: broken", {"traceback": "…"})
    assert store.failure("score", "score/x")["error"] == "VideoError: broken"
    store.mark_done("score", "score/x")
    assert store.failure("score", "score/x") is None, "success clears the old failure"
    path = next((tmp_path / ".jtbench" / "records" / "score").glob("*.json"))
    path.write_text('{"key": "score/x", "outp')  # a torn write cannot happen, but a bad disk can
    assert store.record("score", "score/x") is None and not store.is_complete("score", "score/x")


def test_write_atomic_leaves_nothing_behind_on_error(tmp_path):
    target = tmp_path / "out" / "table.parquet"

    def broken(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        ArtifactStore.write_atomic(target, broken)
    assert not target.exists() and list(target.parent.iterdir()) == []
    ArtifactStore.write_atomic(target, lambda tmp: tmp.write_bytes(b"whole"))
    assert target.read_bytes() == b"whole" and len(list(target.parent.iterdir())) == 1


def test_second_holder_is_refused_with_the_holder_named(tmp_path):
    store = ArtifactStore(tmp_path)
    with store.lock("jtbench run --methods dummy"):
        with pytest.raises(RunLockedError) as err, ArtifactStore(tmp_path).lock("second"):
            pass
        message = str(err.value)
        assert "another jtbench run is using this output folder" in message
        assert f"pid {os.getpid()}" in message and "jtbench run --methods dummy" in message
        assert "--out" in message and str(tmp_path) in message
    with store.lock("again"):  # released on exit
        pass


def test_lock_of_a_killed_process_is_released(tmp_path):
    """flock dies with its holder, SIGKILL included: no stale lock after a crash."""
    code = (
        "import sys, time; from jtbench.execution.store import ArtifactStore\n"
        f"with ArtifactStore({str(tmp_path)!r}).lock('holder'):\n"
        "    print('locked', flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(RunLockedError, match="holder"), ArtifactStore(tmp_path).lock("me"):
            pass
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    deadline = time.time() + 5
    while True:
        try:
            with ArtifactStore(tmp_path).lock("me"):
                break
        except RunLockedError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)
