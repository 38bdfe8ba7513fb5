"""The memory benchmarks run: `score_memory.py` scores through the Scorer in child processes and
`fit_memory_costs.py` measures a forced on-demand variant (both once broke silently on a refactor)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def test_score_memory_reports_peak_time_and_value_per_metric(tmp_path):
    out = tmp_path / "memory.json"
    cmd = [sys.executable, str(REPO / "benchmarks" / "score_memory.py"), "--sizes", "160x128x5",
           "--metrics", "Dyn-Deg,Mot-Smth", "--max-memory", "6GB", "--weights-dir", str(tmp_path / "weights"),
           "--json", str(out), "--timeout", "300"]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(out.read_text())["results"]["160x128x5"]
    for metric in ("Dyn-Deg", "Mot-Smth"):
        row = results[metric]
        assert "stopped" not in row, row
        assert 0 < row["peak_rss_gb"] < 6 and math.isfinite(row["value"]), row
    assert "| Dyn-Deg |" in proc.stdout and "| Mot-Smth |" in proc.stdout


def test_fit_memory_costs_measures_the_on_demand_variant(tmp_path):
    cmd = [sys.executable, str(REPO / "benchmarks" / "fit_memory_costs.py"), "--weights-dir", str(tmp_path),
           "--child", "raft_large_lookup", "128", "136", "1"]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    point = json.loads(proc.stdout.strip().splitlines()[-1])
    assert point["backbone"] == "raft_large_lookup" and point["peak"] > 0
