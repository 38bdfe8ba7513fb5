"""Build the prepared layout of SPEC §2: from the JointTuner release, the original sources, or the drawn demo.

The recommended source is the JointTuner release (``--source jointtuner=PATH``,
:mod:`jtbench.benchmark.release`): the paper's own files, copied byte for byte, including the
49-frame set ``motions_49f/``. The fallback rebuilds the references from the original data sets:
``subjects/<subject>/00.jpg, 01.jpg …`` (the source images in sorted order, renamed; JPEG bytes
copied unchanged) and ``motions/<motion>/00.mp4 …`` (every ``stride``-th frame, then the first
16, written at 8 FPS, original resolution) — never byte-identical to the paper's files. Either
way ``jtbench-data.lock.json`` records every file's SHA-256 and source
(:mod:`jtbench.benchmark.prepared`); :func:`verify` re-checks it.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jtbench.benchmark.manifest import SOURCES, Manifest, Motion, Subject, load_manifest
from jtbench.benchmark.prepared import LOCK_NAME, RELEASE_LABEL, file_source, lock_reference_set, read_lock
from jtbench.benchmark.release import RELEASE_SOURCE, ReleaseFile, expected_layout, release_plan
from jtbench.errors import InputError
from jtbench.io.digest import file_sha256
from jtbench.io.video import read_image, read_video, stride_round, write_video

CLIP_FRAMES = 16
CLIP_FPS = 8.0
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass
class PrepareReport:
    root: Path
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already prepared, unchanged
    removed: list[str] = field(default_factory=list)  # left from an earlier preparation of the same folder
    reference_set: str | None = None  # jointtuner-release, rebuilt, demo (+-joined when mixed)


# -- locating sources -------------------------------------------------------------------------
def _first_dir(candidates: Iterable[Path]) -> Path | None:
    return next((p for p in candidates if p.is_dir()), None)


def _subject_source_dir(subject: Subject, root: Path) -> Path | None:
    """The folder holding a subject's photos, in the source's published layout (or flattened)."""
    concept = subject.concept
    candidates = {
        "dreambooth": [root / "dataset" / concept, root / concept],
        "customconcept101": [root / concept, root / "benchmark_dataset" / concept],
        "motiondirector": [root / "test_data" / concept, root / concept],
    }.get(subject.source, [root / concept])
    return _first_dir(candidates)


def _davis_frames_dir(clip: str, root: Path) -> Path | None:
    return _first_dir([root / "DAVIS" / "JPEGImages" / "480p" / clip, root / "JPEGImages" / "480p" / clip, root / clip])


def _davis_first_mask(frames_dir: Path) -> Path | None:
    """DAVIS's annotation of a sequence's first frame (``Annotations/480p/<clip>/00000.png``), if present:
    the det profile's optional first-frame mask (DeT's ``masks/<name>/00000.png``)."""
    if len(frames_dir.parents) < 3:
        return None
    path = frames_dir.parents[2] / "Annotations" / "480p" / frames_dir.name / "00000.png"  # beside JPEGImages/
    return path if path.is_file() else None


def _ucf_clip_file(clip: str, root: Path) -> Path | None:
    action = clip.split("_")[1] if clip.count("_") >= 3 else ""
    for path in (root / "UCF-101" / action / f"{clip}.avi", root / action / f"{clip}.avi", root / f"{clip}.avi"):
        if path.is_file():
            return path
    return next(iter(root.rglob(f"{clip}.avi")), None) if root.is_dir() else None


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


# -- writing ----------------------------------------------------------------------------------
def _write_image(src: Path, dst: Path) -> None:
    """JPEG sources are copied byte for byte; other formats are converted to JPEG (quality 95)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp")
    if src.suffix.lower() in (".jpg", ".jpeg"):
        tmp.write_bytes(src.read_bytes())
    else:
        from PIL import Image

        Image.fromarray(read_image(src).numpy()).save(tmp, format="JPEG", quality=95)
    tmp.replace(dst)


def _clip_frames(frames: np.ndarray, stride: int) -> np.ndarray:
    kept = frames[::stride][:CLIP_FRAMES]
    return kept


def _write_clip_from_video(src: Path, dst: Path, stride: int | None) -> None:
    clip = read_video(src, min_frames=2)
    step = stride if stride is not None else stride_round(clip.fps)
    kept = _clip_frames(clip.frames.numpy(), step)
    if len(kept) < CLIP_FRAMES:
        raise InputError(
            f"only {len(kept)} frames after keeping every {step}-th; {CLIP_FRAMES} needed",
            file=src,
            fix="use a longer source clip",
        )
    write_video(kept, dst, fps=CLIP_FPS)


def _write_clip_from_frames(folder: Path, dst: Path, stride: int) -> None:
    files = _images_in(folder)
    kept_files = files[::stride][:CLIP_FRAMES]
    if len(kept_files) < CLIP_FRAMES:
        raise InputError(
            f"only {len(kept_files)} frames after keeping every {stride}-th; {CLIP_FRAMES} needed",
            file=folder,
            fix="check that the DAVIS sequence is complete",
        )
    frames = np.stack([read_image(f).numpy() for f in kept_files])
    write_video(frames, dst, fps=CLIP_FPS)


# -- the benchmark from official sources ------------------------------------------------------
def _missing_message(missing: list[str], manifest: Manifest) -> str:
    lines = ["these sources are missing:"] + [f"  - {m}" for m in missing]
    lines.append(
        f"recommended: the paper's own files, --source {RELEASE_SOURCE}=PATH (or --download DIR to fetch them):"
    )
    lines += ["  " + line for line in expected_layout(manifest).splitlines()[:3]]
    lines.append("fallback: rebuild from the original data sets, --source NAME=PATH (published layouts accepted):")
    for name, src in manifest.sources.items():
        lines.append(f"  {name}: {src.get('download', src.get('url'))} → layout {src.get('layout')}")
    return "\n".join(lines)


def prepare(
    out: Path,
    sources: dict[str, Path],
    *,
    subjects: Iterable[str] | None = None,
    motions: Iterable[str] | None = None,
    manifest: Manifest | None = None,
) -> PrepareReport:
    """Prepare the benchmark (or a subset) from the JointTuner release or local copies of the original sources."""
    manifest = manifest or load_manifest()
    out = Path(out)
    wanted_subjects = list(subjects) if subjects is not None else list(manifest.subjects)
    wanted_motions = list(motions) if motions is not None else list(manifest.motions)
    _check_names(sources, wanted_subjects, wanted_motions, manifest)
    if RELEASE_SOURCE in sources:
        plan = release_plan(sources[RELEASE_SOURCE], out, manifest, wanted_subjects, wanted_motions)
        labels = {dst.relative_to(out).as_posix(): RELEASE_LABEL for _, _, dst, _ in plan}
        return _execute(out, plan, manifest, {RELEASE_SOURCE: str(sources[RELEASE_SOURCE])}, labels)
    labels = {}
    plan: list[tuple[str, Path, Path, str]] = []  # (kind, src, dst, stride)
    missing: list[str] = []
    for sid in wanted_subjects:
        subject = manifest.subjects[sid]
        root = sources.get(subject.source)
        folder = _subject_source_dir(subject, root) if root else None
        if folder is None or not _images_in(folder):
            missing.append(f"subject {sid}: {subject.source} concept {subject.concept!r}")
            continue
        for i, img in enumerate(_images_in(folder)):
            plan.append(("image", img, out / "subjects" / sid / f"{i:02d}.jpg", ""))
            labels[f"subjects/{sid}/{i:02d}.jpg"] = subject.source
    for mid in wanted_motions:
        motion: Motion = manifest.motions[mid]
        root = sources.get(motion.source)
        for i, clip in enumerate(motion.clips):
            locate = _davis_frames_dir if motion.source == "davis2016" else _ucf_clip_file
            src = locate(clip, root) if root else None
            if src is None:
                missing.append(f"motion {mid}: {motion.source} clip {clip!r}")
                continue
            kind = "frames" if motion.source == "davis2016" else "video"
            plan.append((kind, src, out / "motions" / mid / f"{i:02d}.mp4", str(motion.stride)))
            labels[f"motions/{mid}/{i:02d}.mp4"] = motion.source
            mask = _davis_first_mask(src) if kind == "frames" else None
            if mask is not None:  # the clip's frame 0 is the sequence's frame 0 (stride from the start)
                plan.append(("file", mask, out / "motions" / mid / f"{i:02d}.mask.png", ""))
                labels[f"motions/{mid}/{i:02d}.mask.png"] = motion.source
    if missing:
        raise InputError(_missing_message(missing, manifest), fix="see `jtbench data prepare --help`")
    return _execute(out, plan, manifest, {k: str(v) for k, v in sources.items()}, labels)


def _check_names(sources: dict[str, Path], subjects: list[str], motions: list[str], manifest: Manifest) -> None:
    """Unknown --source, --subject or --motion names fail before anything is read."""
    problems = [f"unknown source {n!r}" for n in sources if n not in (RELEASE_SOURCE, *SOURCES)]
    problems += [f"unknown subject {s!r}" for s in subjects if s not in manifest.subjects]
    problems += [f"unknown motion {m!r}" for m in motions if m not in manifest.motions]
    if RELEASE_SOURCE in sources and len(sources) > 1:
        others = ", ".join(sorted(set(sources) - {RELEASE_SOURCE}))
        problems.append(f"--source {RELEASE_SOURCE} holds every subject and motion; it cannot be mixed with {others}")
    if problems:
        raise InputError(
            "; ".join(problems),
            fix=f"sources: {RELEASE_SOURCE} (recommended) or {', '.join(SOURCES)}; see `jtbench list subjects|motions`",
        )


def _execute(
    out: Path,
    plan: list[tuple[str, Path | ReleaseFile, Path, str]],
    manifest: Manifest,
    sources: dict,
    labels: dict[str, str] | None = None,
) -> PrepareReport:
    """Write what changed, drop what an earlier preparation of the same folders left, write the lock.

    ``labels`` gives each file's source for the lock (default: the one source's name, e.g. demo).
    """
    report = PrepareReport(out)
    lock = read_lock(out) or {}
    previous = lock.get("files", {})
    origins = lock.get("origins", {})
    default = next(iter(sources)) if len(sources) == 1 else "unknown"
    sources_of = {rel: file_source(lock, rel) for rel in previous}
    planned = {dst.relative_to(out).as_posix() for _, _, dst, _ in plan}
    for kind, src, dst, stride in plan:
        rel = dst.relative_to(out).as_posix()
        origin = f"{kind}:{src}:{stride}"
        sources_of[rel] = (labels or {}).get(rel, default)
        if dst.is_file() and rel in previous and origins.get(rel) == origin and file_sha256(dst) == previous[rel]:
            report.skipped.append(rel)
            continue
        if kind == "copy":
            src.copy_to(dst)
        elif kind == "image":
            _write_image(src, dst)
        elif kind == "file":  # byte for byte (DAVIS first-frame masks)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
        elif kind == "frames":
            _write_clip_from_frames(src, dst, int(stride))
        else:
            _write_clip_from_video(src, dst, int(stride) if stride else None)
        origins[rel] = origin
        report.written.append(rel)
    folders = {rel.rsplit("/", 1)[0] for rel in planned}
    for rel in [r for r in previous if r.rsplit("/", 1)[0] in folders and r not in planned]:
        (out / rel).unlink(missing_ok=True)  # e.g. a rebuilt clip the release does not have
        for table in (origins, sources_of):
            table.pop(rel, None)
        report.removed.append(rel)
    kept = {rel: digest for rel, digest in previous.items() if rel not in report.removed}
    files = {**kept, **{rel: file_sha256(out / rel) for rel in sorted(planned)}}
    report.reference_set = _write_lock(out, files, origins, sources_of, manifest, sources)
    return report


def _write_lock(
    out: Path, files: dict, origins: dict, sources_of: dict, manifest: Manifest, sources: dict
) -> str | None:
    """Write the lock file; returns the reference set(s) the folder now holds."""
    from jtbench import __version__

    payload = {
        "jtbench_version": __version__,
        "manifest_digest": manifest.digest,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "sources": sources,
        "files": dict(sorted(files.items())),
        "file_sources": {rel: sources_of.get(rel) for rel in sorted(files)},
        "origins": dict(sorted(origins.items())),
    }
    payload["reference_set"] = lock_reference_set(payload)
    tmp = out / f".{LOCK_NAME}.tmp"
    tmp.write_text(json.dumps(payload, indent=1))
    tmp.replace(out / LOCK_NAME)
    return payload["reference_set"]


def verify(out: Path) -> list[str]:
    """Problems with a prepared folder (missing or altered files); empty when all is well."""
    out = Path(out)
    lock = read_lock(out)
    if lock is None:
        return [f"{out / LOCK_NAME}: no lock file — run `jtbench data prepare` first"]
    problems = []
    for rel, digest in lock["files"].items():
        path = out / rel
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif file_sha256(path) != digest:
            problems.append(f"{path}: altered (sha256 differs from the lock file)")
    return problems


# -- downloading the official archives (only where the network allows) ------------------------
def download_sources(names: Iterable[str], into: Path, manifest: Manifest | None = None) -> dict[str, Path]:
    """Fetch and unpack the named sources' published archives into ``into/<name>/``.

    Zip archives are unpacked here; UCF101 is a RAR archive, which needs ``unrar`` by hand.
    """
    import urllib.request
    import zipfile

    manifest = manifest or load_manifest()
    roots: dict[str, Path] = {}
    for name in names:
        src = manifest.sources[name]
        url = src.get("download", "")
        target = Path(into) / name
        if (target / ".complete").is_file():
            roots[name] = target
            continue
        if not url.endswith(".zip"):
            raise InputError(
                f"{name} is published as {url.rsplit('.', 1)[-1]!r}, which jtbench does not unpack",
                file=target,
                fix=f"download {url}, unpack it into {target} and pass --source {name}={target}",
            )
        target.mkdir(parents=True, exist_ok=True)
        archive = target / "archive.zip.part"
        try:
            with urllib.request.urlopen(url, timeout=120) as response, open(archive, "wb") as fh:
                shutil.copyfileobj(response, fh)
        except OSError as exc:
            raise InputError(f"download failed: {exc}", file=url, fix=f"download it by hand into {target}") from exc
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(target)
        archive.unlink()
        # GitHub archives unpack into one top folder (e.g. dreambooth-main/): use it as the root.
        children = [p for p in target.iterdir() if p.is_dir()]
        root = children[0] if len(children) == 1 and not _images_in(target) else target
        (target / ".complete").write_text(str(root))
        roots[name] = root
    return roots
