"""Where things live: the manifests shipped with the code and jtbench's caches."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_ROOT.parent


def manifests_dir() -> Path:
    """``data_manifests/`` (override with ``JTBENCH_MANIFESTS`` for a custom benchmark)."""
    return Path(os.environ.get("JTBENCH_MANIFESTS", REPO_ROOT / "data_manifests"))


def cache_dir() -> Path:
    """jtbench's own cache (weights, tiny backbones): ``JTBENCH_CACHE`` or ``~/.cache/jtbench``."""
    return Path(os.environ.get("JTBENCH_CACHE", Path.home() / ".cache" / "jtbench"))
