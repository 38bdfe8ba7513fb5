"""The det profile's backbones at real size (seeded random weights, published formats) on CPU: time and peak memory.

    nice .venv/bin/python benchmarks/bench_det_backbones.py [--threads 2] [--backbones ...] [--out FILE.json]

Each backbone runs in a fresh child process: load through the backbone's real ``load`` code
(files from ``paper_size_weights.py``: ``CLIPConfig()`` = openai/clip-vit-base-patch32,
``ViTConfig()`` = facebook/dino-vitb16 without pooler, CoTracker3's own ``CoTrackerThreeOffline``),
then the det column it serves on the shared sample (49 frames, 480x720; the reference is the
16-frame 480x480 car-turn clip). Reported per backbone: load seconds, compute wall and process-CPU
seconds (all threads), and the peak RSS growth over the call (``VmHWM`` reset first) and the
process's peak RSS. CoTracker3 needs a co-tracker checkout (``JTBENCH_COTRACKER_DIR``); without
one it is reported as skipped.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

COLUMNS = {"hf_clip_vit_b_32": "CLIP-T@DeT", "hf_dino_vitb16": "T-Cons@DeT", "cotracker3_offline": "MotFid@DeT"}
PROMPT = "A bear plushie playing the flute on the grass."


def child(backbone: str, weights: Path, threads: int) -> dict:
    """In this process: load ``backbone`` at real size, score its column on the sample once."""
    import torch
    from sample_data import shared_data_dir
    from scoring_structures import PaperSizeHub, Setup

    from jtbench.io.video import read_video
    from jtbench.metrics.base import Sample, ScoringContext, create_metric
    from jtbench.metrics.memory import GB, PeakMeter, peak_rss_bytes

    torch.set_num_threads(threads)
    data = shared_data_dir()
    hub = PaperSizeHub(Setup(device="cpu", precision="fp32", batch_size=16, weights=weights))
    start = time.perf_counter()
    model = hub.get(backbone)
    load = time.perf_counter() - start
    params = sum(p.numel() for m in ([model.model] if hasattr(model, "model") else [model.predictor.model])
                 for p in m.parameters())  # fmt: skip
    video = read_video(data / "generated" / "jointtuner_cogvideox" / "bear_plushie_person_playing_flute_0.mp4")
    options = {"tracker": backbone} if backbone == "cotracker3_offline" else {}
    metric = create_metric(COLUMNS[backbone], **options)
    sample = Sample(video, prompt=PROMPT, reference_video=data / "motions" / "car_turn" / "car-turn.mp4")
    meter = PeakMeter(torch.device("cpu"))
    wall, cpu = time.perf_counter(), time.process_time()
    with meter.measure("score"):
        value = metric.score(sample, ScoringContext(hub=hub, batch_size=16))
    return {
        "backbone": backbone,
        "column": COLUMNS[backbone],
        "parameters_m": round(params / 1e6, 1),
        "load_s": round(load, 2),
        "video": "49 frames 480x720" + (" + reference 16 frames 480x480" if options else ""),
        "score_wall_s": round(time.perf_counter() - wall, 2),
        "score_cpu_s": round(time.process_time() - cpu, 2),
        "peak_growth_gib": round(meter.peaks["score"] / GB, 3),
        "peak_rss_gib": round(peak_rss_bytes() / GB, 3),
        "threads": threads,
        "value": value.value,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", default=",".join(COLUMNS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--weights", type=Path, default=Path.home() / ".cache" / "jtbench" / "paper_size")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.weights, args.threads)))
        return
    from jtbench.models.trackers import find_cotracker_checkout

    rows = []
    for backbone in args.backbones.split(","):
        if backbone == "cotracker3_offline" and find_cotracker_checkout() is None:
            rows.append({"backbone": backbone, "skipped": "no co-tracker checkout (JTBENCH_COTRACKER_DIR)"})
            print(json.dumps(rows[-1]), flush=True)
            continue
        cmd = [sys.executable, __file__, "--child", backbone, "--threads", str(args.threads), "--weights",
               str(args.weights)]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            rows.append({"backbone": backbone, "error": done.stderr.strip().splitlines()[-1:]})
        else:
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
