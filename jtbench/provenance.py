"""Environment stamp for every result: what ran, where, with which weights and manifest.

Numbers from a benchmark are only comparable when their environment is known (VBench users
chase 1.5-point gaps between papers without it), so each scoring run records jtbench, torch,
CUDA and back-end package versions, the git commit, the device and dtypes, the manifest digest
and a digest per weight file. Hashing multi-GB checkpoints on every run would cost seconds per
GB, so file digests are cached by (path, size, mtime).
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from jtbench import __version__
from jtbench.io.atomic import write_text
from jtbench.paths import REPO_ROOT, cache_dir

#: Distributions whose versions change the numbers (decoders, model code, tokenisers).
PACKAGES = (
    "torch",
    "torchvision",
    "numpy",
    "av",
    "pillow",
    "open_clip_torch",
    "openai-clip",
    "transformers",
    "timm",
    "pyiqa",
    "vbench",
    "opencv-python-headless",
    "decord",
)


@lru_cache(maxsize=8)
def _package_versions(names: tuple[str, ...]) -> tuple[tuple[str, str | None], ...]:
    out = []
    for name in names:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, None))
    return tuple(out)


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution, None when absent (looked up once per process)."""
    return dict(_package_versions(tuple(names)))


@lru_cache(maxsize=4)
def git_commit(root: Path = REPO_ROOT) -> str | None:
    """The checkout's commit (``+dirty`` when tracked files differ), or None outside a git checkout.

    Looked up once per process: scoring workers stamp every shard, and the code they run does
    not change under them.
    """
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def device_description(device: str) -> dict[str, Any]:
    """Device name, CUDA/cuDNN versions and driver-visible GPU model."""
    import torch

    info: dict[str, Any] = {
        "device": device,
        "torch_cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "cpu": platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        index = torch.device(device).index or 0
        info["gpu"] = torch.cuda.get_device_name(index)
        info["gpu_capability"] = ".".join(map(str, torch.cuda.get_device_capability(index)))
    return info


# -- weight digests ---------------------------------------------------------------------------
def _digest_cache_path() -> Path:
    return cache_dir() / "digests.json"


def _load_digest_cache() -> dict[str, str]:
    try:
        return json.loads(_digest_cache_path().read_text())
    except (OSError, ValueError):
        return {}


def _save_digest_cache(cache: Mapping[str, str]) -> None:
    try:
        write_text(_digest_cache_path(), json.dumps(dict(cache), indent=0, sort_keys=True))
    except OSError:
        pass  # a read-only cache only costs re-hashing next time


def file_digest(path: Path, cache: dict[str, str] | None = None) -> str:
    """SHA-256 of a file, or of a folder's files (relative names and contents, sorted)."""
    path = Path(path)
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    if cache is not None and key in cache:
        return cache[key]
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            h.update(file.relative_to(path).as_posix().encode() + b"\0")
        with open(file, "rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
    digest = h.hexdigest()
    if cache is not None:
        cache[key] = digest
    return digest


def weights_digests(files: Mapping[str, Mapping[str, Path]]) -> dict[str, str]:
    """``{weight_id: sha256}`` for the files each loaded backbone came from."""
    cache = _load_digest_cache()
    before = dict(cache)
    out = {wid: file_digest(path, cache) for per_backbone in files.values() for wid, path in per_backbone.items()}
    if cache != before:
        _save_digest_cache(cache)
    return dict(sorted(out.items()))


def combined_digest(digests: Mapping[str, str]) -> str:
    """One short digest over several named digests (the ``weights_digest`` column)."""
    text = json.dumps(dict(sorted(digests.items())), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def environment_stamp(
    *,
    device: str,
    dtypes: Mapping[str, str] | None = None,
    backbones: str | None = None,
    manifest_digest: str | None = None,
    weights: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything a reader needs to judge whether two result tables are comparable."""
    stamp: dict[str, Any] = {
        "jtbench_version": __version__,
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        **device_description(device),
        "dtypes": dict(dtypes or {}),
        "backbones": backbones,
        "manifest_digest": manifest_digest,
        "weights": dict(weights or {}),
        "weights_digest": combined_digest(weights) if weights else None,
        "created_at": utc_now(),
    }
    if extra:
        stamp.update(extra)
    return stamp
