"""Cost of the five CLIP-family metrics per video, and what sharing one ViT-B/32 encoding saves.

    .venv/bin/python benchmarks/bench_clip_metrics.py [--backbones tiny|paper] [--device cuda]
                                                      [--precision anchor] [--repeats 3]

JointTuner reloads CLIP for every video and encodes the frames once for CLIP-T and again for
CLIP-I (with a 4-worker DataLoader each time); jtbench loads each backbone once per process and
CLIP-I reuses CLIP-T's frame embeddings. ``--backbones paper`` needs the real weights (see
``jtbench weights``); ``tiny`` times the code paths with tiny random models.
"""

from __future__ import annotations

import argparse
import time

import torch
from sample_data import shared_data_dir  # beside this script

from jtbench.io.video import read_video
from jtbench.metrics.base import Sample, ScoringContext, create_metric
from jtbench.models.base import ModelHub

METRICS = ("CLIP-T", "CLIP-I", "Bkgd-Con", "Aesth-Q", "Pick-Sc")


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", default="tiny", choices=("tiny", "paper"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="anchor")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    data = shared_data_dir()
    video = read_video(data / "generated" / "jointtuner_cogvideox" / "bear_plushie_person_playing_flute_0.mp4")
    sample = Sample(
        video,
        prompt="A bear plushie playing the flute on the grass.",
        reference_image=data / "subjects" / "bear_plushie" / "00.jpg",
    )
    hub = ModelHub(backbones=args.backbones, device=args.device, precision=args.precision)
    metrics = {name: create_metric(name) for name in METRICS}
    print(
        f"video: {video.num_frames} frames {video.width}x{video.height} @ {video.fps:g} fps; {args.backbones} "
        f"backbones on {args.device}, precision {args.precision}"
    )

    for backbone in sorted({b for m in metrics.values() for b in m.spec.backbones}):
        start = time.perf_counter()
        hub.get(backbone)
        _sync()
        print(f"load        {backbone:24s} {time.perf_counter() - start:8.3f} s (once per process)")

    ctx = ScoringContext(hub=hub, batch_size=args.batch_size)
    for name, metric in metrics.items():
        best, value = float("inf"), float("nan")
        for _ in range(args.repeats):
            ctx.forget_video(video.digest)
            start = time.perf_counter()
            value = metric.score(sample, ctx).value
            _sync()
            best = min(best, time.perf_counter() - start)
        print(f"cold        {name:24s} {best:8.3f} s   value {value:9.4f}")

    ctx.forget_video(video.digest)
    metrics["CLIP-T"].score(sample, ctx)
    start = time.perf_counter()
    metrics["CLIP-I"].score(sample, ctx)
    _sync()
    print(f"shared      {'CLIP-I after CLIP-T':24s} {time.perf_counter() - start:8.3f} s (frame embeddings reused)")


if __name__ == "__main__":
    main()
