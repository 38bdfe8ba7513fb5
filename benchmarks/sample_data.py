"""Where the benchmark scripts find the real sample media: ``../shared/data`` or ``JTBENCH_SHARED_DATA``.

Only the development scripts and tests read it; the product (``make demo`` included) never does.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """The real sample media beside a checkout (``JTBENCH_SHARED_DATA`` moves it)."""
    path = Path(os.environ.get("JTBENCH_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not path.is_dir():
        raise SystemExit(f"sample media not found at {path}: set JTBENCH_SHARED_DATA to the shared data folder")
    return path
