"""A hard time budget split into stage slices, and a results file that is always up to date.

``gpu_check.py`` gets one short window on a GPU. Each stage receives a slice of what is left
(unused time flows to the later stages); an item that would not fit in its slice is recorded as
skipped instead of started; an item still running when its slice ends is interrupted by SIGALRM
(``StageTimeout``) and recorded as timed out; a watchdog thread ends the process a little after
the whole budget even if a C call never returns. The JSON and Markdown are rewritten after every
item, so whatever happens, what was measured is on disk.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

#: Seconds kept back from the budget for the last write and the exit.
RESERVE_S = 5.0
#: The watchdog ends the process this long after the budget (the files are already written).
WATCHDOG_GRACE_S = 20.0


class StageTimeout(BaseException):
    """The stage's slice ran out mid-item (a BaseException, so method code's ``except Exception``
    cannot swallow it)."""


class Results:
    """The run's record, written as JSON and Markdown after every change (atomically), and copied
    into each ``copies`` folder each time (a device's ``$OUT``: what is there when the run is cut
    off still comes back)."""

    def __init__(self, json_path: Path, render: Callable[[dict[str, Any]], str], data: dict[str, Any],
                 copies: tuple[Path, ...] = ()) -> None:
        self.json_path, self.md_path = json_path, json_path.with_suffix(".md")
        self.render = render
        self.data = data
        self.copies = copies
        self.lock = threading.Lock()

    def save(self) -> None:
        with self.lock:
            texts = (json.dumps(self.data, indent=1, default=str), self.render(self.data))
            for folder in (self.json_path.parent, *self.copies):
                folder.mkdir(parents=True, exist_ok=True)
                for name, text in zip((self.json_path.name, self.md_path.name), texts, strict=True):
                    tmp = folder / f".{name}.tmp"
                    tmp.write_text(text)
                    tmp.replace(folder / name)


class Budget:
    """The whole run's clock: ``budget_s`` from ``start`` (a ``perf_counter`` reading; default now)."""

    def __init__(self, budget_s: float, start: float | None = None) -> None:
        self.budget_s = float(budget_s)
        self.start = time.perf_counter() if start is None else start

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def left(self) -> float:
        return self.budget_s - RESERVE_S - self.elapsed()

    def start_watchdog(self, results: Results) -> threading.Timer:
        def fire() -> None:
            results.data["aborted"] = f"watchdog: still running {WATCHDOG_GRACE_S:.0f} s after the budget"
            try:
                results.save()
            finally:
                print(f"gpu_check: {results.data['aborted']}; partial results in {results.json_path}",
                      file=sys.stderr, flush=True)
                os._exit(3)

        timer = threading.Timer(self.budget_s + WATCHDOG_GRACE_S, fire)
        timer.daemon = True
        timer.start()
        return timer


class Stage:
    """One stage's slice and record: ``items`` rows, each with a status and what it measured."""

    def __init__(self, name: str, slice_s: float, results: Results, device: str) -> None:
        self.name, self.slice_s, self.results, self.device = name, slice_s, results, device
        self.start = time.perf_counter()
        self.record: dict[str, Any] = {"status": "running", "slice_s": round(slice_s, 1), "items": []}
        self.planned: list[str] = []
        results.data["stages"][name] = self.record
        results.save()

    def left(self) -> float:
        return self.slice_s - (time.perf_counter() - self.start)

    def plan(self, items: list[str]) -> None:
        """Name the items this stage means to run: any never reached is recorded when it ends."""
        self.planned = list(items)

    def close(self) -> None:
        seen = {row["item"] for row in self.record["items"]}
        for what in self.planned:
            if what not in seen:
                self.record["items"].append({"item": what, "status": "not reached",
                                             "reason": f"the stage ended first ({self.record['status']})"})

    def fits(self, what: str, need_s: float) -> bool:
        """True when ``need_s`` fits in what is left of the slice; else ``what`` is recorded as skipped."""
        if self.left() >= need_s:
            return True
        self._add({"item": what, "status": "skipped",
                   "reason": f"would not fit: needs ~{need_s:.0f} s, {max(self.left(), 0):.0f} s left in the slice"})
        return False

    def skip(self, what: str, reason: str) -> None:
        self._add({"item": what, "status": "skipped", "reason": reason})

    def _add(self, row: dict[str, Any]) -> dict[str, Any]:
        self.record["items"].append(row)
        print(f"[{self.name}] {row['item']}: {row['status']}" + (f" ({row['reason']})" if "reason" in row else ""),
              flush=True)
        self.results.save()
        return row

    @contextmanager
    def item(self, what: str) -> Iterator[dict[str, Any]]:
        """Run one measurement: its row is filled by the block; a failure (out of memory included)
        is recorded and the stage goes on; a timeout is recorded and ends the stage."""
        row: dict[str, Any] = {"item": what, "status": "running"}
        self.record["items"].append(row)
        print(f"[{self.name}] {what} ...", flush=True)
        start = time.perf_counter()
        try:
            yield row
            row["status"] = "done"
        except StageTimeout:
            row.update(status="timed out", reason=f"the stage's {self.slice_s:.0f} s slice ran out")
            raise
        except torch.cuda.OutOfMemoryError as exc:
            row.update(status="out of memory", reason=str(exc).splitlines()[0][:300])
        except Exception as exc:  # one failing measurement must not lose the others
            row.update(status="failed", reason=f"{type(exc).__name__}: {exc}"[:500],
                       traceback=traceback.format_exc(limit=6)[-2000:])
        finally:
            row["wall_s"] = round(time.perf_counter() - start, 2)
            free_memory(self.device)
            print(f"[{self.name}] {what}: {row['status']} in {row['wall_s']:.1f} s"
                  + (f" ({row['reason']})" if "reason" in row else ""), flush=True)
            self.results.save()


def free_memory(device: str) -> None:
    gc.collect()
    if device.startswith("cuda") and torch.cuda.is_available():
        torch.cuda.empty_cache()


@contextmanager
def alarm(seconds: float) -> Iterator[None]:
    """Raise :class:`StageTimeout` in the main thread after ``seconds`` (where SIGALRM exists)."""
    usable = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise StageTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.01))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_stages(
    budget: Budget, results: Results, device: str, stages: list[tuple[str, float, float, Callable[[Stage], None]]]
) -> None:
    """Run ``(name, share, minimum_s, body)`` in order; each gets ``share`` of what is left among the
    stages still to run; one whose slice is under ``minimum_s`` is skipped and recorded."""
    for index, (name, share, minimum, body) in enumerate(stages):
        shares = sum(s for _, s, _, _ in stages[index:])
        slice_s = budget.left() * share / shares
        if slice_s < minimum:
            results.data["stages"][name] = {
                "status": "skipped", "slice_s": round(max(slice_s, 0), 1), "items": [],
                "reason": f"would not fit: needs at least {minimum:.0f} s, slice is {max(slice_s, 0):.0f} s",
            }
            print(f"[{name}] skipped: {results.data['stages'][name]['reason']}", flush=True)
            results.save()
            continue
        stage = Stage(name, slice_s, results, device)
        print(f"[{name}] slice {slice_s:.0f} s of {budget.left():.0f} s left", flush=True)
        try:
            with alarm(slice_s):
                body(stage)
            statuses = {row["status"] for row in stage.record["items"]}
            stage.record["status"] = "done" if statuses <= {"done"} else "partial"
        except StageTimeout:
            stage.record["status"] = "timed out (partial)"
        except Exception as exc:  # a stage's own bookkeeping failing: record it, go on to the next stage
            stage.record.update(status="failed", reason=f"{type(exc).__name__}: {exc}"[:500])
        finally:
            stage.record["wall_s"] = round(time.perf_counter() - stage.start, 1)
            stage.close()
            free_memory(device)
            results.save()
