"""The offline demo slice: procedural subject photos and motion clips, prepared like real sources.

``data_manifests/demo.yaml`` names the benchmark slots the demo fills (subjects, motions,
backgrounds) and a drawing recipe for each; :mod:`jtbench.benchmark.demo_media` draws them. The
drawings are written as a raw source (JPEG photos, 24 FPS clips) into ``<out>/.demo-sources`` and
then go through the same preparation as the real sources (fps stride, first 16 frames, 8 FPS,
lock file), so the demo also exercises :mod:`jtbench.benchmark.prepare`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from jtbench.benchmark.combinations import Benchmark, Combination
from jtbench.benchmark.manifest import load_manifest
from jtbench.benchmark.prepare import _execute
from jtbench.errors import ManifestError
from jtbench.paths import manifests_dir

SOURCES_DIR = ".demo-sources"


def demo_manifest() -> dict[str, Any]:
    path = manifests_dir() / "demo.yaml"
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ManifestError(
            f"cannot read the demo manifest: {exc}", file=path, fix="restore data_manifests/demo.yaml"
        ) from exc
    for key in ("subjects", "motions", "backgrounds", "clip"):
        if key not in (data or {}):
            raise ManifestError(f"the demo manifest has no {key!r} section", file=path, fix="restore it from git")
    return data


def demo_backgrounds() -> list[str]:
    return list(demo_manifest()["backgrounds"])


def demo_combinations(bench: Benchmark) -> list[Combination]:
    """The combinations the demo runs: the manifest's list, else every compatible pair it draws."""
    demo = demo_manifest()
    drawn = bench.combinations(subject=list(demo["subjects"]), motion=list(demo["motions"]))
    wanted = demo.get("combinations")
    if wanted is None:
        return drawn
    by_id = {c.id: c for c in drawn}
    unknown = [c for c in wanted if c not in by_id]
    if unknown:
        raise ManifestError(
            f"demo combinations {', '.join(unknown)} are not compatible pairs of the drawn subjects and motions",
            file=manifests_dir() / "demo.yaml",
            fix=f"choose from {', '.join(by_id)}",
        )
    return [by_id[c] for c in wanted]


def _draw_sources(demo: dict[str, Any], root: Path) -> list[tuple[str, Path, Path, str]]:
    """Write the drawings as a raw source under ``root``; return the preparation plan for them."""
    from PIL import Image

    from jtbench.benchmark.demo_media import motion_clip, subject_photo
    from jtbench.execution.store import ArtifactStore
    from jtbench.io.video import write_video

    plan: list[tuple[str, Path, Path, str]] = []
    for sid, recipe in demo["subjects"].items():
        for view in range(int(demo.get("photos", 3))):
            src = root / "subjects" / sid / f"{view:02d}.jpg"
            if not src.is_file():
                image = Image.fromarray(subject_photo(recipe, view, int(demo.get("photo_size", 256))))
                src.parent.mkdir(parents=True, exist_ok=True)
                ArtifactStore.write_atomic(src, lambda tmp, im=image: im.save(tmp, format="JPEG", quality=95))
            plan.append(("image", src, Path("subjects") / sid / f"{view:02d}.jpg", ""))
    clip = demo["clip"]
    for mid, recipe in demo["motions"].items():
        frames = None
        for i in range(int(recipe.get("clips", 1))):
            src = root / "motions" / mid / f"clip_{i:02d}.mp4"
            if not src.is_file():
                if frames is None:
                    frames = motion_clip(recipe, int(clip["frames"]), int(clip["height"]), int(clip["width"]))
                write_video(frames[:, :, ::-1] if i % 2 else frames, src, fps=float(clip["fps"]))
            plan.append(("video", src, Path("motions") / mid / f"{i:02d}.mp4", ""))
            # The 49-frame set (motions_49f/, the DiT bases' clip length), drawn at 8 fps directly.
            long_src = root / "motions_49f" / mid / f"clip_{i:02d}.mp4"
            if not long_src.is_file():
                long = motion_clip(recipe, LONG_FRAMES, int(clip["height"]), int(clip["width"]))
                write_video(long[:, :, ::-1] if i % 2 else long, long_src, fps=8.0)
            plan.append(("copy", _LocalFile(long_src), Path("motions_49f") / mid / f"{i:02d}.mp4", ""))
    return plan


#: Frames of the demo's motions_49f/ clips (the JointTuner release's 49-frame set).
LONG_FRAMES = 49


class _LocalFile:
    """A drawn file copied as it is into the prepared layout (the ``copy`` plan kind)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __str__(self) -> str:
        return str(self.path)

    def copy_to(self, dst: Path) -> None:
        import shutil

        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.path, dst)


def prepare_demo(out: Path) -> Path:
    """Draw and prepare the demo slice into ``out`` (idempotent: unchanged files are kept). Returns ``out``."""
    out = Path(out)
    demo = demo_manifest()
    plan = _draw_sources(demo, out / SOURCES_DIR)
    _execute(out, [(kind, src, out / dst, stride) for kind, src, dst, stride in plan], load_manifest(),
             {"demo": f"procedural (data_manifests/demo.yaml version {demo.get('version')})"})  # fmt: skip
    return out
