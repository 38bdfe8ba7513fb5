"""What a scoring run records beside its rows: weights and dtypes used, and the run's files.

Kept apart from the engine (:mod:`jtbench.metrics.scorer`): the engine asks it for the
``weights_digest`` / ``dtype`` of each row and hands it the finished run, and it writes
``errors.csv``, ``summary.csv`` and ``provenance.json``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jtbench.benchmark.combinations import Benchmark
from jtbench.benchmark.prepared import ReferenceLedger, rows_reference_set
from jtbench.io.tables import read_results
from jtbench.metrics.base import Metric, ScoringContext
from jtbench.metrics.memory import MB, PeakMeter
from jtbench.metrics.outcome import (
    ERRORS_FILE,
    PROVENANCE_FILE,
    RESULTS_FILE,
    SUMMARY_FILE,
    ScoreReport,
    write_errors_csv,
)
from jtbench.metrics.summary import summarise
from jtbench.models.base import ModelHub
from jtbench.provenance import combined_digest, environment_stamp, weights_digests


class RunRecord:
    """The weights and dtypes one scorer's hub has loaded, and the files a finished run writes."""

    def __init__(self, hub: ModelHub, metrics: Sequence[Metric]) -> None:
        self.hub = hub
        self.metrics = list(metrics)
        self._digests: dict[frozenset, tuple[dict[str, str], str]] = {}

    def loaded_files(self) -> dict[str, dict[str, Path]]:
        """Weight files of the backbones loaded so far, by backbone name."""
        files = self.hub.describe()["files"]
        return {name: {wid: Path(p) for wid, p in per.items()} for name, per in files.items()}

    def weights_digest(self) -> tuple[dict[str, str], str]:
        """Per-weight SHA-256 of the loaded backbones, and one short digest over them."""
        files = self.loaded_files()
        key = frozenset((n, w, str(p)) for n, per in files.items() for w, p in per.items())
        if key not in self._digests:
            digests = weights_digests(files)
            self._digests[key] = (digests, combined_digest(digests) if digests else "")
        return self._digests[key]

    def dtype_label(self) -> str:
        """``<precision>:<dtype>``, or ``<precision>:<backbone>=<dtype>,…`` when the loaded ones differ."""
        names = sorted(self.loaded_files()) or sorted({b for m in self.metrics for b in m.spec.backbones})
        dtypes = {}
        for name in names:
            try:
                dtypes[name] = str(self.hub.dtype_for(name)).removeprefix("torch.")
            except Exception:  # an unregistered backbone: say so rather than guess
                dtypes[name] = "unknown"
        if len(set(dtypes.values())) <= 1:
            return f"{self.hub.precision}:{next(iter(dtypes.values()), 'float32')}"
        return f"{self.hub.precision}:" + ",".join(f"{k}={v}" for k, v in dtypes.items())

    def write(
        self,
        out: Path,
        report: ScoreReport,
        *,
        benchmark: Benchmark,
        backbones_label: str,
        ctx: ScoringContext,
        peaks: PeakMeter,
        details: dict[str, dict[str, float]],
        references: ReferenceLedger,
    ) -> None:
        """``errors.csv``, ``summary.csv`` (from the whole table) and ``provenance.json`` of a finished run."""
        write_errors_csv(out / ERRORS_FILE, report.unscorable)
        table = read_results(out / RESULTS_FILE) if (out / RESULTS_FILE).is_file() else None
        if table is not None:
            summarise(table).to_csv(out / SUMMARY_FILE, index=False)
        for name, seconds in getattr(self.hub, "load_seconds", {}).items():
            report.timings[f"load:{name}"] = seconds
        digests, _ = self.weights_digest()
        extra: dict[str, Any] = {
            "metrics": {m.spec.name: m.spec.version for m in self.metrics},
            "profiles": sorted({m.spec.profile for m in self.metrics if m.spec.profile}),
            "batch_size": ctx.batch_size,
            "precision": self.hub.precision,
            "hub": self.hub.describe(),
            "run": {"scored": report.scored, "skipped": report.skipped, "unscorable": len(report.unscorable)},
            "timings_s": {k: round(v, 3) for k, v in report.timings.items()},
            "reference_set": rows_reference_set(table.get("reference_set", [])) if table is not None else None,
            "references": references.describe(),
            "max_memory": ctx.memory.max_bytes,
            "peak_memory_mb": {k: round(v / MB, 1) for k, v in peaks.peaks.items()},
            "peak_memory_kind": "CUDA max allocated growth" if self.hub.device.type == "cuda" else "RSS growth",
            "memory_events": ctx.memory.events,
            "metric_details": {k: dict(v) for k, v in details.items()},
        }
        stamp = environment_stamp(
            device=str(self.hub.device),
            dtypes={"label": self.dtype_label()},
            backbones=backbones_label,
            manifest_digest=benchmark.manifest.digest,
            weights=digests,
            extra=extra,
        )
        (out / PROVENANCE_FILE).write_text(json.dumps(stamp, indent=1, default=str))
