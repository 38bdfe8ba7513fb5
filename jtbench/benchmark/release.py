"""Import the JointTuner release: the paper's own subject photos and motion clips, byte for byte.

The authors published the benchmark's reference files in github.com/fdchen24/JointTuner (branch
main) as five zips under ``datasets/JointTuner/``: ``subject/subject-1.zip`` … ``subject-3.zip``,
``motion_16f.zip`` and ``motion_49f.zip``. Their README and scripts name three folders:
``subject/<subject>/00.jpg …``, ``motion_16f/<motion>/00.mp4 …`` (16 frames) and
``motion_49f/<motion>/00.mp4 …`` (49 frames). The zips' inner layout is not documented; what is
assumed (README, "Preparing the data"):

- a zip (or an extracted folder) holds ``<name>/<file>`` folders, directly or under at most two
  top folders (``bear_plushie/00.jpg``, ``subject/bear_plushie/00.jpg``,
  ``subject-1/subject/bear_plushie/00.jpg``), the same depth for every file of one zip;
- a folder name is a benchmark id (``bear_plushie``, ``person_playing_flute``), compared
  ignoring case and ``-``/space versus ``_``;
- subject photos are ``.jpg``/``.jpeg``, motion clips ``.mp4``; they are copied in sorted order
  as ``00.jpg``, ``01.jpg`` … (bytes unchanged). Non-media files and macOS metadata are ignored;
  any other image or video is reported.

Anything missing, unknown, duplicated or out of place stops the import with one message listing
every problem and the expected layout: no subject or motion is ever skipped silently.
"""

from __future__ import annotations

import shutil
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from jtbench.benchmark.manifest import Manifest
from jtbench.benchmark.prepared import MOTION_SETS, SUBJECTS_FOLDER
from jtbench.errors import InputError

RELEASE_SOURCE = "jointtuner"  # the --source name
REPOSITORY = "https://github.com/fdchen24/JointTuner"
RELEASE_DIR = "datasets/JointTuner"
#: github.com/<repo>/raw/<branch>/<path> also follows Git LFS pointers (raw.githubusercontent.com does not).
RAW_BASE = f"{REPOSITORY}/raw/main/{RELEASE_DIR}/"
MEDIA_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".mp4", ".avi", ".mov", ".mkv", ".webm")
MAX_TOP_FOLDERS = 2


@dataclass(frozen=True)
class ReleasePart:
    """One of the release's three folders and the zip(s) it is published as."""

    folder: str  # in the release: subject, motion_16f, motion_49f
    archives: tuple[str, ...]  # relative to datasets/JointTuner/
    prepared: str  # in the prepared layout: subjects, motions, motions_49f
    suffixes: tuple[str, ...]
    kind: str  # "subject" or "motion"


PARTS = (
    ReleasePart(
        "subject",
        tuple(f"subject/subject-{i}.zip" for i in (1, 2, 3)),
        SUBJECTS_FOLDER,
        (".jpg", ".jpeg"),
        "subject",
    ),
    *(ReleasePart(s.release_folder, (f"{s.release_folder}.zip",), s.folder, (".mp4",), "motion") for s in MOTION_SETS),
)
ARCHIVES = tuple(name for part in PARTS for name in part.archives)


def archive_urls() -> dict[str, str]:
    """The five zips' raw-file addresses, by path under ``datasets/JointTuner/``."""
    return {name: RAW_BASE + name for name in ARCHIVES}


@dataclass(frozen=True)
class ReleaseFile:
    """One file of the release: a member of ``archive``, or (``archive`` None) a file on disk."""

    archive: Path | None
    name: str

    def __str__(self) -> str:
        return f"{self.archive}!{self.name}" if self.archive is not None else self.name

    def copy_to(self, dst: Path) -> None:
        """Copy the bytes unchanged (through a temp file, so a crash leaves no partial file)."""
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(f".{dst.name}.tmp")
        if self.archive is None:
            shutil.copyfile(self.name, tmp)
        else:
            with zipfile.ZipFile(self.archive) as zf, zf.open(self.name) as src, open(tmp, "wb") as fh:
                shutil.copyfileobj(src, fh, 1 << 20)
        tmp.replace(dst)


# -- finding the release ----------------------------------------------------------------------
def _base(root: Path) -> Path | None:
    """``root`` itself, the ``datasets/JointTuner/`` of a clone, or a ``JointTuner/`` below it."""
    for base in (root, root / "datasets" / "JointTuner", root / "JointTuner"):
        if any(_archive(base, name) for name in ARCHIVES) or any((base / p.folder).is_dir() for p in PARTS):
            return base
    return None


def _archive(base: Path, name: str) -> Path | None:
    """``base/<name>``, or the zip lying directly in ``base`` (a folder holding the five zips)."""
    return next((p for p in (base / name, base / PurePosixPath(name).name) if p.is_file()), None)


def _hidden(rel: str) -> bool:
    return any(part.startswith((".", "__MACOSX")) for part in PurePosixPath(rel).parts)


def _listing(base: Path, part: ReleasePart, problems: list[str]) -> list[tuple[str, str, ReleaseFile]] | None:
    """``(where, relative path, file)`` of the part's files: its zips when all are there, else its
    extracted folder, else the zips that are there (the others reported); None when nothing is."""
    zips = {name: _archive(base, name) for name in part.archives}
    folder = base / part.folder
    absent = [name for name, path in zips.items() if path is None]
    if absent and folder.is_dir() and any(p.suffix.lower() in part.suffixes for p in folder.rglob("*")):
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        rels = [(p.relative_to(folder).as_posix(), p) for p in files]
        return [(str(folder), rel, ReleaseFile(None, str(p))) for rel, p in rels if not _hidden(rel)]
    if len(absent) == len(zips):
        extracted = f"{part.folder}/<{part.kind}>/"
        problems.append(f"{part.folder}: neither {', '.join(absent)} nor an extracted {extracted} at {base}")
        return None
    problems += [f"{part.folder}: {name} not found in {base}" for name in absent]
    out = []
    for path in (p for p in zips.values() if p is not None):
        try:
            with zipfile.ZipFile(path) as zf:
                members = [m for m in zf.namelist() if not m.endswith("/")]
        except zipfile.BadZipFile as exc:
            problems.append(f"{path}: not a readable zip archive ({exc})")
            continue
        # some Windows zip tools write "\\" between folders; the member keeps its stored name
        out += [(str(path), m.replace("\\", "/"), ReleaseFile(path, m)) for m in members]
    out = [(where, rel, file) for where, rel, file in out if not _hidden(rel)]
    return out


# -- mapping folders to benchmark ids ---------------------------------------------------------
def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def _collect(
    part: ReleasePart, listing: list[tuple[str, str, ReleaseFile]], ids: Iterable[str], problems: list[str]
) -> dict[str, list[tuple[str, ReleaseFile]]]:
    """``{benchmark id: [(file name, file), …]}`` of one part; every oddity goes to ``problems``."""
    by_key = {_key(i): i for i in ids}
    groups: dict[str, dict[str, list[tuple[str, ReleaseFile]]]] = {}  # id → {where!folder: files}
    depths: dict[str, set[tuple[str, ...]]] = {}
    unknown: dict[str, set[str]] = {}
    for where, rel, file in listing:
        suffix = PurePosixPath(rel).suffix.lower()
        if suffix not in MEDIA_SUFFIXES:
            continue  # captions, READMEs, the zips themselves
        parts = PurePosixPath(rel).parts
        if suffix not in part.suffixes:
            allowed = "/".join(part.suffixes)
            problems.append(f"{where}: {rel}: unexpected file type {suffix} (a {part.kind} is {allowed})")
            continue
        if len(parts) < 2 or len(parts) - 2 > MAX_TOP_FOLDERS:
            problems.append(f"{where}: {rel}: expected <{part.kind}>/<file>, under at most {MAX_TOP_FOLDERS} folders")
            continue
        depths.setdefault(where, set()).add(parts[:-2])
        bench_id = by_key.get(_key(parts[-2]))
        if bench_id is None:
            unknown.setdefault(where, set()).add(parts[-2])
            continue
        folder = f"{where}!{'/'.join(parts[:-1])}"
        groups.setdefault(bench_id, {}).setdefault(folder, []).append((parts[-1], file))
    for bench_id, folders in groups.items():
        if len(folders) > 1:
            problems.append(f"{part.folder}: {part.kind} {bench_id} found {len(folders)} times: {', '.join(folders)}")
    for where, names in sorted(unknown.items()):
        problems.append(f"{where}: unknown {part.kind} folder(s) {', '.join(sorted(names))}")
    for where, found in sorted(depths.items()):
        if len(found) > 1:
            shown = ", ".join("/".join(p) + "/" if p else "(top)" for p in sorted(found))
            problems.append(f"{where}: {part.kind} folders at different depths ({shown})")
    return {k: sorted(next(iter(v.values())), key=lambda item: item[0]) for k, v in groups.items()}


def expected_layout(manifest: Manifest) -> str:
    """The accepted layouts and the ids, for every error message."""
    zips = ", ".join(ARCHIVES)
    return "\n".join(
        [
            f"expected: the {RELEASE_DIR}/ folder of {REPOSITORY}, a clone of it, or a folder holding its five zips:",
            f"  {zips}",
            "  or the same folders extracted: subject/<subject>/00.jpg …, motion_16f/<motion>/00.mp4 …,"
            " motion_49f/<motion>/00.mp4 …",
            f"  inside a zip, <name>/<file> may sit under at most {MAX_TOP_FOLDERS} top folders (subject/<subject>/…);",
            f"  subject folders: {', '.join(manifest.subjects)}",
            f"  motion folders: {', '.join(manifest.motions)}",
        ]
    )


def release_plan(
    root: Path, out: Path, manifest: Manifest, subjects: list[str], motions: list[str]
) -> list[tuple[str, ReleaseFile, Path, str]]:
    """The copy plan ``("copy", file, destination, "")`` for the wanted subjects and motions.

    Raises one :class:`InputError` listing every problem when the release is incomplete or odd.
    """
    root = Path(root).expanduser()
    base = _base(root) if root.is_dir() else None
    if base is None:
        raise InputError(
            "no JointTuner release here\n" + expected_layout(manifest),
            file=root,
            fix=f"download the five zips (`jtbench data prepare --download DIR`) or clone {REPOSITORY}",
        )
    problems: list[str] = []
    plan: list[tuple[str, ReleaseFile, Path, str]] = []
    for part in PARTS:
        ids, wanted = (manifest.subjects, subjects) if part.kind == "subject" else (manifest.motions, motions)
        listing = _listing(base, part, problems)
        if listing is None:
            continue
        items = _collect(part, listing, ids, problems)
        absent = [i for i in wanted if i not in items]
        if absent:
            problems.append(f"{part.folder}: missing {part.kind}(s) {', '.join(absent)}")
        suffix = ".jpg" if part.kind == "subject" else ".mp4"
        for bench_id in wanted:
            for i, (_, file) in enumerate(items.get(bench_id, [])):
                plan.append(("copy", file, out / part.prepared / bench_id / f"{i:02d}{suffix}", ""))
    if problems:
        lines = [f"the JointTuner release at {base} cannot be imported:", *(f"  - {p}" for p in problems)]
        raise InputError(
            "\n".join([*lines, expected_layout(manifest)]),
            file=base,
            fix="complete or re-download the release (nothing was written)",
        )
    return plan


# -- downloading ------------------------------------------------------------------------------
def _open_url(url: str) -> BinaryIO:
    return urllib.request.urlopen(url, timeout=300)  # noqa: S310 (fixed https addresses)


def download_release(into: Path, opener: Callable[[str], BinaryIO] | None = None) -> Path:
    """Fetch the five zips into ``into/jointtuner/`` (zips already there are kept); returns that folder."""
    opener = opener or _open_url
    target = Path(into).expanduser() / RELEASE_SOURCE
    for name, url in archive_urls().items():
        dst = target / name
        if dst.is_file() and zipfile.is_zipfile(dst):
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        partial = dst.with_name(dst.name + ".part")
        try:
            with opener(url) as response, open(partial, "wb") as fh:
                shutil.copyfileobj(response, fh, 1 << 20)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            fix = f"download it by hand to {dst}, then pass --source {RELEASE_SOURCE}={target}"
            raise InputError(f"download failed: {exc}", file=url, fix=fix) from exc
        if not zipfile.is_zipfile(partial):
            partial.unlink()
            raise InputError(
                "the download is not a zip archive (a Git LFS pointer or an error page?)",
                file=url,
                fix=f"download it by hand (or `git lfs pull` in a clone) and pass --source {RELEASE_SOURCE}=PATH",
            )
        partial.replace(dst)
    return target
