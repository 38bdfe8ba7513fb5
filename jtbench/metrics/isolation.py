"""One video must never block the others: in-flight markers and isolated re-scoring.

A video that kills the scoring process (the kernel's out-of-memory killer, a segfault in a
native library) leaves no Python exception to catch. So before each video the scorer writes a
marker into ``<out>/.in_flight/`` and removes it once the video is done. A marker found by a
later run means that video took the process down: it is scored again in a child process of its
own (spawned, so it loads its own models; the parent's rows and progress are out of its reach).
If the child dies too, the video gets an ``errors.csv`` line naming the likely cause and the
memory it needs, the marker stays (the next run isolates it again), and scoring goes on. Rows
already written are never touched: the child upserts only its own row.

Dependencies run one way: the engine (:mod:`jtbench.metrics.scorer`) imports this module, this
module imports no engine code; the child rebuilds the scorer from its class and ``recipe()``.

``JTBENCH_FAULT_KILL_VIDEO=<part of a path>`` makes the process scoring that video kill itself
(SIGKILL) — fault injection for tests, the way to check this path without exhausting memory.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from jtbench.io.layout import VideoEntry
from jtbench.io.tables import rows_by_key
from jtbench.metrics.memory import GB, format_bytes
from jtbench.metrics.outcome import ScoreReport, Unscorable

MARKER_DIR = ".in_flight"
KILL_ENV = "JTBENCH_FAULT_KILL_VIDEO"
#: How often the parent samples the child's RSS (for the "needs about" figure).
POLL_SECONDS = 0.2


def inject_fault(video: str | Path) -> None:
    """Kill this process when ``JTBENCH_FAULT_KILL_VIDEO`` is part of ``video``'s path (tests only)."""
    needle = os.environ.get(KILL_ENV)
    if needle and needle in str(Path(video).resolve()):
        os.kill(os.getpid(), signal.SIGKILL)


class CrashGuard:
    """Markers for the videos in flight under one output folder."""

    def __init__(self, out_dir: Path) -> None:
        self.folder = Path(out_dir) / MARKER_DIR

    def marker(self, entry: VideoEntry) -> Path:
        key = hashlib.sha256(f"{entry.method}\0{Path(entry.video).resolve()}".encode()).hexdigest()[:24]
        return self.folder / f"{key}.json"

    def crashed_before(self, entry: VideoEntry) -> bool:
        return self.marker(entry).is_file()

    @contextmanager
    def watch(self, entry: VideoEntry) -> Iterator[None]:
        """Marker on, the block, marker off — also on an exception (Ctrl-C is not the video's fault);
        only a process that dies inside the block leaves it."""
        marker = self.marker(entry)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"video": str(entry.video), "pid": os.getpid(), "started": time.time()}))
        try:
            yield
        finally:
            marker.unlink(missing_ok=True)


class Isolatable(Protocol):
    """What isolation needs of a scorer (the engine depends on this module, never the reverse)."""

    def recipe(self) -> dict[str, Any]:
        """Constructor arguments for the same scorer in another process."""

    def memory_need(self, entry: VideoEntry) -> int:
        """Rough bytes one video needs (for the error of a video that kills its process)."""

    def score_one(self, entry: VideoEntry, existing: dict, results: Path, report: ScoreReport) -> None:
        """Prepare and score one entry, upserting its row into ``results``."""


def _child(factory: Any, recipe: dict[str, Any], entry: VideoEntry, results: str, conn: Any) -> None:
    """In the spawned process: rebuild the scorer (``factory(**recipe)``), score the one video, report back."""
    scorer = factory(**recipe)
    path = Path(results)
    existing = rows_by_key(path)
    report = ScoreReport()
    scorer.score_one(entry, existing, path, report)
    conn.send(
        {
            "scored": report.scored,
            "skipped": report.skipped,
            "unscorable": report.unscorable,
            "metric_failures": dict(report.metric_failures),
            "timings": dict(report.timings),
        }
    )
    conn.close()


def _rss_of(pid: int) -> int:
    import psutil

    try:
        return int(psutil.Process(pid).memory_info().rss)
    except psutil.Error:
        return 0


def score_isolated(
    scorer: Isolatable, entry: VideoEntry, existing: dict, results: Path, report: ScoreReport, guard: CrashGuard
) -> bool:
    """Score ``entry`` in a spawned child; True when it finished (its row, if any, is in ``results``).

    The child rebuilds ``type(scorer)`` from ``scorer.recipe()`` (the class travels by reference).
    """
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    args = (type(scorer), scorer.recipe(), entry, str(results), send)
    child = context.Process(target=_child, args=args, daemon=True)
    child.start()
    send.close()
    peak, outcome = 0, None
    while child.is_alive() or receive.poll():
        peak = max(peak, _rss_of(child.pid))
        if receive.poll(POLL_SECONDS):
            try:
                outcome = receive.recv()
            except EOFError:
                break
    child.join()
    if outcome is None:
        need = max(peak, scorer.memory_need(entry))
        code = child.exitcode or 0
        how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        report.unscorable.append(
            Unscorable(
                str(entry.video),
                f"killed while scoring ({how}, twice: also in an isolated process), likely out of memory; "
                f"needs about {max(need / GB, 0.1):.1f} GB (the process had reached {format_bytes(peak)})",
                "set --max-memory below this machine's free memory, use a machine with more memory, "
                "or leave the heaviest metric out with --metrics (Mot-Smth, Dyn-Deg, Mot-Fid)",
            )
        )
        return False
    report.scored += outcome["scored"]
    report.skipped += outcome["skipped"]
    report.unscorable.extend(outcome["unscorable"])
    for column, count in outcome["metric_failures"].items():
        report.metric_failures[column] += count
    for part, seconds in outcome["timings"].items():
        report.timings[part] += seconds
    existing.update(rows_by_key(results))
    guard.marker(entry).unlink(missing_ok=True)
    return True


def estimate_need(backbones: list[str], video: str | Path) -> int:
    """Rough bytes to score ``video`` (probed, not decoded): its frames, the process now, the costliest item."""
    import av

    from jtbench.metrics.memory import COSTS, rss_bytes

    try:
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            height, width, frames = stream.height, stream.width, stream.frames or 0
    except Exception:  # unreadable: nothing to add beyond the process itself
        return rss_bytes()
    items = []
    for name in backbones:
        if name not in COSTS:
            continue
        full_size = name in ("raft_large", "amt_s", "cotracker3_offline", "lk_tracker")
        cost = COSTS[name].bytes_per_item(height, width) if full_size else COSTS[name].bytes_per_item(224, 224)
        items.append(cost * (max(frames, 1) if "tracker" in name else 1))
    return rss_bytes() + frames * height * width * 3 + max(items, default=0)
