"""Append-only rating files: one ``ratings/<rater_id>.jsonl`` per rater, fsynced before acknowledging.

A judgment is acknowledged only after its line is written, flushed and fsynced, so a crash (kill -9)
loses nothing the page was told was saved. Each judgment carries an id made by the page; a second
submission with the same id is recorded once. A per-rater lock keeps concurrent requests of one rater
from interleaving; raters never share a file. On start the files are read back: a line that does not
parse (a crash mid-write leaves at most the last one truncated) is reported and skipped, and the next
append starts on a fresh line so the damage never spreads to a good judgment.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jtbench.errors import InputError

RATER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # also a file name: no '/', no leading dot


def load_study(folder: Path) -> dict[str, Any]:
    path = folder / "study.json"
    if not path.is_file():
        raise InputError("no study.json here", file=folder, fix="make the study with `jtbench study create`")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"study.json is not valid JSON ({exc})", file=path, fix="undo the last edit") from exc


@dataclass(frozen=True)
class Problem:
    """A line of a ratings file that could not be read."""

    file: Path
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}; the line is skipped"


def read_jsonl(path: Path) -> tuple[list[dict[str, Any]], list[Problem], bool]:
    """The records of a JSON-lines file, its unreadable lines, and whether it ends with a newline."""
    data = path.read_bytes()
    records, problems = [], []
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        last = number == len(lines)
        try:
            record = json.loads(raw)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except (ValueError, UnicodeDecodeError) as exc:
            why = "truncated last line (a crash while writing)" if last else f"not a JSON object ({exc})"
            problems.append(Problem(path, number, why))
            continue
        records.append(record)
    return records, problems, data.endswith(b"\n") or not data


def append_line(path: Path, record: dict[str, Any], *, fresh_line: bool = False) -> None:
    """Write one JSON line and fsync it (and, for a new file, its folder entry)."""
    new = not path.exists()
    line = json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, (("\n" if fresh_line else "") + line).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    if new:
        _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@dataclass
class RaterLog:
    """What is known about one rater's file: judgment ids, answered (item, dimension) and timing."""

    ids: set[str] = field(default_factory=set)
    answered: dict[tuple[str, str], str] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    needs_newline: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class RatingStore:
    """The ``ratings/`` folder of a study, held in memory for fast duplicate checks and resumption."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.logs: dict[str, RaterLog] = defaultdict(RaterLog)
        self.problems: list[Problem] = []
        self._logs_lock = threading.Lock()
        for path in sorted(folder.glob("*.jsonl")):
            records, problems, ends_clean = read_jsonl(path)
            log = self.logs[path.stem]
            log.needs_newline = not ends_clean
            self.problems += problems
            for record in records:
                self._remember(log, record)

    @staticmethod
    def _remember(log: RaterLog, record: dict[str, Any]) -> bool:
        jid = record.get("judgment_id")
        if not isinstance(jid, str) or jid in log.ids:
            return False
        log.ids.add(jid)
        log.answered.setdefault((str(record.get("item_id")), str(record.get("dimension"))), jid)
        log.records.append(record)
        return True

    def log(self, rater_id: str) -> RaterLog:
        with self._logs_lock:
            return self.logs[rater_id]

    def open(self, rater_id: str) -> None:
        """Create the rater's (empty) file and make its folder entry durable: done once, at consent, so the
        first judgment pays no directory fsync."""
        if not RATER_ID.match(rater_id):
            raise ValueError(f"rater id {rater_id!r} is not a safe file name")
        path = self.folder / f"{rater_id}.jsonl"
        with self.log(rater_id).lock:
            if path.exists():
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            path.touch()
            _fsync_dir(path.parent)

    def add(self, rater_id: str, record: dict[str, Any]) -> str:
        """Store a judgment. Returns ``saved``, ``duplicate`` (same judgment id: not written again) or
        ``conflict`` (the rater already answered this item and dimension under another id: not written)."""
        if not RATER_ID.match(rater_id):
            raise ValueError(f"rater id {rater_id!r} is not a safe file name")
        log = self.log(rater_id)
        with log.lock:
            if record["judgment_id"] in log.ids:
                return "duplicate"
            if (record["item_id"], record["dimension"]) in log.answered:
                return "conflict"
            self.folder.mkdir(parents=True, exist_ok=True)
            append_line(self.folder / f"{rater_id}.jsonl", record, fresh_line=log.needs_newline)
            log.needs_newline = False
            self._remember(log, record)
        return "saved"

    def records(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for rater_id, log in sorted(self.logs.items()):
            for record in log.records:
                yield rater_id, record


def read_ratings(folder: Path) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Every judgment in ``folder`` (each judgment id once per rater) and the lines that were skipped."""
    store = RatingStore(folder)
    return [record for _, record in store.records()], store.problems


class SlotBook:
    """``sessions.jsonl``: which rater holds which assignment slot (claimed at consent, kept for good)."""

    def __init__(self, path: Path, slots: int) -> None:
        self.path, self.slots = path, slots
        self.slot_of: dict[str, int] = {}
        self.problems: list[Problem] = []
        self.needs_newline = False
        self._lock = threading.Lock()
        if path.is_file():
            records, self.problems, ends_clean = read_jsonl(path)
            self.needs_newline = not ends_clean
            for record in records:
                if isinstance(record.get("slot"), int) and isinstance(record.get("rater_id"), str):
                    self.slot_of.setdefault(record["rater_id"], record["slot"])

    def claim(self, rater_id: str, info: dict[str, Any]) -> int | None:
        """The rater's slot: the one held already, else the next free one (None when the study is full)."""
        with self._lock:
            if rater_id in self.slot_of:
                return self.slot_of[rater_id]
            taken = set(self.slot_of.values())
            free = next((s for s in range(self.slots) if s not in taken), None)
            if free is None:
                return None
            append_line(self.path, {"rater_id": rater_id, "slot": free, **info}, fresh_line=self.needs_newline)
            self.needs_newline = False
            self.slot_of[rater_id] = free
            return free
