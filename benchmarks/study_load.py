"""Load + crash check of `jtbench study serve`: concurrent simulated raters, SIGKILL half-way, restart, finish.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/study_load.py [--raters 20] [--judgments 50] [--keep DIR]

Builds a synthetic pairwise study (tiny videos of 3 methods on real case ids, all four dimensions), starts
`python -m jtbench study serve` on a free loopback port, runs the raters (jtbench.study.loadcheck: each
waits for its answer before the next judgment, as the page does), SIGKILLs the server once half of all
judgments are acknowledged, restarts it, lets the raters resend what was in flight, and prints: judgments
acknowledged, judgments found exactly once, throughput and p99 latency. Target on 2 cores: nothing lost
or duplicated, >= 200 judgments/s, p99 <= 100 ms.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from jtbench.benchmark import Benchmark
from jtbench.io.tables import normalise, write_atomic
from jtbench.io.video import file_sha256, write_video
from jtbench.study.create import CreateOptions, create_study
from jtbench.study.loadcheck import run_load

METHODS = ("method_x", "method_y", "method_z")


def synthetic_results(root: Path, cases: int, seed: int = 0) -> tuple[Path, Path]:
    """A results table of 3 methods × ``cases`` real case ids with 16-frame 32x32 videos, and a data folder."""
    rng = np.random.default_rng(seed)
    bench = Benchmark.load()
    chosen = bench.cases()[:: max(1, 450 // cases)][:cases]
    data = root / "data"
    rows = []
    for case in chosen:
        photo = data / "subjects" / case.subject / "00.jpg"
        if not photo.is_file():
            photo.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(photo)
        clip = data / "motions" / case.motion / "00.mp4"
        if not clip.is_file():
            write_video(rng.integers(0, 255, (16, 32, 32, 3), dtype=np.uint8), clip)
        for method in METHODS:
            video = write_video(
                rng.integers(0, 255, (16, 32, 32, 3), dtype=np.uint8), root / "videos" / method / f"{case.case_id}.mp4"
            )
            rows.append(
                {
                    **case.as_dict(),
                    "method": method,
                    "base_model": "zeroscope",
                    "seed": 0,
                    "video": str(video),
                    "video_sha256": file_sha256(video),
                }
            )
    table = write_atomic(normalise(pd.DataFrame(rows)), root / "results" / "results.parquet")
    return table, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raters", type=int, default=20)
    parser.add_argument("--judgments", type=int, default=50)
    parser.add_argument("--keep", type=Path, default=None, help="build the study here and keep it")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="jtbench-study-load-"))
    items_needed = args.raters * (args.judgments // 4 + 2)  # four dimensions per regular item
    cases = min(450, -(-items_needed // len(METHODS)) + 2)
    started = time.perf_counter()
    table, data = synthetic_results(root, cases)
    opts = CreateOptions(raters=args.raters, per_item=1, seed=0)
    create_study([table], data, root / "study", opts, progress=False)
    print(
        f"study: {cases} cases x {len(METHODS)} methods, {args.raters} raters, built in "
        f"{time.perf_counter() - started:.1f} s ({os.cpu_count()} CPUs visible)"
    )
    result = run_load(root / "study", raters=args.raters, judgments=args.judgments)
    for line in result.lines():
        print(line)
    ok = result.lost == 0 and result.duplicated == 0 and result.found_once == result.acknowledged
    print(
        "target (nothing lost or duplicated, >= 200 judgments/s, p99 <= 100 ms): "
        + ("met" if ok and result.throughput >= 200 and result.percentile(99) <= 100 else "NOT met")
    )


if __name__ == "__main__":
    main()
