"""How long `jtbench study create` takes to plan a study of 450 cases × 4 methods (the plan only, no media).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/study_plan.py [--raters 30] [--ratings-per-item 3]

Candidates are the benchmark's 450 real cases × 4 method names with placeholder paths; the plan is what
`create` writes to study.json (2,700 pair items plus gold and repeated items, balanced per rater).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from jtbench.benchmark import Benchmark
from jtbench.study.media import Tokenizer
from jtbench.study.plan import Candidate, References, build_plan

METHODS = ("jointtuner", "motiondirector", "dreamvideo", "customttt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raters", type=int, default=30)
    parser.add_argument("--ratings-per-item", type=int, default=3)
    args = parser.parse_args()
    cases = Benchmark.load().cases()
    candidates = [
        Candidate(
            c.case_id,
            c.prompt,
            c.subject,
            c.motion,
            c.background,
            0,
            m,
            Path(f"videos/{m}/{c.case_id}.mp4"),
            f"{m}:{c.case_id}",
            c.pairing,
        )
        for c in cases
        for m in METHODS
    ]

    def references(c: Candidate) -> References:
        return References((Path(f"data/subjects/{c.subject}/00.jpg"),), Path(f"data/motions/{c.motion}/00.mp4"))

    started = time.perf_counter()
    plan = build_plan(candidates, references, Tokenizer(), raters=args.raters, per_item=args.ratings_per_item)
    planned = time.perf_counter() - started
    text = json.dumps({"items": plan.items, "assignments": plan.assignments})
    total = time.perf_counter() - started
    kinds = Counter(i["kind"] for i in plan.items)
    loads = sorted(len(a["items"]) for a in plan.assignments)
    print(
        f"{len(cases)} cases x {len(METHODS)} methods -> {len(plan.items)} items {dict(kinds)}, "
        f"{len(plan.sources)} media sources; {args.raters} raters with {loads[0]}-{loads[-1]} items each"
    )
    print(f"plan: {planned:.2f} s; plan + study.json text ({len(text) / 1e6:.1f} MB): {total:.2f} s")


if __name__ == "__main__":
    main()
