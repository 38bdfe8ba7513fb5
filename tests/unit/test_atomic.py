"""jtbench.io.atomic: a reader sees the old file or the whole new one, and no temp file is left."""

from __future__ import annotations

import os

import pytest

from jtbench.io.atomic import atomic_write, write_text


def test_write_text_replaces_whole_and_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = write_text(tmp_path / "new" / "report.md", "first ✓")
    assert target.read_text(encoding="utf-8") == "first ✓"

    def disk_full(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="disk full"):
        write_text(target, "second")
    assert target.read_text(encoding="utf-8") == "first ✓"
    assert [p.name for p in target.parent.iterdir()] == ["report.md"]


def test_temp_file_keeps_the_suffix_only_when_asked(tmp_path):
    names: list[str] = []

    def record(tmp):
        names.append(tmp.name)
        tmp.write_bytes(b"x")

    atomic_write(tmp_path / "clip.mp4", record, keep_suffix=True)  # encoders pick the format by suffix
    atomic_write(tmp_path / "results.parquet", record)  # a leftover must not look like a table
    assert names[0].startswith(".clip.") and names[0].endswith(".mp4")
    assert names[1].startswith(".results.parquet.") and names[1].endswith(".tmp")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "results.parquet"]
