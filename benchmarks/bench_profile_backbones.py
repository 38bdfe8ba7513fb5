"""Real-size, random-weight CPU cost of the vbench-extra / opens2v-open backbones, and their parity at that size.

    nice .venv/bin/python benchmarks/bench_profile_backbones.py [--threads 2] [--out benchmarks/results/...]

One fresh child process per backbone (so peaks do not mix): the published architecture with seeded
random weights in the published file format (``paper_size_weights.py``), found and loaded through
jtbench's real catalog and loaders (ViCLIP from ``$VBENCH_CACHE_DIR/ViCLIP/``, VBench's layout),
CPU fp32. It reports the load time and the resident memory the weights add, the peak RSS growth of
one model call (one item: ViCLIP one 8-frame clip, CLIP one frame) and of the whole metric on the
49-frame 480x720 sample video, the process's RSS high-water mark during the metric, and the
metric's time per video. Then the original code runs at the same size on the same file and video —
VBench's own ``ViCLIP`` class and ``overall_consistency``; OpenS2V's ``AestheticScorer`` (vendored
in tests/) — and |Δ| is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

PROMPT = "A bear plushie playing the flute on the grass."
SEED = 20260323
#: backbone → (the metric timed, the model call measured per item)
CASES = {"viclip": "Overall-Con@VBench", "hf_clip_vit_l_14": "Aesthetics@OpenS2V"}


def _gb(value: float) -> float:
    return round(value / 1024**3, 3)


def child(backbone: str, folder: Path, threads: int) -> dict:
    """In this process: build, load, time and measure one backbone; compare with the original code."""
    import torch
    from sample_data import shared_data_dir

    from jtbench.io.video import read_video
    from jtbench.metrics.base import Sample, ScoringContext, create_metric
    from jtbench.metrics.memory import PeakMeter, peak_rss_bytes, rss_bytes
    from jtbench.models.base import ModelHub
    from jtbench.weights.resolve import WeightResolver

    torch.set_num_threads(threads)
    files = {k: Path(v) for k, v in json.loads((folder / "files.json").read_text()).items()}
    overrides = {} if backbone == "viclip" else files  # ViCLIP: found in VBench's cache layout by the catalog
    if backbone == "hf_clip_vit_l_14":
        from jtbench.models.base import BACKBONES

        overrides |= BACKBONES.get("opens2v_aesthetic_mlp")().build_tiny(folder, SEED)  # the real head shape
    hub = ModelHub(backbones="paper", device="cpu", precision="fp32",
                   resolver=WeightResolver(offline=True, overrides=overrides, root=folder / "jtbench"))  # fmt: skip
    meter = PeakMeter(torch.device("cpu"))
    before = rss_bytes()
    start = time.perf_counter()
    model = hub.get(backbone)
    load_s, weights = time.perf_counter() - start, rss_bytes() - before
    params = sum(p.numel() for p in model.model.parameters())
    resolved = {k: str(v) for k, v in hub.files(backbone).items()}

    video_path = shared_data_dir() / "generated" / "jointtuner_cogvideox" / "bear_plushie_person_playing_flute_0.mp4"
    video = read_video(video_path)
    with torch.inference_mode(), meter.measure("one item"):
        if backbone == "viclip":
            model.video_features(torch.zeros(1, 8, 3, 224, 224))
        else:
            from jtbench.metrics.clip_preprocess import pil_frames

            model.image_embeds(pil_frames(video.frames[:1]))
    column = CASES[backbone]
    ctx = ScoringContext(hub=hub, batch_size=32)  # OpenS2V: one batch of 32 frames
    sample = Sample(video, prompt=PROMPT)
    start = time.perf_counter()
    with meter.measure("metric"):
        ours = create_metric(column).score(sample, ctx).value
    per_video_s = time.perf_counter() - start
    peak_during_metric = peak_rss_bytes()  # the high-water mark since the metric's measurement began
    start = time.perf_counter()
    theirs = original(backbone, files, folder, video_path)
    original_s = time.perf_counter() - start
    return {
        "backbone": backbone, "metric": column, "parameters_M": round(params / 1e6, 1), "files": resolved,
        "load_s": round(load_s, 1), "weights_resident_GB": _gb(weights),
        "one_item_peak_growth_GB": _gb(meter.peaks["one item"]), "metric_peak_growth_GB": _gb(meter.peaks["metric"]),
        "peak_rss_during_metric_GB": _gb(peak_during_metric), "metric_s_per_video_49f_480x720": round(per_video_s, 1),
        "original_s_per_video_with_its_load": round(original_s, 1), "ours": ours, "original": theirs,
        "abs_diff": abs(ours - theirs), "threads": threads,
    }  # fmt: skip


def build(backbone: str, folder: Path) -> None:
    """In its own process (so the measuring one starts clean): the real-size random-weight files."""
    from paper_size_weights import PAPER_SIZE_BUILDERS

    start = time.perf_counter()
    files = PAPER_SIZE_BUILDERS[backbone](folder, SEED)
    (folder / "files.json").write_text(json.dumps({k: str(v) for k, v in files.items()}))
    print(f"built {backbone} in {time.perf_counter() - start:.0f} s", flush=True)


def original(backbone: str, files: dict, folder: Path, video: Path) -> float:
    """The original code at the same size, on the same files and video."""
    import torch

    if backbone == "viclip":
        from jtbench.models.viclip import VICLIP_WEIGHTS

        os.environ["VBENCH_CACHE_DIR"] = str(folder)  # the BPE file sits in folder/ViCLIP/ already
        import vbench.third_party.ViCLIP.viclip as viclip_module
        from vbench import overall_consistency
        from vbench.third_party.ViCLIP.simple_tokenizer import SimpleTokenizer

        tokenizer = SimpleTokenizer(str(folder / "ViCLIP" / "bpe_simple_vocab_16e6.txt.gz"))
        model = viclip_module.ViCLIP(tokenizer=tokenizer, pretrain=str(files[VICLIP_WEIGHTS.id]))
        _, results = overall_consistency.overall_consistency(model, [{"prompt": PROMPT, "video_list": [str(video)]}],
                                                             tokenizer, "cpu")  # fmt: skip
        return float(results[0]["video_results"])
    sys.path.insert(0, str(HERE.parent / "tests" / "metrics"))
    from _opens2v_reference import AestheticScorer, run_aesthetic_laion, sample_video_frames
    from transformers import CLIPProcessor

    from jtbench.models.opens2v import HF_CLIP_VIT_L_14, OPENS2V_AESTHETIC_MLP

    real = CLIPProcessor.from_pretrained
    CLIPProcessor.from_pretrained = lambda path: real(path, use_fast=False)  # transformers 4.51.3's default
    head = folder / OPENS2V_AESTHETIC_MLP.filename
    scorer = AestheticScorer(torch.float32, str(files[HF_CLIP_VIT_L_14.id]), str(head))
    return float(run_aesthetic_laion(scorer, sample_video_frames(str(video), num_frames=32)).mean().item())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", default=",".join(CASES))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "profile_backbones_cpu.json")
    parser.add_argument("--append", action="store_true", help="add to the rows already in --out")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--build", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build(args.build, args.folder)
        return
    if args.child:
        print("RESULT " + json.dumps(child(args.child, args.folder, args.threads)), flush=True)
        return
    rows = json.loads(args.out.read_text()) if args.append and args.out.is_file() else []
    rows = [r for r in rows if r["backbone"] not in args.backbones.split(",")]
    for backbone in args.backbones.split(","):
        folder = Path(tempfile.mkdtemp(prefix=f"bench_{backbone}_"))
        try:
            env = {**os.environ, "VBENCH_CACHE_DIR": str(folder), "JTBENCH_CACHE": str(folder / "cache")}
            made = subprocess.run([sys.executable, __file__, "--build", backbone, "--folder", str(folder)], env=env,
                                  capture_output=True, text=True)  # fmt: skip
            if made.returncode:
                raise SystemExit(f"{backbone}: building its weights failed:\n{made.stderr[-3000:]}")
            command = [sys.executable, __file__, "--child", backbone, "--folder", str(folder), "--threads",
                       str(args.threads)]  # fmt: skip
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
            if done.returncode or not lines:
                raise SystemExit(f"{backbone} failed:\n{done.stderr[-3000:]}")
            rows.append(json.loads(lines[-1][len("RESULT ") :]))
            print(json.dumps(rows[-1], indent=1), flush=True)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
