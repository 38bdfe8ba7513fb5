"""A prepared data folder: its reference sets, its lock file, and where each reference came from.

Layout (SPEC §2, extended): ``subjects/<subject>/NN.jpg``, ``motions/<motion>/NN.mp4`` (the
16-frame set) and, from the JointTuner release, ``motions_49f/<motion>/NN.mp4`` (the 49-frame
set). ``jtbench-data.lock.json`` records every file's SHA-256 and its source: the release
(``jointtuner-release``), an original data set it was rebuilt from (``davis2016``, ``ucf101``,
``dreambooth`` …, reference set ``rebuilt``) or the demo stand-ins (``demo``).

Mot-Fid compares tracks step by step, so a generated video is compared with the set whose
length fits it (:func:`choose_by_length`): the same frame count, else the shortest longer set
(zero-padded, as the official code does), else the longest (truncated, with a note). Result
rows record the reference files they were scored against (:class:`ReferenceLedger`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from jtbench.benchmark.manifest import SOURCES
from jtbench.errors import InputError
from jtbench.io.digest import file_sha256
from jtbench.io.video import count_frames

LOCK_NAME = "jtbench-data.lock.json"
SUBJECTS_FOLDER = "subjects"

RELEASE_LABEL = "jointtuner-release"  # the files the paper scored against, copied byte for byte
REBUILT_LABEL = "rebuilt"  # rebuilt by jtbench from DAVIS / UCF101 / DreamBooth / CustomConcept101 …
EXTERNAL_LABEL = "external"  # a reference an index row names, outside the prepared folder
UNVERIFIED_LABEL = "unverified"  # inside the prepared folder, but not (or no longer) as the lock file says
NOT_RECORDED_LABEL = "not-recorded"  # a result row written before jtbench recorded its references


@dataclass(frozen=True)
class MotionSet:
    """One set of motion clips: its prepared folder, nominal length, and folder in the release."""

    folder: str
    frames: int
    release_folder: str


MOTION_SETS = (MotionSet("motions", 16, "motion_16f"), MotionSet("motions_49f", 49, "motion_49f"))

T = TypeVar("T")


def choose_by_length(candidates: Sequence[tuple[int, T]], frames: int) -> T:
    """The candidate of ``frames`` frames; else the shortest longer one; else the longest one."""
    if not candidates:
        raise ValueError("no candidates to choose from")
    exact = [item for length, item in candidates if length == frames]
    if exact:
        return exact[0]
    longer = sorted((c for c in candidates if c[0] > frames), key=lambda c: c[0])
    if longer:
        return longer[0][1]
    return max(candidates, key=lambda c: c[0])[1]


@lru_cache(maxsize=256)
def _frames_of(path: str, size: int, mtime_ns: int) -> int:
    return count_frames(path)


def clip_frames(path: Path) -> int:
    """Frame count of a reference clip, read once per (path, size, mtime)."""
    stat = path.stat()
    return _frames_of(str(path), stat.st_size, stat.st_mtime_ns)


def motion_clip(root: Path, motion: str, frames: int | None = None, index: int = 0) -> Path | None:
    """``<set>/<motion>/NN.mp4`` of the set that fits a ``frames``-frame video (16-frame set when None)."""
    found = [root / s.folder / motion / f"{index:02d}.mp4" for s in MOTION_SETS]
    found = [p for p in found if p.is_file()]
    if not found:
        return None
    if frames is None or len(found) == 1:
        return found[0]  # one set: nothing to choose (its length is Mot-Fid's business)
    return choose_by_length([(clip_frames(p), p) for p in found], frames)


# -- the lock file ----------------------------------------------------------------------------
def read_lock(out: Path) -> dict | None:
    """The prepared folder's lock file, None when there is none."""
    path = Path(out) / LOCK_NAME
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"lock file is not valid JSON: {exc}", file=path, fix="delete it and prepare again") from exc


def reference_set_of(source: str) -> str:
    """The reference-set label of a file source: an original data set → ``rebuilt``."""
    return REBUILT_LABEL if source in SOURCES else source


def file_source(lock: dict, rel: str) -> str | None:
    """Where the lock says ``rel`` came from (lock files before jtbench recorded it: demo or rebuilt)."""
    sources = lock.get("file_sources") or {}
    if rel in sources:
        return sources[rel]
    if rel not in lock.get("files", {}):
        return None
    return "demo" if set(lock.get("sources") or {}) == {"demo"} else REBUILT_LABEL


def join_labels(labels: Iterable[str | None]) -> str | None:
    """Several labels as one: sorted, unique, ``+``-joined (None when there are none)."""
    unique = sorted({part for label in labels if isinstance(label, str) and label for part in label.split("+")})
    return "+".join(unique) or None


def rows_reference_set(labels: Iterable[str | None]) -> str | None:
    """The reference set(s) of result rows; rows that record none count as ``not-recorded``
    beside rows that do (None when no row records one)."""
    labels = list(labels)
    if not any(isinstance(label, str) and label for label in labels):
        return None
    return join_labels(label if isinstance(label, str) and label else NOT_RECORDED_LABEL for label in labels)


def lock_reference_set(lock: dict) -> str | None:
    """The reference set(s) a whole prepared folder holds."""
    return join_labels(reference_set_of(file_source(lock, rel) or UNVERIFIED_LABEL) for rel in lock.get("files", {}))


# -- what each result row was scored against -------------------------------------------------
@dataclass(frozen=True)
class ReferenceRecord:
    path: str  # relative to the prepared folder when inside it, else absolute
    sha256: str
    label: str


class ReferenceLedger:
    """Path, SHA-256 and reference-set label of every reference file a run uses (each hashed once)."""

    def __init__(self, data_root: Path | None) -> None:
        self.root = Path(data_root).resolve() if data_root is not None else None
        self.lock = (read_lock(self.root) if self.root is not None and self.root.is_dir() else None) or {}
        self.used: dict[str, ReferenceRecord] = {}
        self._seen: dict[tuple[str, int, int], ReferenceRecord] = {}

    def lookup(self, path: Path) -> ReferenceRecord:
        """Path, SHA-256 and label of a reference file (hashed once per path, size and mtime)."""
        path = Path(path).resolve()
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in self._seen:
            self._seen[key] = self._describe(path)
        return self._seen[key]

    def record(self, path: Path) -> ReferenceRecord:
        """:meth:`lookup`, and remember the file as used by this run (provenance)."""
        record = self.lookup(path)
        self.used[record.path] = record
        return record

    def lookup_folder(self, folder: Path) -> ReferenceRecord:
        """Path, one digest over the ``.jpg`` files (name and SHA-256 each) and label of an image folder."""
        folder = Path(folder).resolve()
        files = _jpgs(folder)
        records = [self.lookup(p) for p in files]
        digest = file_digest_of({p.name: r.sha256 for p, r in zip(files, records, strict=True)})
        inside = self.root is not None and folder.is_relative_to(self.root)
        shown = folder.relative_to(self.root).as_posix() if inside else str(folder)
        return ReferenceRecord(shown, digest, join_labels(r.label for r in records) or UNVERIFIED_LABEL)

    def changed(
        self, old: dict[str, Any], image: Path | None, video: Path | None, images: Path | None = None
    ) -> set[str]:
        """The reference columns whose file (or image folder) is no longer the one the old row was
        scored against (e.g. the folder was prepared again from the release); a row that records none is kept."""
        out = set()
        for kind, path in (("reference_image", image), ("reference_video", video), ("reference_images", images)):
            recorded = old.get(f"{kind}_sha256")
            if path is None or not (isinstance(recorded, str) and recorded):
                continue
            now = self.lookup_folder(path) if kind == "reference_images" else self.lookup(path)
            if now.sha256 != recorded:
                out.add(kind)
        return out

    def _describe(self, path: Path) -> ReferenceRecord:
        digest = file_sha256(path)
        if self.root is None or not path.is_relative_to(self.root):
            return ReferenceRecord(str(path), digest, EXTERNAL_LABEL)
        rel = path.relative_to(self.root).as_posix()
        source = file_source(self.lock, rel) if self.lock.get("files", {}).get(rel) == digest else None
        return ReferenceRecord(rel, digest, reference_set_of(source) if source else UNVERIFIED_LABEL)

    def columns(
        self, image: Path | None, video: Path | None, old: dict[str, Any] | None = None, images: Path | None = None
    ) -> dict[str, Any]:
        """The row's reference columns (``tables.REFERENCE_COLUMNS``); a reference this run did not
        use keeps the old row's values."""
        old = old or {}
        row: dict[str, Any] = {}
        labels: list[str | None] = []
        if images is not None:
            folder = self.lookup_folder(images)
            for path in _jpgs(Path(images)):
                self.record(path)
            row["reference_images"], row["reference_images_sha256"] = folder.path, folder.sha256
            labels.append(folder.label)
        else:
            row["reference_images"] = _text(old.get("reference_images"))
            row["reference_images_sha256"] = _text(old.get("reference_images_sha256"))
        for kind, path in (("reference_image", image), ("reference_video", video)):
            if path is not None:
                record = self.record(path)
                row[kind], row[f"{kind}_sha256"] = record.path, record.sha256
                labels.append(record.label)
            else:  # a null cell can come back from Parquet/pandas as NaN: only text counts
                row[kind], row[f"{kind}_sha256"] = _text(old.get(kind)), _text(old.get(f"{kind}_sha256"))
                if row[kind] is not None:
                    labels.append(self._kept_label(row[kind], row[f"{kind}_sha256"], old))
        row["reference_set"] = join_labels(labels)
        return row

    def _kept_label(self, shown: str, digest: str | None, old: dict[str, Any]) -> str | None:
        """A kept reference's label: from this lock when it still lists that file, else the old row's."""
        if self.root is not None and not Path(shown).is_absolute() and self.lock.get("files", {}).get(shown) == digest:
            source = file_source(self.lock, shown)
            return reference_set_of(source) if source else None
        return _text(old.get("reference_set"))

    def describe(self) -> dict[str, Any]:
        """For provenance.json: the prepared folder, the set(s) it holds, the files this run used."""
        return {
            "data": str(self.root) if self.root is not None else None,
            "prepared_reference_set": lock_reference_set(self.lock) if self.lock else None,
            "used_reference_set": join_labels(r.label for r in self.used.values()),
            "files": {p: {"sha256": r.sha256, "reference_set": r.label} for p, r in sorted(self.used.items())},
        }


def _jpgs(folder: Path) -> list[Path]:
    """The ``.jpg`` files of an image folder, as DreamVideo's script selects them (``endswith('.jpg')``)."""
    return sorted(p for p in folder.iterdir() if p.name.endswith(".jpg")) if folder.is_dir() else []


def file_digest_of(named: dict[str, str]) -> str:
    """One SHA-256 over ``name\0sha256`` lines, sorted by name (a folder's identity)."""
    import hashlib

    text = "".join(f"{name}\0{sha}\n" for name, sha in sorted(named.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def _text(value: Any) -> str | None:
    """A text cell's value, or None for null (None, NaN, empty)."""
    return value if isinstance(value, str) and value else None
