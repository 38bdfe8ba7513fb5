"""Speed: jtbench's scoring engine against a re-creation of the official evaluation's structure.

Both sides run the *same* jtbench metric code on the same machine, with real-size architectures
and seeded random weights written in the published file formats (no checkpoints are needed), so
the difference is the structure alone:

- **jtbench**: each video decoded once (PyAV) and shared by every metric; each model loaded once
  per process; reference features cached; frames batched (``--batch-size``).
- **official** (JointTuner ``metrics/evaluate.py`` driving VBench 0.1.5, see
  ``reference/metrics.md`` §(a)): for every video, every module reloads its model(s) and decodes
  the file again — OpenCV for PickScore, CLIP-T/CLIP-I (one module), Mot-Smth, Dyn-Deg, Mot-Fid;
  decord for Subj-Con, Bkgd-Con, Aesth-Q, Img-Q — with the official batch sizes (DINO, MUSIQ,
  AMT and RAFT one frame / pair at a time; CLIP 8; Bkgd-Con, PickScore and CoTracker the whole
  clip; Aesth-Q 32) and nothing cached across videos (the reference is re-encoded / re-tracked).
  Not re-created (so the official side is, if anything, flattered): torch.hub's GitHub round-trip
  for DINO and CoTracker, VBench's JSON rewrite per call, the 4 DataLoader workers CLIP spawns
  per video.

Usage (CPU, a small batch; Pick-Sc and Aesth-Q — ViT-H/14 and ViT-L/14, ~3.5 min per video on
2 cores — are left out unless named)::

    nice .venv/bin/python benchmarks/score_speed.py --videos 2 --size 256x256
    .venv/bin/python benchmarks/score_speed.py --device cuda --videos 8 --size 320x576 --metrics nine

Prints the per-metric split, the overhead removed (loads, decodes), the ratio, and a projection to
``--project`` videos (450 = one method's full benchmark). Mot-Fid is excluded by default: CoTracker
is not on PyPI (with ``--metrics`` naming it, tiny mode's LK stand-in tracker is timed instead).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sample_data import shared_data_dir  # noqa: E402  (beside this script)
from scoring_structures import (  # noqa: E402  (beside this script)
    CPU_DEFAULT,
    NINE,
    Meter,
    Setup,
    build_weights,
    run_jtbench,
    run_official,
)

from jtbench.io.layout import VideoEntry  # noqa: E402
from jtbench.io.video import read_video, write_video  # noqa: E402
from jtbench.paths import cache_dir  # noqa: E402


# -- inputs -------------------------------------------------------------------------------------
def make_videos(folder: Path, count: int, frames: int, size: tuple[int, int], static: bool = False) -> list[VideoEntry]:
    """``count`` distinct clips cut from the shared sample video, resized to ``size``, 8 fps.

    ``static``: each clip is its first frame repeated (a still video: Dyn-Deg cannot stop early
    on "dynamic" and must see enough still pairs first).
    """
    data = shared_data_dir()
    source = read_video(data / "generated" / "jointtuner_cogvideox" / "bear_plushie_person_playing_flute_0.mp4")
    prompt = (data / "generated" / "jointtuner_cogvideox" / "bear_plushie_person_playing_flute_0.txt").read_text()
    entries = []
    for i in range(count):
        start = (i * 5) % max(1, source.num_frames - frames)
        clip = source.frames[start : start + frames].permute(0, 3, 1, 2).float()
        if static:
            clip = clip[:1].expand(frames, -1, -1, -1)
        clip = torch.nn.functional.interpolate(clip, size=size, mode="bilinear", antialias=True)
        pixels = clip.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
        path = write_video(pixels, folder / f"video_{i:03d}.mp4", fps=8)
        entries.append(
            VideoEntry(
                video=path,
                origin=path.name,
                prompt=prompt.strip(),
                reference_image=data / "subjects" / "bear_plushie" / "00.jpg",
                reference_video=data / "motions" / "car_turn" / "car-turn.mp4",
                method="speed",
            )
        )
    return entries


def _table(jt: dict[str, float], off: dict[str, float], parts: list[str], n: int, unit: str) -> list[dict]:
    rows = []
    print(f"\n{unit:<24}{'jtbench':>10}{'official':>10}{'jt /video':>11}{'off /video':>11}{'ratio':>8}")
    for part in parts:
        a, b = jt.get(part, 0.0), off.get(part, 0.0)
        ratio = f"{b / a:.1f}x" if a > 0 else "-"
        rows.append({"part": part, "jtbench": a, "official": b})
        print(f"{part:<24}{a:>10.2f}{b:>10.2f}{a / n:>11.2f}{b / n:>11.2f}{ratio:>8}")
    return rows


def report(jt: Meter, off: Meter, metrics: list[str], n: int, project: int) -> dict[str, Any]:
    parts = [*metrics, "decode", "load", "total"]
    result: dict[str, Any] = {}
    for label, a, b in (("wall s", jt.wall, off.wall), ("CPU s", jt.cpu, off.cpu)):
        rows = _table(a, b, parts, n, label)
        per_video_jt = (a["total"] - a["load"]) / n
        projected_jt, projected_off = a["load"] + per_video_jt * project, b["total"] / n * project
        summary = {
            "ratio": b["total"] / a["total"],
            "overhead_official": b["load"] + b["decode"],
            "overhead_jtbench": a["load"] + a["decode"],
            "projected_min": {"jtbench": projected_jt / 60, "official": projected_off / 60},
            "projected_ratio": projected_off / projected_jt,
        }
        print(
            f"{label}: ratio official/jtbench {summary['ratio']:.2f}x on {n} videos; overhead (loads + decodes) "
            f"official {summary['overhead_official']:.1f}, jtbench {summary['overhead_jtbench']:.1f}; "
            f"projected to {project} videos: jtbench {projected_jt / 60:.1f} min, "
            f"official {projected_off / 60:.1f} min ({summary['projected_ratio']:.2f}x)"
        )
        result[label] = {"rows": rows, **summary}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=2)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", default="256x256", help="HxW of the generated clips (ZeroScope: 320x576)")
    parser.add_argument("--metrics", default=None, help="comma list, 'nine' (all but Mot-Fid) or default (CPU subset)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="anchor")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--project", type=int, default=450)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--weights-dir", type=Path, default=None, help="where the random real-size files go")
    parser.add_argument("--skip-official", action="store_true")
    parser.add_argument("--static", action="store_true", help="still videos (first frame repeated) instead of moving")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.metrics == "nine":
        metrics = list(NINE)
    elif args.metrics:
        metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    else:
        metrics = list(NINE if args.device.startswith("cuda") else CPU_DEFAULT)
    height, width = (int(v) for v in args.size.lower().split("x"))
    weights = args.weights_dir or cache_dir() / "paper_size_random"
    setup = Setup(args.device, args.precision, args.batch_size, weights)
    print(
        f"device {args.device}, threads {torch.get_num_threads()}, "
        f"{args.videos} {'still' if args.static else 'moving'} videos, {args.frames} frames, {height}x{width}"
    )
    print(f"metrics: {', '.join(metrics)}")
    with tempfile.TemporaryDirectory() as tmp:
        entries = make_videos(Path(tmp) / "videos", args.videos, args.frames, (height, width), args.static)
        start = time.perf_counter()
        for name, problem in build_weights(setup, metrics).items():
            print(f"cannot build {name}: {problem}", file=sys.stderr)
        print(f"real-size random weights ready in {time.perf_counter() - start:.1f} s ({weights})")
        # Warm-up (imports, first-call JIT/allocator costs) on a tiny clip, so neither side pays it.
        warm = make_videos(Path(tmp) / "warm", 1, 4, (128, 128))
        run_jtbench(warm, metrics, setup, Path(tmp) / "warm_out")
        jt = run_jtbench(entries, metrics, setup, Path(tmp) / "out")
        off = run_official(entries, metrics, setup) if not args.skip_official else Meter(args.device)
    result = report(jt, off, metrics, args.videos, args.project)
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, **result}, indent=1))


if __name__ == "__main__":
    main()
