"""A synthetic JointTuner release (small frames) in the layouts jtbench accepts, for fast tests.

The real zips cannot be fetched here; these follow what the repository's paths imply:
``subject/<subject>/NN.jpg`` in subject-1/2/3.zip, ``motion_16f/<motion>/NN.mp4`` in
motion_16f.zip and ``motion_49f/<motion>/NN.mp4`` in motion_49f.zip.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from jtbench.benchmark import load_manifest
from jtbench.benchmark.release import ARCHIVES
from jtbench.io.video import write_video

FIVE_CLIPS = ("person_playing_flute",)  # motions published with five clips here (the others with one)


@lru_cache(maxsize=8)
def _clip_bytes(motion: str, index: int, frames: int, size: int) -> bytes:
    """A moving gradient, distinct per (motion, index, length): real h264 bytes."""
    seed = sum(map(ord, motion)) + 31 * index + frames
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (size + frames, size + frames, 3), dtype=np.uint8)
    video = np.stack([base[t : t + size, t : t + size] for t in range(frames)])
    with tempfile.TemporaryDirectory() as tmp:
        return write_video(video, Path(tmp) / "clip.mp4", fps=8).read_bytes()


def _jpeg_bytes(subject: str, index: int) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(sum(map(ord, subject)) + index)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def release_members(size: int = 16) -> dict[str, dict[str, bytes]]:
    """``{archive name: {member path: bytes}}`` — every subject and motion of the manifest."""
    manifest = load_manifest()
    subjects = list(manifest.subjects)
    archives: dict[str, dict[str, bytes]] = {name: {} for name in ARCHIVES}
    for i, sid in enumerate(subjects):
        zip_name = f"subject/subject-{i // 5 + 1}.zip"
        for k in range(3):
            archives[zip_name][f"subject/{sid}/{k:02d}.jpg"] = _jpeg_bytes(sid, k)
    for mid in manifest.motions:
        for frames, folder in ((16, "motion_16f"), (49, "motion_49f")):
            for k in range(5 if mid in FIVE_CLIPS else 1):
                archives[f"{folder}.zip"][f"{folder}/{mid}/{k:02d}.mp4"] = _clip_bytes(mid, k, frames, size)
    return archives


def write_zip(path: Path, members: dict[str, bytes], top: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(top + name, data)
        zf.writestr("__MACOSX/._junk", b"resource fork")
    return path


def make_release(root: Path, layout: str = "flat", size: int = 16, members: dict | None = None) -> Path:
    """Write the release under ``root`` and return the PATH to pass as ``--source jointtuner=PATH``.

    layout: ``flat`` (the five zips in one folder), ``clone`` (``datasets/JointTuner/…`` of a
    repository clone), ``extracted`` (the three folders), ``top`` (each zip adds a top folder),
    ``bare`` (zips without the subject/ or motion_*/ folder inside).
    """
    members = members if members is not None else release_members(size)
    if layout == "extracted":
        for files in members.values():
            for name, data in files.items():
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                (root / name).write_bytes(data)
        return root
    for archive, files in members.items():
        if layout == "bare":
            files = {name.split("/", 1)[1]: data for name, data in files.items()}
        top = Path(archive).stem + "/" if layout == "top" else ""
        where = root / "datasets" / "JointTuner" / archive if layout == "clone" else root / Path(archive).name
        write_zip(where, files, top)
    if layout == "clone":
        (root / "README.md").write_text("JointTuner")
    return root
