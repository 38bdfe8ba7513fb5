"""Size of a full-size bundle without videos, and time of `jtbench validate --sample 5` (tiny backbones, CPU).

1. **Size**: a synthetic results table of one method on all 450 cases (one seed, paper backbones, the ten
   metrics drawn from a seeded generator, every provenance and reference column filled as `jtbench score`
   fills them) is bundled exactly as `jtbench bundle` does (``make_bundle``); prints the zip's bytes and
   each member's compressed size, and checks that a second bundle of the same input has the same bytes.
2. **Validate time** (``--run DIR``: a finished `jtbench run --demo --backbones tiny` folder, e.g.
   ``runs/demo/run`` from ``make demo``): bundles its six scored videos as one submission (three seeds per
   case; the test-only allowance for tiny backbones) and times ``jtbench validate BUNDLE --sample 5`` as a
   fresh process (imports, tiny model loads, re-scoring all ten metrics on 5 videos), on CPU.

Usage::

    .venv/bin/python benchmarks/bundle_size.py
    .venv/bin/python benchmarks/bundle_size.py --run runs/demo/run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from jtbench.benchmark import Benchmark
from jtbench.io.tables import normalise, read_results, write_atomic
from jtbench.metrics.base import PAPER_COLUMNS, PAPER_METRICS
from jtbench.paths import manifests_dir
from jtbench.share.bundle import make_bundle
from jtbench.share.submission import read_info

LOAD_BEFORE = round(os.getloadavg()[0], 1)
INFO = yaml.safe_load((manifests_dir() / "submission_example.yaml").read_text())  # full slice, 1 seed


def synthetic_results(folder: Path, seed: int = 0) -> Path:
    """450 rows shaped like `jtbench score` output for one method (values seeded, not measured)."""
    rng = np.random.default_rng(seed)
    versions = json.dumps({m: "1" for m in PAPER_METRICS})
    rows = []
    for case in Benchmark.load().cases():
        digest = f"{rng.integers(0, 2**63):016x}" * 4
        row = {
            "case_id": case.case_id, "prompt": case.prompt, "method": "synthetic", "base_model": "zeroscope",
            "subject": case.subject, "motion": case.motion, "background": case.background, "seed": 0,
            "video": f"/home/user/samples/{case.case_id}/0.mp4", "video_sha256": digest, "errors": None,
            "metric_versions": versions, "backbones": "paper", "device": "cuda", "dtype": "fp16 (openai-clip)",
            "jtbench_version": "0.1.0", "manifest_digest": "a" * 16, "weights_digest": "b" * 16,
            "created_at": "2026-12-06T00:00:00+00:00",
            "reference_image": f"subjects/{case.subject}/00.jpg", "reference_image_sha256": "c" * 64,
            "reference_video": f"motions/{case.motion}/00.mp4", "reference_video_sha256": "d" * 64,
            "reference_set": "jointtuner-release",
        }  # fmt: skip
        row |= {c: float(rng.uniform(20, 98)) for c in PAPER_COLUMNS}
        row["Dyn-Deg"] = float(rng.integers(0, 2) * 100)
        rows.append(row)
    return write_atomic(normalise(pd.DataFrame(rows)), folder / "results.parquet")


def measure_size(tmp: Path) -> dict:
    results = synthetic_results(tmp)
    (tmp / "info.yaml").write_text(yaml.safe_dump(INFO))
    info = read_info(tmp / "info.yaml")
    first = make_bundle(results, info, tmp / "full.zip")
    second = make_bundle(results, info, tmp / "again.zip")
    with zipfile.ZipFile(first.path) as zf:
        members = {i.filename: (i.file_size, i.compress_size) for i in zf.infolist()}
    return {"rows": first.rows, "bundle_bytes": first.size_bytes, "same_bytes_twice": first.sha256 == second.sha256,
            "members": members}  # fmt: skip


def pooled_demo_rows(run: Path, folder: Path) -> Path:
    """The demo run's videos (3 methods x 2 cases, each scored by the run) as one submission with 3 seeds per
    case, so a bundle holds 6 videos and ``--sample 5`` draws 5 (the values are the run's own, unchanged)."""
    df = read_results(run)
    df["seed"] = df["method"].map({m: i for i, m in enumerate(sorted(df["method"].unique()))})
    df["video"] = [str(run / v) for v in df["video"]]
    df["method"] = "pooled"
    folder.mkdir(parents=True, exist_ok=True)
    return write_atomic(df, folder / "results.parquet")


def measure_validate(run: Path, tmp: Path, sample: int) -> dict:
    info = dict(INFO, model_name="Pooled", slice="demo", resolution="64x64", samples_per_case=3)
    (tmp / "demo.yaml").write_text(yaml.safe_dump(info))
    source = pooled_demo_rows(run, tmp / "pooled")
    bundle = make_bundle(source, read_info(tmp / "demo.yaml"), tmp / "demo.zip", videos=True, allow_tiny=True)
    command = [sys.executable, "-m", "jtbench", "validate", str(bundle.path), "--sample", str(sample), "--data",
               str(run / "data"), "--test-only-allow-tiny-backbones"]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    record = json.loads((tmp / "demo.validation.json").read_text())
    return {"validate_seconds": round(seconds, 1), "exit_code": done.returncode, "ok": record["ok"],
            "videos_rescored": record["rescore"]["n"] if record["rescore"] else 0, "bundle_videos": bundle.videos,
            "metric_columns": len(record["rescore"]["columns"]) if record["rescore"] else 0,
            "cpu_threads": os.cpu_count(), "load_average_1min_before": LOAD_BEFORE}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a finished demo run folder (times validate when given)")
    parser.add_argument("--sample", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = {"size": measure_size(Path(tmp))}
        if args.run:
            out["validate"] = measure_validate(args.run.resolve(), Path(tmp), args.sample)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
