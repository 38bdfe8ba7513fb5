"""The artifact store: atomic outputs, completion records and the output-folder lock.

A job's outputs count as done only when its completion record exists *and* still describes
the files on disk (sizes, and SHA-256 for small files such as videos). Records are written
last, through a temp file and a rename, so a run killed at any instant leaves either a full
record or none: re-running redoes exactly the jobs without one. Failures get their own
record with the error text, so a summary can say what failed and how to retry it.

Layout under the run folder::

    .jtbench/records/<kind>/<key>.json    completion records (the done markers)
    .jtbench/failures/<kind>/<key>.json   the last error of a job that failed
    .jtbench/lock                         held (flock) by the run that owns the folder
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jtbench.errors import JtbenchError
from jtbench.io.atomic import atomic_write, write_text
from jtbench.io.digest import file_sha256

#: Files up to this size are hashed in their record (videos, JSON); bigger ones are checked by size.
HASH_LIMIT = 16 << 20
STATE_DIR = ".jtbench"


class RunLockedError(JtbenchError):
    """Another jtbench process holds the output folder."""


def safe_name(key: str) -> str:
    """A job key as one file name: path separators become ``~`` (keys never contain ``~``)."""
    return key.replace("/", "~")


def describe_outputs(root: Path, outputs: list[Path]) -> dict[str, dict[str, Any]]:
    """What a record remembers about each output: size, and a digest for small files."""
    described: dict[str, dict[str, Any]] = {}
    for path in outputs:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            size = file.stat().st_size
            entry: dict[str, Any] = {"size": size}
            if size <= HASH_LIMIT:
                entry["sha256"] = file_sha256(file)
            described[_relative(root, file)] = entry
    return described


def _relative(root: Path, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path.resolve())


@dataclass
class ArtifactStore:
    """Completion and failure records of one run folder (shared by every worker of the run)."""

    root: Path

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    # -- paths ---------------------------------------------------------------------------------
    @property
    def state(self) -> Path:
        return self.root / STATE_DIR

    def _record_path(self, kind: str, key: str) -> Path:
        return self.state / "records" / kind / f"{safe_name(key)}.json"

    def _failure_path(self, kind: str, key: str) -> Path:
        return self.state / "failures" / kind / f"{safe_name(key)}.json"

    def resolve(self, relative: str) -> Path:
        path = Path(relative)
        return path if path.is_absolute() else self.root / path

    # -- completion records --------------------------------------------------------------------
    def record(self, kind: str, key: str) -> dict[str, Any] | None:
        """The completion record of ``key``, or None (a corrupt record counts as absent)."""
        path = self._record_path(kind, key)
        try:
            return json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def is_complete(self, kind: str, key: str) -> bool:
        """True when the record exists and its outputs are still the files it describes."""
        rec = self.record(kind, key)
        return rec is not None and self.outputs_intact(rec)

    def outputs_intact(self, rec: dict[str, Any]) -> bool:
        for relative, expected in rec.get("outputs", {}).items():
            path = self.resolve(relative)
            if not path.is_file() or path.stat().st_size != expected["size"]:
                return False
            if "sha256" in expected and file_sha256(path) != expected["sha256"]:
                return False
        return True

    def mark_done(
        self, kind: str, key: str, outputs: list[Path] = (), info: dict[str, Any] | None = None, duration_s: float = 0.0
    ) -> dict[str, Any]:
        """Write the completion record (after the outputs exist) and clear any old failure."""
        rec = {
            "key": key,
            "kind": kind,
            "outputs": describe_outputs(self.root, list(outputs)),
            "info": info or {},
            "duration_s": round(float(duration_s), 3),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        }
        write_text(self._record_path(kind, key), json.dumps(rec, indent=1, sort_keys=True))
        self._failure_path(kind, key).unlink(missing_ok=True)
        return rec

    def invalidate(self, kind: str, key: str) -> None:
        self._record_path(kind, key).unlink(missing_ok=True)

    def records(self, kind: str) -> Iterator[dict[str, Any]]:
        """Every completion record of a kind (for step-time estimates and summaries)."""
        folder = self.state / "records" / kind
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            with contextlib.suppress(json.JSONDecodeError, OSError):
                yield json.loads(path.read_text())

    # -- failures ------------------------------------------------------------------------------
    def mark_failed(self, kind: str, key: str, error: str, info: dict[str, Any] | None = None) -> None:
        rec = {
            "key": key,
            "kind": kind,
            "error": error,
            "info": info or {},
            "failed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        write_text(self._failure_path(kind, key), json.dumps(rec, indent=1, sort_keys=True))

    def failure(self, kind: str, key: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._failure_path(kind, key).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    # -- atomic outputs ------------------------------------------------------------------------
    @staticmethod
    def write_atomic(path: Path, write: Callable[[Path], Any]) -> Path:
        """Call ``write(tmp)`` then rename ``tmp`` onto ``path``: no reader ever sees half a file."""
        return atomic_write(path, write, keep_suffix=True)

    @staticmethod
    def write_json(path: Path, obj: Any) -> Path:
        write_text(Path(path), json.dumps(obj, indent=1, sort_keys=True, default=str))
        return Path(path)

    # -- the folder lock -----------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, command: str = "") -> Iterator[None]:
        """Hold the run folder for this process, or refuse at once naming the holder.

        ``flock`` is released by the kernel when the holder dies, SIGKILL included, so a
        crashed run never leaves a stale lock behind. (flock on some network filesystems is
        local to one host; point ``--out`` at a folder only one driver uses.)
        """
        import fcntl

        self.state.mkdir(parents=True, exist_ok=True)
        path = self.state / "lock"
        fh = open(path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise RunLockedError(
                f"another jtbench run is using this output folder ({holder})",
                file=self.root,
                fix="wait for it to finish (re-running afterwards resumes where it stopped), or pass a different --out",
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%H:%M:%S')}: {command}".strip())
        fh.flush()
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                fh.truncate(0)
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()


def python_command() -> str:
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
