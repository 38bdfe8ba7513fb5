"""Where things live: the manifests shipped with the code, the shared sample data, caches."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_ROOT.parent


def manifests_dir() -> Path:
    """``data_manifests/`` (override with ``JTBENCH_MANIFESTS`` for a custom benchmark)."""
    return Path(os.environ.get("JTBENCH_MANIFESTS", REPO_ROOT / "data_manifests"))


def shared_data_dir() -> Path:
    """The real sample media (``../shared/data`` beside a checkout, or ``JTBENCH_SHARED_DATA``)."""
    return Path(os.environ.get("JTBENCH_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def cache_dir() -> Path:
    """jtbench's own cache (weights, tiny backbones): ``JTBENCH_CACHE`` or ``~/.cache/jtbench``."""
    return Path(os.environ.get("JTBENCH_CACHE", Path.home() / ".cache" / "jtbench"))
