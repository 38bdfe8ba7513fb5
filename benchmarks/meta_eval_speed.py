"""Time `jtbench meta-eval` on a simulated full study (issue #24's target: <= 60 s on 2 cores).

450 cases x 6 method pairs (4 methods) x 4 dimensions x 3 ratings each, 20 metric columns (+ the
per-video ARS/NAS/AAS), 1,000 bootstrap resamples and 1,000 sign-flip permutations, written as
meta_eval.parquet/md/tex/html. Prints the wall time of each stage; not a test.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/meta_eval_speed.py [--resamples 1000] [--cases 450]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=450)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--no-write", action="store_true", help="time the statistics only")
    args = parser.parse_args()

    from jtbench.metaeval.evaluate import meta_evaluate
    from jtbench.metaeval.join import combine_results
    from jtbench.metaeval.ratings import validate
    from jtbench.metaeval.simulate import simulate_study

    start = time.perf_counter()
    sim = simulate_study(cases=args.cases, methods=4, ratings_per_pair=3, raters=30, extra_metrics=10, seed=0)
    ratings = validate(sim.ratings)
    results = combine_results([sim.results], allow_mixed=False, names=["simulated"])
    made = time.perf_counter()
    pairs = (ratings["kind"] == "pair").sum()
    print(
        f"simulated study: {pairs} pair judgments, {ratings['rater_id'].nunique()} raters, "
        f"{len(results)} videos, {made - start:.1f} s"
    )
    result = meta_evaluate(ratings, results, resamples=args.resamples, seed=0)
    computed = time.perf_counter()
    print(
        f"statistics: {len(result.metrics)} metric columns x {len(result.dimensions)} dimensions, "
        f"{len(result.table)} rows, {args.resamples} resamples: {computed - made:.1f} s"
    )
    total = computed - made
    if not args.no_write:
        from jtbench.metaeval.report import write_meta_eval

        with tempfile.TemporaryDirectory() as tmp:
            write_meta_eval(result, Path(tmp) / "out", provenance={"benchmark": "simulated"})
        written = time.perf_counter()
        print(f"writing parquet/md/tex/html with plots: {written - computed:.1f} s")
        total = written - made
    print(f"meta-eval total: {total:.1f} s on {os.cpu_count()} CPU core(s) (target <= 60 s on 2 cores)")


if __name__ == "__main__":
    main()
