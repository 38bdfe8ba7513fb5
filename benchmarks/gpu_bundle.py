"""``make gpu-bundle``: the wheels an offline GPU node lacks, downloaded here, for its Python.

The node (KINDS.md: Python 3.12, torch 2.11, transformers 5.17, numpy 2.5 and ~190 more, no
registry) lacks what :data:`BUNDLE` names. Each is fetched ``--no-deps`` for the node's Python and
platform (``--python-version``, manylinux x86-64), an sdist is built into a wheel here (it must come
out pure Python, or it would not fit the node's interpreter), and a manifest (file, sha256, size)
is written beside them. What travels to the node is the working tree plus this folder, 64 MiB in
all; the build fails when tree + bundle exceed ``--limit-mib`` (60: a margin under those 64 for
the tree to grow and for anything carried beside it).

Only what jtbench imports, and what those modules import when imported, is here: pyiqa 0.1.16 for
one declares bitsandbytes (43 MB), datasets, facexlib, tensorboard, ruff, pre-commit and yapf,
none of which its MUSIQ module imports; decord (13.6 MB) is left out (see ``jtbench/models/amt.py``
and ``benchmarks/scoring_structures.py`` for how the code runs without it). ``gpu_offline.py``
checks every import on the node before measuring.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MIB = 2**20
MANIFEST = "MANIFEST.json"
#: manylinux tags pip must be told one by one (it matches ``manylinux_2_N`` exactly).
PLATFORMS = (
    *(f"manylinux_2_{n}_x86_64" for n in range(39, 16, -1)),
    "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64",
)


@dataclass(frozen=True)
class Wheel:
    """One distribution of the bundle: pinned to the version the test suite runs."""

    name: str
    version: str
    why: str  # which jtbench import needs it
    sdist: bool = False  # published as an sdist only: built into a wheel here
    only_if: str = ""  # installed on the node only where this check fails (``gpu_offline.NEEDS``)


BUNDLE: tuple[Wheel, ...] = (
    Wheel("diffusers", "0.42.1", "the four methods' UNet/VAE/schedulers (jtbench/methods)"),
    Wheel("open_clip_torch", "3.3.0", "Aesth-Q's ViT-L/14 (jtbench/models/clip.py)"),
    Wheel("ftfy", "6.3.1", "imported by open_clip.tokenizer and clip.simple_tokenizer"),
    Wheel("wcwidth", "0.9.4", "imported by ftfy"),
    Wheel("openai-clip", "1.0.1", "CLIP-T/CLIP-I ViT-B/32 and PickScore's BPE (jtbench/models)", sdist=True),
    Wheel("pyiqa", "0.1.16", "Img-Q's MUSIQ (pyiqa.archs.musiq_arch; its declared deps are not imported)"),
    Wheel("vbench", "0.1.5", "Mot-Smth's AMT-S, shipped only inside vbench (jtbench/models/amt.py)"),
    Wheel("av", "18.1.0", "every decode and encode (jtbench/io/video.py)"),
    Wheel("lion-pytorch", "0.2.5", "CustomTTT's optimiser"),
    Wheel("easydict", "1.14", "declared by jtbench[metrics] (VBench's RAFT arguments)"),
    Wheel("omegaconf", "2.4.0", "declared by jtbench[metrics] (VBench's AMT config; antlr4 is vendored since 2.4)"),
    Wheel("setuptools", "80.10.2", "openai-clip imports pkg_resources (gone from setuptools 81); builds jtbench",
          only_if="setuptools"),
)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_bytes(root: Path = REPO) -> int:
    """Bytes of what travels with the clone: tracked plus untracked-not-ignored files."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                                capture_output=True, check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        listed = [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".git" not in p.parts]
    return sum((root / name).stat().st_size for name in listed if name and (root / name).is_file())


def pip(*args: str) -> None:
    """The current interpreter's pip (it reaches the registries here); the echo leaves out the
    platform tags, which are :data:`PLATFORMS`."""
    command = [sys.executable, "-m", "pip", *args]
    shown = [a for i, a in enumerate(command) if a != "--platform" and (i == 0 or command[i - 1] != "--platform")]
    print("  $", " ".join(shown), flush=True)
    subprocess.run(command, check=True)


def download(wheels: list[Wheel], python_version: str, folder: Path) -> None:
    platform_args = [arg for tag in PLATFORMS for arg in ("--platform", tag)]
    pip("download", "--quiet", "--no-deps", "--only-binary=:all:", "--python-version", python_version,
        "--implementation", "cp", *platform_args, "-d", str(folder), *(f"{w.name}=={w.version}" for w in wheels))


def build_sdist(wheel: Wheel, folder: Path) -> None:
    """``pip wheel`` the sdist; refuse a wheel that is not pure Python (it would not fit the node)."""
    with tempfile.TemporaryDirectory() as scratch:
        pip("wheel", "--quiet", "--no-deps", "--no-binary", wheel.name, "-w", scratch, f"{wheel.name}=={wheel.version}")
        built = list(Path(scratch).glob("*.whl"))
        if len(built) != 1 or not built[0].name.endswith("-py3-none-any.whl"):
            raise SystemExit(f"gpu-bundle: {wheel.name} built {[p.name for p in built]}, not one pure-Python wheel; "
                             "it cannot be built here for the node's interpreter")
        shutil.move(str(built[0]), folder / built[0].name)


def write_manifest(folder: Path, python_version: str, limit_mib: float) -> dict:
    files = sorted(p for p in folder.iterdir() if p.suffix == ".whl")
    entries = [{"file": p.name, "sha256": sha256(p), "size": p.stat().st_size} for p in files]
    bundle, tree = sum(e["size"] for e in entries), tree_bytes()
    manifest = {
        "python_version": python_version, "platforms": list(PLATFORMS),
        "wheels": {w.name: {"version": w.version, "why": w.why, "only_if": w.only_if} for w in BUNDLE},
        "files": entries, "bundle_bytes": bundle, "tree_bytes": tree, "limit_mib": limit_mib,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def report(manifest: dict) -> str:
    lines = [f"{e['size'] / MIB:8.2f} MiB  {e['file']}" for e in sorted(manifest["files"], key=lambda e: -e["size"])]
    bundle, tree = manifest["bundle_bytes"] / MIB, manifest["tree_bytes"] / MIB
    lines += [f"{bundle:8.2f} MiB  bundle ({len(manifest['files'])} wheels, Python {manifest['python_version']})",
              f"{tree:8.2f} MiB  tree (tracked + untracked-not-ignored files)",
              f"{bundle + tree:8.2f} MiB  tree + bundle (limit {manifest['limit_mib']:g} MiB)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python-version", default="3.12", help="the node's Python (default 3.12)")
    parser.add_argument("--out", type=Path, default=REPO / "gpu-bundle")
    parser.add_argument("--limit-mib", type=float, default=60.0, help="fail when tree + bundle exceed this")
    args = parser.parse_args(argv)
    folder = args.out
    if folder.exists():
        shutil.rmtree(folder)  # one version of each: two would stop the whole install on the node
    folder.mkdir(parents=True)
    print(f"gpu-bundle: {len(BUNDLE)} distributions for Python {args.python_version}, manylinux x86-64 "
          f"-> {folder}", flush=True)
    env_note = os.environ.get("PIP_FIND_LINKS")
    if env_note:
        print(f"  (pip also reads PIP_FIND_LINKS={env_note} here; only the pinned versions are taken)", flush=True)
    download([w for w in BUNDLE if not w.sdist], args.python_version, folder)
    for wheel in BUNDLE:
        if wheel.sdist:
            build_sdist(wheel, folder)
    manifest = write_manifest(folder, args.python_version, args.limit_mib)
    print(report(manifest), flush=True)
    total = (manifest["bundle_bytes"] + manifest["tree_bytes"]) / MIB
    if total > args.limit_mib:
        print(f"gpu-bundle: tree + bundle = {total:.2f} MiB exceeds {args.limit_mib:g} MiB: the trip to the node "
              "takes 64 MiB in all. Drop a wheel from BUNDLE in benchmarks/gpu_bundle.py or files from the tree.",
              file=sys.stderr, flush=True)
        return 1
    print(f"gpu-bundle: wrote {folder / MANIFEST}; copy the clone with {folder.name}/ to the node and run "
          "`make gpu-check OFFLINE=1 OUT=<dir>`", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
