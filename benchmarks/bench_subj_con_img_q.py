"""Subj-Con and Img-Q cost per video with real-size (random-weight) DINO ViT-B/16 and MUSIQ-SPAQ.

    .venv/bin/python benchmarks/bench_subj_con_img_q.py [--device cuda] [--frames 16] [--batch-size 16]

Compares VBench's one-frame-per-call loop (batch 1) with jtbench's batched calls on the first
``--frames`` frames of the shared 720x480 sample video, and prints the largest difference between
the two (batch invariance at real size). Models are built from the published architectures with
random weights, saved and loaded back through the backbones' own loaders.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from sample_data import shared_data_dir  # beside this script

from jtbench.io.video import read_video
from jtbench.metrics.imaging_quality import musiq_scores
from jtbench.metrics.subject_consistency import dino_features, subject_consistency_score
from jtbench.models.dino import DINO_VITB16_WEIGHTS, DinoViTB16, build_dino_vit
from jtbench.models.musiq import MUSIQ_SPAQ_WEIGHTS, MusiqSpaq, build_musiq

SAMPLE = Path("generated/jointtuner_cogvideox/bear_plushie_person_playing_flute_0.mp4")


def timed(fn):
    start = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    frames = read_video(shared_data_dir() / SAMPLE).frames[: args.frames]

    with tempfile.TemporaryDirectory() as tmp:
        dino_file, musiq_file = Path(tmp) / "dino.pth", Path(tmp) / "musiq.pth"
        torch.save(build_dino_vit(embed_dim=768, depth=12, num_heads=12).state_dict(), dino_file)
        torch.save(build_musiq().state_dict(), musiq_file)
        load_s, dino = timed(lambda: DinoViTB16().load({DINO_VITB16_WEIGHTS.id: dino_file}, device, torch.float32))
        print(f"DINO ViT-B/16 load: {load_s:.2f} s")
        load_s, musiq = timed(lambda: MusiqSpaq().load({MUSIQ_SPAQ_WEIGHTS.id: musiq_file}, device, torch.float32))
        print(f"MUSIQ-SPAQ load: {load_s:.2f} s")

    print(f"{len(frames)} frames {tuple(frames.shape[1:3])} on {device}, {args.threads} CPU threads")
    one_s, one = timed(lambda: dino_features(dino, frames, 1))
    many_s, many = timed(lambda: dino_features(dino, frames, args.batch_size))
    gap = abs(subject_consistency_score(one) - subject_consistency_score(many)) * 100
    print(f"Subj-Con: batch 1 {one_s:.2f} s, batch {args.batch_size} {many_s:.2f} s, |diff| {gap:.2e} (0–100)")
    one_s, one = timed(lambda: musiq_scores(musiq, frames, 1))
    many_s, many = timed(lambda: musiq_scores(musiq, frames, args.batch_size))
    gap = abs(float(one.mean() - many.mean()))
    print(f"Img-Q:    batch 1 {one_s:.2f} s, batch {args.batch_size} {many_s:.2f} s, |diff| {gap:.2e} (0–100)")


if __name__ == "__main__":
    main()
