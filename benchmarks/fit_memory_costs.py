"""Measure what one item costs each backbone (peak RSS growth of one model call) and fit ``COSTS``.

Each point runs in a fresh child process: real-size architecture, seeded random weights (built
by ``paper_size_weights.py`` / the backbone's own builder), float32 on CPU, the metric's own
batched function with batch 1 and batch 2 on a synthetic clip of the given model-input size.
The peak is the RSS high-water mark after resetting it (``/proc/self/clear_refs``) minus the RSS
before the call. Prints one line per point and a least-squares fit of
``base + per_pixel·P + per_pixel_sq·P²`` per backbone (the numbers in
``jtbench/metrics/memory.py``)::

    nice .venv/bin/python benchmarks/fit_memory_costs.py --backbones raft_large,amt_s
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

#: Model-input sizes measured per backbone (HxW after the metric's padding / resize). A ``_lookup``
#: name is the backbone's on-demand-correlation variant (``memory.VARIANTS``), forced in the child.
SIZES = {
    "raft_large": [(480, 720), (720, 1280), (1080, 1920)],
    "raft_large_lookup": [(480, 720), (720, 1280), (1080, 1920)],
    "amt_s": [(256, 256), (480, 720), (720, 1280)],
    "amt_s_lookup": [(480, 720), (720, 1280), (1088, 1920)],
    "musiq_spaq": [(256, 256), (384, 512), (512, 512)],
    "dino_vitb16": [(224, 224), (224, 336), (224, 398)],
    "clip_vit_b_32": [(224, 224)],
    "clip_vit_l_14": [(224, 224)],
    "pickscore": [(224, 224)],
    "hf_clip_vit_b_32": [(224, 224)],  # the det profile's models see 224x224 whatever the video
    "hf_dino_vitb16": [(224, 224)],
}
#: Fit terms per backbone: which of (per_pixel, per_pixel_sq) the model has. A stored pyramid's
#: exact size (``CostModel.volume_sq``) is taken off the peaks before fitting.
TERMS = {
    "raft_large": (1, 0),
    "raft_large_lookup": (1, 0),
    "amt_s": (1, 1),
    "amt_s_lookup": (1, 0),
    "musiq_spaq": (1, 0),
    "dino_vitb16": (1, 1),
}


def measure(backbone: str, height: int, width: int, batch: int, weights: Path) -> dict:
    """In this process: one call of ``batch`` items; the peak RSS growth in bytes."""
    import torch
    from scoring_structures import PaperSizeHub, Setup

    from jtbench.metrics.memory import MemoryBudget, PeakMeter

    class Unlimited(MemoryBudget):
        def room(self) -> int:  # measure the cost, do not enforce the current guess of it
            return 1 << 60

    budget = Unlimited()

    torch.manual_seed(0)
    hub = PaperSizeHub(Setup(device="cpu", precision="fp32", batch_size=16, weights=weights))
    network = backbone.removesuffix("_lookup")
    if network != backbone:  # the official variant never fits: choose_variant takes this one
        from jtbench.metrics import memory

        memory.COSTS[network] = memory.CostModel(base=1 << 60)
    model = hub.get(network)
    frames = torch.randint(0, 256, (batch + 1, height, width, 3), dtype=torch.uint8)
    if network == "raft_large":
        from jtbench.metrics.dynamic_degree import pair_scores

        def run(m, f, b):
            return pair_scores(m, f, b, budget)
    elif network == "amt_s":
        from jtbench.metrics.motion_smoothness import predict_middle_frames

        def run(m, f, b):
            return predict_middle_frames(m, f, b, budget)
    elif backbone == "musiq_spaq":
        from jtbench.metrics.imaging_quality import musiq_scores

        def run(m, f, b):
            return musiq_scores(m, f[:batch], b, "None", budget)
    elif backbone == "dino_vitb16":
        from jtbench.metrics.subject_consistency import dino_features

        def run(m, f, b):
            return dino_features(m, f[:batch], b, budget)
    elif backbone == "hf_dino_vitb16":

        def run(m, f, b):
            with torch.no_grad():
                return m.model(pixel_values=torch.rand(batch, 3, 224, 224)).pooler_output
    else:

        def run(m, f, b):
            pixels = torch.rand(batch, 3, 224, 224)
            with torch.no_grad():
                return m.encode_images(pixels) if hasattr(m, "encode_images") else m.model.get_image_features(pixels)

    # no warm-up: freed blocks the allocator keeps would hide the call's real growth
    meter = PeakMeter(torch.device("cpu"))
    with meter.measure("call"):
        run(model, frames, batch)
    return {"backbone": backbone, "height": height, "width": width, "batch": batch, "peak": meter.peaks["call"]}


def fit(points: list[dict]) -> dict[str, float]:
    """Least squares of the per-item peak over the backbone's terms (base always)."""
    from jtbench.metrics.memory import COSTS

    per_item = [p for p in points if p["batch"] == 1]
    pixels = np.array([p["height"] * p["width"] for p in per_item], dtype=float)
    peaks = np.array([p["peak"] for p in per_item], dtype=float) - COSTS[per_item[0]["backbone"]].volume_sq * pixels**2
    use_px, use_sq = TERMS.get(per_item[0]["backbone"], (0, 0))
    columns = [np.ones_like(pixels)] + ([pixels] if use_px else []) + ([pixels**2] if use_sq else [])
    a = np.stack(columns, axis=1)
    coef = np.linalg.lstsq(a, peaks, rcond=None)[0] if len(peaks) >= a.shape[1] else [peaks.max()]
    names = ["base"] + (["per_pixel"] if use_px else []) + (["per_pixel_sq"] if use_sq else [])
    return dict(zip(names, (float(c) for c in coef), strict=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", default=",".join(SIZES))
    parser.add_argument("--weights-dir", type=Path, default=Path.home() / ".cache" / "jtbench" / "paper_size_random")
    parser.add_argument("--child", nargs=4, metavar=("BACKBONE", "H", "W", "BATCH"), help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--batches", default="1,2", help="batch sizes per point (1 is fitted, 2 checks linearity)")
    args = parser.parse_args()
    if args.child:
        name, h, w, b = args.child
        print(json.dumps(measure(name, int(h), int(w), int(b), args.weights_dir)))
        return
    for name in args.backbones.split(","):
        points = []
        for height, width in SIZES[name]:
            for batch in (int(b) for b in args.batches.split(",")):
                cmd = [sys.executable, __file__, "--weights-dir", str(args.weights_dir), "--child"]
                cmd += [name, str(height), str(width), str(batch)]
                try:
                    done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
                except subprocess.TimeoutExpired:
                    print(f"{name} {height}x{width} batch {batch}: timed out", flush=True)
                    continue
                if done.returncode != 0:
                    print(f"{name} {height}x{width} batch {batch}: failed {done.stderr[-400:]}", flush=True)
                    continue
                point = json.loads(done.stdout.strip().splitlines()[-1])
                points.append(point)
                print(f"{name} {height}x{width} batch {batch}: {point['peak'] / 2**20:.0f} MiB", flush=True)
        if points:
            print(f"{name} fit: {fit(points)}", flush=True)


if __name__ == "__main__":
    main()
