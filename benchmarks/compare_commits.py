"""Wall time of `jtbench score` for two checkouts on the same videos, alternating, as one ratio.

A speed claim against an earlier state ("no slower than before") needs both measured in the same
session on the same machine: each round runs the old and the new checkout's own CLI (each with
its own ``JTBENCH_CACHE`` of tiny backbones, built in an untimed warm-up) on the same synthetic
moving clips, in alternating order, and the ratio of the summed times is printed::

    git worktree add /tmp/old <commit>
    nice .venv/bin/python benchmarks/compare_commits.py --old /tmp/old --size 256x256x16 --videos 3 --rounds 2
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def make_index(root: Path, width: int, height: int, frames: int, videos: int) -> Path:
    """``videos`` moving clips plus their references, in an index both checkouts read (SPEC §6)."""
    sys.path.insert(0, str(HERE.parent))
    sys.path.insert(0, str(HERE))
    from PIL import Image
    from score_memory import synthetic_clip

    reference = synthetic_clip(root / "reference.mp4", 256, 256, 16)
    image = root / "reference.png"
    Image.new("RGB", (320, 240), (120, 90, 60)).save(image)
    index = root / "index.csv"
    with index.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["video", "prompt", "reference_image", "reference_video", "method"])
        for i in range(videos):
            clip = synthetic_clip(root / f"clip_{i}.mp4", width + 8 * i, height, frames)  # distinct videos
            writer.writerow([clip.name, "a plush bear playing the flute on a lawn", image.name, reference.name, "ab"])
    return index


def score(checkout: Path, index: Path, out: Path, cache: Path, metrics: str | None) -> float:
    """Seconds of one `jtbench score` run of ``checkout`` (a fresh output folder, so nothing is skipped)."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "jtbench", "score", "--index", str(index), "--out", str(out), "--backbones", "tiny"]
    cmd += ["--metrics", metrics] if metrics else []
    env = {**os.environ, "PYTHONPATH": str(checkout), "JTBENCH_CACHE": str(cache)}
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=checkout, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{checkout}: jtbench score failed ({done.returncode}):\n{done.stderr[-1500:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", type=Path, required=True, help="the earlier checkout (a git worktree)")
    parser.add_argument("--new", type=Path, default=HERE.parent)
    parser.add_argument("--size", default="256x256x16", help="WxHxFRAMES")
    parser.add_argument("--videos", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--metrics", default=None, help="default: the paper's ten")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    width, height, frames = (int(v) for v in args.size.lower().split("x"))
    times: dict[str, list[float]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        index = make_index(root, width, height, frames, args.videos)
        checkouts = {"old": args.old.resolve(), "new": args.new.resolve()}
        for name, checkout in checkouts.items():  # warm-up: builds the tiny backbones, fills the page cache
            score(checkout, index, root / f"warm_{name}", root / f"cache_{name}", args.metrics)
        for round_ in range(args.rounds):
            order = ("old", "new") if round_ % 2 == 0 else ("new", "old")
            for name in order:
                seconds = score(checkouts[name], index, root / f"out_{name}", root / f"cache_{name}", args.metrics)
                times[name].append(seconds)
                print(f"round {round_ + 1} {name}: {seconds:.1f} s", flush=True)
    ratio = sum(times["old"]) / sum(times["new"])
    print(f"{args.size}, {args.videos} videos, {args.rounds} rounds: old {sum(times['old']):.1f} s, "
          f"new {sum(times['new']):.1f} s, old/new = {ratio:.2f} (above 1: the new checkout is faster)")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "times": times,
                                         "old_over_new": ratio}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
