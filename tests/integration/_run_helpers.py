"""Shared pieces of the `jtbench run` integration tests: one small slice, one reference run per session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

#: Three demo combinations (rigid, non-humanoid, humanoid), one background, cheap tiny metrics.
SLICE = [
    "--methods", "dummy", "--backbones", "tiny", "--device", "cpu",
    "--combinations", "backpack__train_turning,dog__person_playing_flute,bear_plushie__person_playing_flute",
    "--backgrounds", "grass", "--metrics", "clip_t,clip_i,subject_consistency",
    "--report", "md",  # the HTML report (matplotlib figures) is checked once, in the reference run
]  # fmt: skip
VOLATILE = ["created_at"]  # differs between any two runs by design
_REFERENCE: dict[str, Path] = {}


def run_args(out: Path, data: Path, *extra: str) -> list[str]:
    return ["run", *SLICE, "--data", str(data), "--out", str(out), *extra]


def invoke(out: Path, data: Path, *extra: str):
    """Run the CLI in this process (models stay loaded between tests)."""
    from typer.testing import CliRunner

    from jtbench.cli.app import app

    return CliRunner().invoke(app, run_args(out, data, *extra), catch_exceptions=False)


def spawn(out: Path, data: Path, *extra: str) -> subprocess.Popen:
    """Run the CLI as its own process (for kill tests)."""
    cmd = [sys.executable, "-m", "jtbench", *run_args(out, data, *extra)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ.copy())


def reference_run(tmp_path_factory, data: Path) -> Path:
    """An uninterrupted local run of SLICE, made once per session; returns its folder."""
    if "local" not in _REFERENCE:
        out = tmp_path_factory.mktemp("reference_run")
        result = invoke(out, data, "--report", "md,html")
        assert result.exit_code == 0, result.output
        _REFERENCE["local"] = out
    return _REFERENCE["local"]


def table(run_dir: Path) -> pd.DataFrame:
    """results.parquet without volatile columns, in a fixed row order."""
    df = pd.read_parquet(run_dir / "results.parquet").drop(columns=VOLATILE)
    return df.sort_values(["method", "case_id", "seed"]).reset_index(drop=True)
