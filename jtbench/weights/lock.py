"""The weights lock file: the SHA-256 of every weight as jtbench first downloaded it.

Most checkpoints have no published checksum. Trust on first use gives them one: the first
download records its digest in ``<cache>/weights/weights.lock.json`` (with the address it came
from), and every later download, ``jtbench weights verify`` and every load compare against it, so
a silently replaced or truncated file is caught. A folder weight (a Hugging Face snapshot) is
recorded as one digest over its files' names and digests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from jtbench.errors import WeightsError
from jtbench.io.digest import file_sha256

LOCK_NAME = "weights.lock.json"


def weight_digest(path: Path) -> str:
    """SHA-256 of a file, or of a folder's sorted ``relative-path  sha256`` lines (hidden files skipped)."""
    path = Path(path)
    if path.is_file():
        return file_sha256(path)
    lines = [
        f"{p.relative_to(path).as_posix()}  {file_sha256(p)}\n"
        for p in sorted(path.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
    ]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


class WeightLock:
    """Read and update ``weights.lock.json`` in a weights cache folder."""

    def __init__(self, root: Path) -> None:
        self.path = Path(root) / LOCK_NAME

    def entries(self) -> dict[str, dict[str, Any]]:
        if not self.path.is_file():
            return {}
        try:
            return json.loads(self.path.read_text())["weights"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise WeightsError(
                f"the weights lock file is unreadable: {exc}",
                file=self.path,
                fix="restore it from a backup, or delete it to record the next downloads afresh",
            ) from exc

    def expected(self, weight_id: str) -> str | None:
        entry = self.entries().get(weight_id)
        return entry["sha256"] if entry else None

    def record(self, weight_id: str, digest: str, source: str) -> None:
        """Record a first download; a second one must match (raises WeightsError naming both digests)."""
        entries = self.entries()
        if weight_id in entries:
            self.check(weight_id, digest, source)
            return
        entries[weight_id] = {
            "sha256": digest,
            "source": source,
            "recorded_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"version": 1, "weights": dict(sorted(entries.items()))}, indent=1))
        tmp.replace(self.path)

    def check(self, weight_id: str, digest: str, what: str) -> None:
        expected = self.expected(weight_id)
        if expected is not None and expected != digest:
            raise WeightsError(
                f"{weight_id} from {what} has sha256 {digest}, but its first download recorded {expected}",
                file=self.path,
                fix=f"the file changed since it was first fetched: find out why; to accept the new one, delete the "
                f"{weight_id!r} entry from the lock file",
            )
