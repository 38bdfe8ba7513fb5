"""Mot-Fid cost per video: tracking (LK stand-in; CoTracker3 when a checkout is configured) and the
3025 × 3025 similarity, on the shared sample clips.

    .venv/bin/python benchmarks/bench_motion_fidelity.py [--device cuda] [--repeats 3]

The official script reloads CoTracker and re-tracks the reference for every generated video;
jtbench loads once and tracks each reference once, so per video the cost is one tracking pass
plus one similarity.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from sample_data import shared_data_dir  # beside this script

from jtbench.io.video import read_video
from jtbench.metrics.motion_fidelity import NAN_SAFE, OFFICIAL, motion_fidelity_score
from jtbench.models.trackers import LucasKanadeTracker, find_cotracker_checkout


def timed(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = shared_data_dir()
    sample = data / "generated" / "jointtuner_cogvideox" / "bear_plushie_person_playing_flute_0.mp4"
    clips = {
        "car-turn 16f 480x480": data / "motions" / "car_turn" / "car-turn.mp4",
        "JT sample 49f 720x480": sample,
    }
    tracker = LucasKanadeTracker()
    tracks = {}
    for label, path in clips.items():
        frames = read_video(Path(path)).frames
        seconds, tracks[label] = timed(lambda frames=frames: tracker.track(frames), args.repeats)
        print(f"lk_tracker  {label:24s} {seconds:7.3f} s  ({seconds / (frames.shape[0] - 1) * 1e3:.1f} ms/pair)")
    ref, gen = tracks["car-turn 16f 480x480"], tracks["JT sample 49f 720x480"]
    for name, rules in (("official", OFFICIAL), ("nan-safe", NAN_SAFE)):
        seconds, result = timed(lambda rules=rules: motion_fidelity_score(gen, ref, rules, args.device), args.repeats)
        score = 100 * result.score
        print(f"similarity  {name:9s} 3025x3025 on {args.device}: {seconds * 1e3:7.1f} ms  score {score:.2f}")
    print("cotracker3 checkout:", find_cotracker_checkout() or "none configured (CoTracker timing skipped)")


if __name__ == "__main__":
    main()
