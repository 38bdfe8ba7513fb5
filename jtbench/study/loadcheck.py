"""Simulated raters against a real ``jtbench study serve`` process, killed with SIGKILL half-way.

The benchmark (``benchmarks/study_load.py``, 20 raters × 50 judgments) and the suite's smaller check
share this harness. Each simulated rater does what the page does: join, ask for its state, post one
judgment per remaining dimension with an id made once, and on a lost connection resend the *same*
judgment, backing off as the page does, until the (restarted) server answers. Afterwards every
acknowledged judgment must be in the rating files exactly once.
Standard library only (threads + http.client), loopback only.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jtbench.study.store import read_ratings


@dataclass
class LoadResult:
    raters: int
    acknowledged: int
    found_once: int
    duplicated: int
    lost: int
    elapsed_s: float
    downtime_s: float
    latencies_ms: list[float] = field(repr=False, default_factory=list)  # in the order acknowledged
    acked_at_kill: int = 0
    acked_at_restart: int = 0
    skipped_lines: int = 0

    @property
    def throughput(self) -> float:
        """Acknowledged judgments per second while a server was up."""
        return self.acknowledged / max(1e-9, self.elapsed_s - self.downtime_s)

    def percentile(self, q: float, latencies: list[float] | None = None) -> float:
        ordered = sorted(self.latencies_ms if latencies is None else latencies)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else float("nan")

    def steady(self) -> tuple[list[float], list[float]]:
        """Latencies before the kill, and after the restart less each rater's first (resent, bunched) one."""
        return self.latencies_ms[: self.acked_at_kill], self.latencies_ms[self.acked_at_restart + self.raters :]

    def lines(self) -> list[str]:
        return [
            f"raters: {self.raters}",
            f"judgments acknowledged: {self.acknowledged}",
            f"judgments found exactly once: {self.found_once} (duplicated: {self.duplicated}, lost: {self.lost})",
            f"skipped (truncated) lines: {self.skipped_lines}",
            f"throughput: {self.throughput:.0f} judgments/s (server up {self.elapsed_s - self.downtime_s:.2f} s; "
            f"restart took {self.downtime_s:.2f} s)",
            f"latency: p50 {self.percentile(50):.1f} ms, p99 {self.percentile(99):.1f} ms (all judgments)",
            f"latency p99 before the kill: {self.percentile(99, self.steady()[0]):.1f} ms; after the restart, "
            f"each rater's first judgment left out: {self.percentile(99, self.steady()[1]):.1f} ms",
        ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(folder: Path, port: int, timeout: float = 60.0) -> subprocess.Popen:
    """``python -m jtbench study serve`` as a child process; returns once it answers."""
    cmd = [sys.executable, "-m", "jtbench", "study", "serve", str(folder), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/state?rater=probe")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"the server did not answer on port {port} within {timeout:.0f} s")


class SimulatedRater(threading.Thread):
    def __init__(self, port: int, rater_id: str, judgments: int, run: Run) -> None:
        super().__init__(daemon=True)
        self.port, self.rater_id, self.judgments, self.run_ = port, rater_id, judgments, run
        self.conn: http.client.HTTPConnection | None = None
        self.error: BaseException | None = None

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any], float]:
        """One request, resent (same body) until a server answers; returns status, JSON and latency."""
        payload = json.dumps(body).encode() if body is not None else None
        for attempt in range(60):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                started = time.perf_counter()
                self.conn.request(method, path, body=payload, headers={"Content-Type": "application/json"})
                response = self.conn.getresponse()
                data = json.loads(response.read() or b"{}")
                return response.status, data, (time.perf_counter() - started) * 1000
            except (OSError, http.client.HTTPException):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                time.sleep(min(4.0, 0.25 * 2**attempt) * random.uniform(0.5, 1.5))  # the page's back-off
        raise RuntimeError(f"{self.rater_id}: no server answered {method} {path}")

    def run(self) -> None:
        try:
            self._rate()
        except BaseException as exc:  # reported by the harness
            self.error = exc

    def _rate(self) -> None:
        status, _, _ = self.call("POST", "/api/join", {"rater_id": self.rater_id, "session_id": "load"})
        assert status == 200, f"join answered {status}"
        done = 0
        while done < self.judgments:
            status, state, _ = self.call("GET", f"/api/state?rater={self.rater_id}")
            if state.get("stage") == "done":
                break
            item = state["item"]
            played = {t: True for t in (item["left_token"], item["right_token"]) if t}
            for dimension in item["dimensions"]:
                if done >= self.judgments:
                    break
                scale = next(d["scale"] for d in state["dimensions"] if d["id"] == dimension)
                now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
                body = {"judgment_id": uuid.uuid4().hex, "rater_id": self.rater_id, "session_id": "load",
                        "item_id": item["item_id"], "dimension": dimension, "left_token": item["left_token"],
                        "right_token": item["right_token"], "played": played, "started_at": now, "answered_at": now,
                        "rt_ms": 1000, "response": "left" if scale["type"] == "pairwise" else None,
                        "score": None if scale["type"] == "pairwise" else 3}  # fmt: skip
                status, reply, latency = self.call("POST", "/api/judgment", body)
                if status != 200:
                    raise RuntimeError(f"{self.rater_id}: judgment answered {status}: {reply}")
                self.run_.acknowledge(self.rater_id, body["judgment_id"], latency)
                done += 1


class Run:
    """Shared counters of one load run."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acked: list[tuple[str, str]] = []
        self.latencies: list[float] = []

    def acknowledge(self, rater_id: str, judgment_id: str, latency_ms: float) -> None:
        with self.lock:
            self.acked.append((rater_id, judgment_id))
            self.latencies.append(latency_ms)


def run_load(folder: Path, *, raters: int, judgments: int, kill_after: int | None = None) -> LoadResult:
    """Run ``raters`` simulated raters × ``judgments`` each; SIGKILL and restart the server once
    ``kill_after`` judgments are acknowledged (half of all by default); check the files afterwards."""
    port = free_port()
    kill_after = (raters * judgments) // 2 if kill_after is None else kill_after
    run = Run()
    server = start_server(folder, port)
    downtime, at_kill, at_restart = 0.0, 0, 0
    started = time.perf_counter()
    threads = [SimulatedRater(port, f"load-{i:03d}", judgments, run) for i in range(raters)]
    try:
        for t in threads:
            t.start()
        while len(run.acked) < kill_after and any(t.is_alive() for t in threads):
            time.sleep(0.002)
        if any(t.is_alive() for t in threads):
            killed = time.perf_counter()
            os.kill(server.pid, signal.SIGKILL)
            at_kill = len(run.acked)
            server.wait()
            server = start_server(folder, port)
            downtime = time.perf_counter() - killed
            at_restart = len(run.acked)
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
    finally:
        server.kill()
        server.wait()
    errors = [t.error for t in threads if t.error]
    if errors:
        raise RuntimeError(f"{len(errors)} simulated rater(s) failed; first: {errors[0]!r}")
    records, problems = read_ratings(folder / "ratings")
    lines = Counter()
    for path in (folder / "ratings").glob("*.jsonl"):
        for raw in path.read_bytes().splitlines():
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            lines[(record.get("rater_id"), record.get("judgment_id"))] += 1
    acked = set(run.acked)
    return LoadResult(
        raters=raters,
        acknowledged=len(run.acked),
        found_once=sum(1 for key in acked if lines[key] == 1),
        duplicated=sum(1 for n in lines.values() if n > 1),
        lost=sum(1 for key in acked if lines[key] == 0),
        elapsed_s=elapsed,
        downtime_s=downtime,
        latencies_ms=run.latencies,
        acked_at_kill=at_kill,
        acked_at_restart=at_restart,
        skipped_lines=len(problems),
    )
