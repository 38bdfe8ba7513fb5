"""Which video belongs to which benchmark case: the folder naming rule and the CSV/JSON index.

Folder rule (SPEC §6): ``<case_id>.mp4`` for one video per case, ``<case_id>/<seed>.mp4`` for
several seeds. Adapters write their samples with :func:`video_path` so both sides agree.

Index rule: a CSV file or a JSON list of objects with the column ``video`` (relative to the
index file) and ``case_id`` or ``prompt``, optionally ``reference_image``, ``reference_video``,
``reference_images`` (a folder: every ``.jpg`` in it, for the ``dreamvideo`` profile's CLIP-I /
DINO-I), ``method``, ``seed``, ``base_model``. Parsing (:func:`read_index`, :func:`scan_folder`) only
checks the file's *shape*; :func:`resolve_entry` checks each row against the benchmark, so one
bad row becomes one line in ``errors.csv`` instead of stopping the run.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jtbench.benchmark.combinations import Benchmark, PromptCase
from jtbench.errors import InputError
from jtbench.io.video import VIDEO_SUFFIXES

INDEX_COLUMNS = (
    "video",
    "case_id",
    "prompt",
    "reference_image",
    "reference_video",
    "reference_images",
    "method",
    "seed",
    "base_model",
)


@dataclass(frozen=True)
class VideoEntry:
    """One video as the user described it (nothing checked against the benchmark yet)."""

    video: Path
    origin: str  # where the entry came from, for error messages ("index.csv row 3")
    case_id: str | None = None
    prompt: str | None = None
    reference_image: Path | None = None
    reference_video: Path | None = None
    reference_images: Path | None = None  # a folder of .jpg images (DreamVideo's CLIP-I / DINO-I)
    method: str | None = None
    seed: int | None = None
    base_model: str | None = None


@dataclass(frozen=True)
class ResolvedEntry:
    """An entry checked against the benchmark: prompt and references settled."""

    entry: VideoEntry
    prompt: str
    case: PromptCase | None
    reference_image: Path | None
    reference_video: Path | None
    reference_images: Path | None = None  # the subject's image folder, when a selected metric needs it

    @property
    def video(self) -> Path:
        return self.entry.video


# -- the folder naming rule -------------------------------------------------------------------
def video_path(root: str | Path, case_id: str, seed: int | None = None, suffix: str = ".mp4") -> Path:
    """Where a video for ``case_id`` (and optionally ``seed``) lives under ``root``."""
    root = Path(root)
    return root / case_id / f"{seed}{suffix}" if seed is not None else root / f"{case_id}{suffix}"


def parse_video_path(root: str | Path, path: str | Path) -> tuple[str, int | None]:
    """Invert :func:`video_path`: ``(case_id, seed)`` from a file under ``root``."""
    rel = Path(path).relative_to(root)
    if len(rel.parts) == 1:
        return rel.stem, None
    if len(rel.parts) == 2 and rel.stem.isdigit():
        return rel.parts[0], int(rel.stem)
    raise InputError(
        "file does not follow the naming rule <case_id>.mp4 or <case_id>/<seed>.mp4",
        file=path,
        fix="rename it, or score it through an --index file",
    )


def scan_folder(root: str | Path, *, method: str | None = None) -> list[VideoEntry]:
    """Every video under ``root`` named by the folder rule, sorted by path.

    Files deeper than ``<case_id>/<seed>`` or with a non-numeric seed are reported as entries
    whose ``case_id`` is the offending relative path, so they surface as per-video errors.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError("video folder does not exist", file=root, fix="pass a folder of <case_id>.mp4 files")
    entries = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue  # temp files of atomic writers
        try:
            case_id, seed = parse_video_path(root, path)
        except InputError:
            case_id, seed = rel.as_posix(), None
        entries.append(VideoEntry(video=path, origin=rel.as_posix(), case_id=case_id, seed=seed, method=method))
    return entries


# -- the index --------------------------------------------------------------------------------
def _clean(value: Any) -> str | None:
    """Empty cells, JSON nulls and NaN all mean "not given"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _seed(value: Any, index: Path, origin: str) -> int | None:
    text = _clean(value)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not number.is_integer():
        raise InputError(f"{origin}: seed {text!r} is not an integer", file=index, fix="write seeds as whole numbers")
    return int(number)


def _rows(index: Path) -> list[Mapping[str, Any]]:
    if index.suffix.lower() == ".json":
        try:
            data = json.loads(index.read_text())
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc}", file=index, fix="write a JSON list of objects") from exc
        if isinstance(data, dict) and isinstance(data.get("videos"), list):
            data = data["videos"]
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise InputError(
                "expected a JSON list of objects", file=index, fix='write [{"video": ..., "case_id": ...}]'
            )
        return data
    if index.suffix.lower() == ".csv":
        with open(index, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            columns = reader.fieldnames or []
        if "video" not in columns:
            raise InputError(
                f"the CSV has no 'video' column (columns: {', '.join(columns) or 'none'})",
                file=index,
                fix="add a header line with video and case_id (or prompt)",
            )
        return rows
    raise InputError(f"unknown index format {index.suffix!r}", file=index, fix="use a .csv or .json index")


def _ref_path(text: str | None, base: Path, data_root: Path | None, *, folder: bool = False) -> Path | None:
    """A reference path (a file, or a ``folder``): relative to the index file, else to the prepared data folder."""
    if text is None:
        return None
    exists = Path.is_dir if folder else Path.is_file
    first = base / text  # an absolute ``text`` stays absolute
    if not exists(first) and data_root is not None and exists(data_root / text):
        return data_root / text
    return first


def read_index(
    index: str | Path,
    *,
    method: str | None = None,
    base_model: str | None = None,
    data_root: str | Path | None = None,
) -> list[VideoEntry]:
    """Parse an index file. ``video`` is relative to the index file; references are relative to
    the index file or, failing that, to ``data_root``; ``method``/``base_model`` are defaults."""
    index = Path(index)
    if not index.is_file():
        raise InputError("index file does not exist", file=index, fix="pass a CSV or JSON index")
    rows = _rows(index)
    if not rows:
        raise InputError("the index lists no videos", file=index, fix="add one row per video")
    base = index.parent
    data = Path(data_root) if data_root is not None else None
    entries = []
    for i, row in enumerate(rows, start=1):
        origin = f"{index.name} row {i}"
        unknown = sorted(set(row) - set(INDEX_COLUMNS))
        if unknown:
            raise InputError(
                f"{origin}: unknown column(s) {', '.join(unknown)}",
                file=index,
                fix=f"use only {', '.join(INDEX_COLUMNS)}",
            )
        video = _clean(row.get("video"))
        if video is None:
            raise InputError(f"{origin}: no video path", file=index, fix="fill the video column")
        refs = {k: _clean(row.get(k)) for k in ("reference_image", "reference_video", "reference_images")}
        entries.append(
            VideoEntry(
                video=base / video,
                origin=origin,
                case_id=_clean(row.get("case_id")),
                prompt=_clean(row.get("prompt")),
                reference_image=_ref_path(refs["reference_image"], base, data),
                reference_video=_ref_path(refs["reference_video"], base, data),
                reference_images=_ref_path(refs["reference_images"], base, data, folder=True),
                method=_clean(row.get("method")) or method,
                seed=_seed(row.get("seed"), index, origin),
                base_model=_clean(row.get("base_model")) or base_model,
            )
        )
    return entries


# -- checking entries against the benchmark ---------------------------------------------------
def _reference(given: Path, kind: str, origin: str) -> Path:
    if given.is_file():
        return given
    raise InputError(
        f"{origin}: {kind} does not exist",
        file=given,
        fix=f"correct the {kind} path (relative to the index file or to --data)",
    )


def resolve_entry(
    entry: VideoEntry,
    benchmark: Benchmark,
    *,
    need_image: bool = True,
    need_video: bool = True,
    need_images: bool = False,
) -> ResolvedEntry:
    """Settle the prompt and the references of one entry, or raise :class:`InputError` saying why.

    - ``case_id`` given: it must be a benchmark case; its prompt is used unless the row gives
      its own ``prompt`` (the text the video was really generated from — JT scores that text).
    - only ``prompt`` given: the row must name both references (prompts are not unique, SPEC §2).
    - references the row does not give come from the prepared data (``--data``): the subject's
      ``00.jpg`` and the motion's ``00.mp4`` (16-frame set; once the video is decoded,
      :func:`fit_reference_to_length` picks the set that fits its length). A reference no
      selected metric needs is not required.
    - the reference image folder (``need_images``): the row's ``reference_images``, else the
      folder of its reference image (``subjects/<id>/`` of the prepared data).
    """
    case: PromptCase | None = None
    if entry.case_id is not None:
        case = benchmark.case_by_id(entry.case_id)  # raises InputError with the fix
    elif entry.prompt is None:
        raise InputError(f"{entry.origin}: neither case_id nor prompt given", file=entry.video, fix="give one of them")
    prompt = entry.prompt or (case.prompt if case else "")

    def settle(given: Path | None, kind: str, needed: bool, from_case) -> Path | None:
        if given is not None:
            return _reference(given, kind, entry.origin)
        if not needed:
            return None
        if case is None:
            raise InputError(
                f"{entry.origin}: a prompt-only row must give its {kind}",
                file=entry.video,
                fix=f"add a {kind} column (prompts are not unique; or give the case_id)",
            )
        return from_case(case)

    folder_from_image = need_images and entry.reference_images is None
    if folder_from_image and case is None and entry.reference_image is None:
        raise InputError(
            f"{entry.origin}: a prompt-only row must give its reference_images folder (or a reference_image)",
            file=entry.video,
            fix="add a reference_images column naming the subject's image folder, or give the case_id",
        )
    image = settle(
        entry.reference_image, "reference_image", need_image or folder_from_image,
        lambda c: benchmark.reference_image(c.subject),
    )  # fmt: skip
    video = settle(entry.reference_video, "reference_video", need_video, lambda c: benchmark.reference_video(c.motion))
    images = None
    if need_images:
        images = entry.reference_images or (image.parent if image is not None else None)
        if images is not None and not images.is_dir():
            raise InputError(
                f"{entry.origin}: reference_images is not a folder",
                file=images,
                fix="name the folder holding the subject's .jpg images (relative to the index file or to --data)",
            )
    return ResolvedEntry(
        entry=entry, prompt=prompt, case=case, reference_image=image, reference_video=video, reference_images=images
    )


def fit_reference_to_length(item: ResolvedEntry, frames: int, benchmark: Benchmark) -> ResolvedEntry:
    """Take the motion clip from the prepared set that fits a ``frames``-frame video (after decoding).

    16 frames → ``motions/`` (16), 49 → ``motions_49f/`` (49); other lengths → the shortest set
    not shorter than the video (Mot-Fid zero-pads, as the official code), else the longest
    (Mot-Fid truncates, with a note). A row's own ``reference_video`` is kept as given.
    """
    if item.entry.reference_video is not None or item.case is None or item.reference_video is None:
        return item
    return replace(item, reference_video=benchmark.reference_video(item.case.motion, frames=frames))


def with_defaults(entry: VideoEntry, *, method: str | None = None, base_model: str | None = None) -> VideoEntry:
    """Fill ``method``/``base_model`` where the entry does not name them."""
    return replace(entry, method=entry.method or method, base_model=entry.base_model or base_model)
