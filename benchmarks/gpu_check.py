"""One prepared command that measures jtbench on a GPU inside a hard time budget.

    make gpu-check                                   # = the line below, on the first CUDA device
    .venv/bin/python benchmarks/gpu_check.py --device cuda --budget 420
    .venv/bin/python benchmarks/gpu_check.py --device cpu --tiny     # the same code path in < 1 min
    make gpu-check OFFLINE=1 OUT=DIR                 # a node without a registry (benchmarks/gpu_offline.py)

A preflight (seconds: CUDA, device, free memory, versions), then three stages, each in its own
slice of the budget (``gpu_budget.py``: a stage or item that would not fit is skipped and
recorded; one still running when its slice ends is interrupted and recorded; the files are
rewritten after every item):

- **scoring**: the nine metrics (all but Mot-Fid, whose CoTracker is not on PyPI) with real-size
  random weights, on a synthesised 16×384×384 and 49×480×720 video: jtbench's engine against the
  official structure (per-module reload and re-decode, official batch sizes), per-metric seconds,
  videos per minute, peak CUDA memory, the ratio and the projection to ``--project`` videos;
- **training**: each unit of one combination for JointTuner, MotionDirector, DreamVideo and
  CustomTTT, ``--warmup`` + ``--steps`` steps on the real-size ZeroScope UNet / VAE / text tower
  (random weights, built from configs) at the method's configured resolution, frames and
  ``--precision``: seconds per step, peak memory, and the full training time it projects;
- **sampling**: one video per method from those checkpoints at its configured sampler steps.

Writes ``<out>/gpu-<device>-<date>.json`` and ``.md`` (and into each ``--copy-to`` folder, after
every item too) and prints the Markdown. ``jtbench run
--dry-run`` projects GPU time from the newest such file (``--tiny`` files are never used).
Never needs the network. Exit code 0 even when a stage failed (the file says which); 2 when
``--device cuda`` finds no CUDA.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()  # the budget counts from here: imports included

import argparse  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import torch  # noqa: E402
from gpu_budget import Budget, Results, run_stages  # noqa: E402
from gpu_check_dit import dit_stage  # noqa: E402
from gpu_check_report import render  # noqa: E402
from gpu_check_stages import (  # noqa: E402
    Options,
    compare_sides,
    preflight,
    sample_stage,
    score_stage,
    train_stage,
)

from jtbench.paths import cache_dir  # noqa: E402

#: Share of the budget each stage gets (of what is left when it starts), and the least it needs.
STAGE_SHARES = {"scoring": 0.40, "training": 0.35, "sampling": 0.25, "dit": 0.25}
STAGE_MINIMUM_S = {"scoring": 30.0, "training": 30.0, "sampling": 20.0, "dit": 60.0}
TINY_MINIMUM_S = 3.0


def device_slug(info: dict[str, Any], tiny: bool) -> str:
    name = re.sub(r"[^a-z0-9]+", "-", str(info.get("device_name", "cpu")).lower()).strip("-") or "cpu"
    return f"{name}-tiny" if tiny else name


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tiny", action="store_true", help="tiny random models and inputs: the code path in seconds")
    parser.add_argument("--budget", type=float, default=420.0, help="hard limit in seconds for the whole run")
    parser.add_argument("--stages", default=",".join(STAGE_SHARES), help="comma list of scoring,training,sampling,dit")
    parser.add_argument("--precision", default=None, help="methods' precision (default fp16 on CUDA, fp32 on CPU)")
    parser.add_argument("--warmup", type=int, default=None, help="training steps before timing (default 2; tiny 1)")
    parser.add_argument("--steps", type=int, default=None, help="timed training steps (default 3; tiny 1)")
    parser.add_argument("--project", type=int, default=450, help="videos to project scoring time to")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    parser.add_argument("--weights-dir", type=Path, default=None, help="real-size random metric weights (cached)")
    parser.add_argument("--copy-to", type=Path, action="append", default=[],
                        help="also keep the JSON and Markdown here, rewritten with every item (e.g. $OUT)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    budget = Budget(args.budget, start=STARTED)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_check: --device cuda but torch sees no CUDA device; use --device cpu --tiny to check the "
              "code path", file=sys.stderr, flush=True)
        return 2
    if args.tiny and args.device == "cpu":
        # Tiny models gain nothing from intra-op threads, and on a shared 2-core machine two threads
        # made each tiny UNet call 20-50x slower (tests/methods/conftest.py).
        torch.set_num_threads(1)
    print(f"gpu_check: preflight on {args.device} (budget {args.budget:.0f} s)", flush=True)
    info = preflight(args.device)
    print("  " + ", ".join(f"{k}={v}" for k, v in info.items()), flush=True)
    started = datetime.now(timezone.utc)
    path = args.out / f"gpu-{device_slug(info, args.tiny)}-{started.strftime('%Y-%m-%d-%H%M%S')}.json"
    results = Results(path, render, {
        "schema": 1, "tool": "benchmarks/gpu_check.py", "started": started.isoformat(timespec="seconds"),
        "device": args.device, "device_name": info.get("device_name"), "tiny": args.tiny,
        "budget_s": args.budget, "command": " ".join(sys.argv), "preflight": info, "stages": {},
    }, copies=tuple(args.copy_to))
    results.save()
    budget.start_watchdog(results)
    wanted = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = set(wanted) - set(STAGE_SHARES)
    if unknown:
        print(f"gpu_check: unknown stage(s) {sorted(unknown)}; use {', '.join(STAGE_SHARES)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as scratch:
        opts = Options(
            device=args.device, tiny=args.tiny,
            precision=args.precision or ("fp16" if args.device.startswith("cuda") else "fp32"),
            work=args.work or Path(scratch), weights=args.weights_dir or cache_dir() / "paper_size_random",
            warmup_steps=args.warmup if args.warmup is not None else (1 if args.tiny else 2),
            measured_steps=args.steps if args.steps is not None else 1 if args.tiny else 3,
            project_videos=args.project,
        )
        checkpoints: dict[str, list[Any]] = {}
        bodies = {
            "scoring": lambda stage: score_stage(stage, opts),
            "training": lambda stage: train_stage(stage, opts, checkpoints),
            "sampling": lambda stage: sample_stage(stage, opts, checkpoints),
            "dit": lambda stage: dit_stage(stage, opts),
        }
        run_stages(budget, results, args.device, [
            (name, STAGE_SHARES[name], TINY_MINIMUM_S if args.tiny else STAGE_MINIMUM_S[name], bodies[name])
            for name in STAGE_SHARES if name in wanted
        ])
    if "scoring" in results.data["stages"]:
        compare_sides(results.data["stages"]["scoring"], args.project)
    results.data["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    results.data["wall_s"] = round(budget.elapsed(), 1)
    results.save()
    print(results.md_path.read_text(), flush=True)
    copied = "".join(f" (and into {folder})" for folder in args.copy_to)
    print(f"gpu_check: wrote {results.json_path} and {results.md_path.name}{copied} in {budget.elapsed():.0f} s",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
