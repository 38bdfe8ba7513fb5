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
import gc
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from jtbench.io.layout import VideoEntry  # noqa: E402
from jtbench.io.video import VideoClip, file_sha256, read_video, write_video  # noqa: E402
from jtbench.metrics.base import Sample, ScoringContext  # noqa: E402
from jtbench.metrics.scorer import Scorer, TimedHub, resolve_metrics  # noqa: E402
from jtbench.models.base import BACKBONES, TINY_SEED  # noqa: E402
from jtbench.paths import shared_data_dir  # noqa: E402

NINE = (
    "clip_t",
    "clip_i",
    "motion_smoothness",
    "dynamic_degree",
    "subject_consistency",
    "background_consistency",
    "pick_score",
    "aesthetic_quality",
    "imaging_quality",
)
CPU_DEFAULT = tuple(m for m in NINE if m not in ("pick_score", "aesthetic_quality"))
WHOLE_CLIP = 10_000  # "batch = the whole video"


@dataclass(frozen=True)
class OfficialModule:
    """One module of the official loop: what it scores, how it decodes, its batch size."""

    metrics: tuple[str, ...]
    decoder: str  # "opencv" | "decord"
    batch_size: int


OFFICIAL_MODULES = (
    OfficialModule(("pick_score",), "opencv", WHOLE_CLIP),
    OfficialModule(("clip_t", "clip_i"), "opencv", 8),
    OfficialModule(("subject_consistency",), "decord", 1),
    OfficialModule(("background_consistency",), "decord", WHOLE_CLIP),
    OfficialModule(("motion_smoothness",), "opencv", 1),
    OfficialModule(("dynamic_degree",), "opencv", 1),
    OfficialModule(("aesthetic_quality",), "decord", 32),
    OfficialModule(("imaging_quality",), "decord", 1),
    OfficialModule(("motion_fidelity",), "opencv", WHOLE_CLIP),
)


# -- real-size architectures with random weights, in the published file formats ----------------
def _clip_files(name: str, config: dict[str, int]) -> Callable[[Path, int], dict[str, Path]]:
    def build(out: Path, seed: int) -> dict[str, Path]:
        from jtbench.models.clip import write_tiny_openai_clip

        backbone = BACKBONES.get(name)
        return {backbone.weight.id: write_tiny_openai_clip(out / backbone.weight.filename, config, seed)}

    return build


def _openai_clip_config(embed: int, layers: int, width: int, patch: int, text_width: int) -> dict[str, int]:
    return dict(
        embed_dim=embed,
        image_resolution=224,
        vision_layers=layers,
        vision_width=width,
        vision_patch_size=patch,
        context_length=77,
        vocab_size=49408,
        transformer_width=text_width,
        transformer_heads=text_width // 64,
        transformer_layers=12,
    )


def _laion_head(out: Path, seed: int) -> dict[str, Path]:
    from jtbench.models.clip import LAION_AESTHETIC_LINEAR

    torch.manual_seed(seed)
    path = out / LAION_AESTHETIC_LINEAR.filename
    torch.save(torch.nn.Linear(768, 1).state_dict(), path)
    return {LAION_AESTHETIC_LINEAR.id: path}


def _dino(out: Path, seed: int) -> dict[str, Path]:
    from jtbench.models.dino import DINO_VITB16_WEIGHTS, build_dino_vit, randomise_

    model = build_dino_vit(embed_dim=768, depth=12, num_heads=12)
    randomise_(model, seed)
    path = out / DINO_VITB16_WEIGHTS.filename
    torch.save(model.state_dict(), path)
    return {DINO_VITB16_WEIGHTS.id: path}


def _musiq(out: Path, seed: int) -> dict[str, Path]:
    from jtbench.models.musiq import MUSIQ_SPAQ_WEIGHTS, build_musiq, randomise_

    model = build_musiq()  # pyiqa's defaults are the published MUSIQ configuration
    randomise_(model, seed)
    path = out / MUSIQ_SPAQ_WEIGHTS.filename
    torch.save(model.state_dict(), path)
    return {MUSIQ_SPAQ_WEIGHTS.id: path}


def _pickscore(out: Path, seed: int) -> dict[str, Path]:
    """The tiny build writes the processor/tokenizer folder; the model folder is replaced by ViT-H/14."""
    from transformers import CLIPConfig, CLIPModel

    from jtbench.models.pickscore import PICKSCORE_V1

    files = BACKBONES.get("pickscore")().build_tiny(out, seed)
    torch.manual_seed(seed)
    config = CLIPConfig(
        text_config=dict(
            hidden_size=1024,
            intermediate_size=4096,
            num_attention_heads=16,
            num_hidden_layers=24,
            max_position_embeddings=77,
            vocab_size=49408,
            hidden_act="gelu",
            projection_dim=1024,
        ),
        vision_config=dict(
            hidden_size=1280,
            intermediate_size=5120,
            num_attention_heads=16,
            num_hidden_layers=32,
            patch_size=14,
            image_size=224,
            hidden_act="gelu",
            projection_dim=1024,
        ),
        projection_dim=1024,
    )
    CLIPModel(config).eval().save_pretrained(out / PICKSCORE_V1.filename)
    return files


#: Backbones whose tiny build is not already the real architecture. AMT-S, RAFT-large and the LK
#: stand-in have no smaller configuration, so their own ``build_tiny`` is used as is.
PAPER_SIZE_BUILDERS: dict[str, Callable[[Path, int], dict[str, Path]]] = {
    "clip_vit_b_32": _clip_files("clip_vit_b_32", _openai_clip_config(512, 12, 768, 32, 512)),
    "clip_vit_l_14": _clip_files("clip_vit_l_14", _openai_clip_config(768, 24, 1024, 14, 768)),
    "laion_aesthetic_linear": _laion_head,
    "dino_vitb16": _dino,
    "musiq_spaq": _musiq,
    "pickscore": _pickscore,
}


class PaperSizeHub(TimedHub):
    """A hub whose files are real-size random weights (built once into ``root``, then re-loaded)."""

    def __init__(self, root: Path, **kwargs: Any) -> None:
        super().__init__(backbones="tiny", **kwargs)
        self.root = root

    def files(self, name: str) -> dict[str, Path]:
        if name not in self._files:
            folder = self.root / name
            marker = folder / "paper_size.json"
            if marker.is_file():
                files = {k: Path(v) for k, v in json.loads(marker.read_text()).items()}
            else:
                folder.mkdir(parents=True, exist_ok=True)
                build = PAPER_SIZE_BUILDERS.get(name) or BACKBONES.get(name)().build_tiny
                files = build(folder, TINY_SEED)
                marker.write_text(json.dumps({k: str(v) for k, v in files.items()}))
            self._files[name] = files
        return self._files[name]


# -- inputs -------------------------------------------------------------------------------------
def make_videos(folder: Path, count: int, frames: int, size: tuple[int, int]) -> list[VideoEntry]:
    """``count`` distinct clips cut from the shared sample video, resized to ``size``, 8 fps."""
    data = shared_data_dir()
    source = read_video(data / "generated" / "jointtuner_cogvideox" / "bear_plushie_person_playing_flute_0.mp4")
    prompt = (data / "generated" / "jointtuner_cogvideox" / "bear_plushie_person_playing_flute_0.txt").read_text()
    entries = []
    for i in range(count):
        start = (i * 5) % max(1, source.num_frames - frames)
        clip = source.frames[start : start + frames].permute(0, 3, 1, 2).float()
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


def decode_like(decoder: str, path: Path) -> VideoClip:
    """Decode as the official module does (frames are bit-identical to PyAV on h264 yuv420p)."""
    import numpy as np

    if decoder == "decord":
        import decord

        reader = decord.VideoReader(str(path), num_threads=1)
        frames = reader.get_batch(list(range(len(reader)))).asnumpy()
        fps = reader.get_avg_fps()
    else:
        import cv2

        capture = cv2.VideoCapture(str(path))
        fps = capture.get(cv2.CAP_PROP_FPS)
        images = []
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            images.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        capture.release()
        frames = np.stack(images)
    return VideoClip(torch.from_numpy(frames), float(fps), path, file_sha256(path))


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


# -- the two runs -------------------------------------------------------------------------------
def run_jtbench(entries: list[VideoEntry], metrics: list[str], args, weights: Path, out: Path) -> dict[str, float]:
    hub = PaperSizeHub(weights, device=args.device, precision=args.precision)
    scorer = Scorer(metrics, hub=hub, batch_size=args.batch_size)
    start = time.perf_counter()
    report = scorer.score(entries, out)
    _sync(args.device)
    timings = dict(report.timings)
    timings["total"] = time.perf_counter() - start
    if report.unscorable or any(report.metric_failures.values()):
        print("jtbench run problems:", report.unscorable, dict(report.metric_failures), file=sys.stderr)
    return timings


def run_official(entries: list[VideoEntry], metrics: list[str], args, weights: Path) -> dict[str, float]:
    selected = {m.spec.name: m for m in resolve_metrics(metrics)}
    timings: dict[str, float] = defaultdict(float)
    start = time.perf_counter()
    for entry in entries:
        for module in OFFICIAL_MODULES:
            names = [n for n in module.metrics if n in selected]
            if not names:
                continue
            hub = PaperSizeHub(weights, device=args.device, precision=args.precision)  # reload per video
            ctx = ScoringContext(hub=hub, batch_size=module.batch_size)  # nothing shared across videos
            t0 = time.perf_counter()
            clip = decode_like(module.decoder, entry.video)  # decode again for this module
            timings["decode"] += time.perf_counter() - t0
            sample = Sample(clip, entry.prompt, None, entry.reference_image, entry.reference_video)
            for name in names:
                t0 = time.perf_counter()
                selected[name].score(sample, ctx)
                _sync(args.device)
                loaded = sum(hub.load_seconds.values())
                timings["load"] += loaded
                timings[name] += time.perf_counter() - t0 - loaded
                hub.load_seconds.clear()
            del hub, ctx
            gc.collect()
            if args.device.startswith("cuda"):
                torch.cuda.empty_cache()
    timings["total"] = time.perf_counter() - start
    return dict(timings)


def report(jt: dict[str, float], off: dict[str, float], metrics: list[str], n: int, project: int) -> dict[str, Any]:
    rows = []
    print(f"\n{'part':<24}{'jtbench s':>12}{'official s':>12}{'jt s/video':>12}{'off s/video':>13}")
    for part in [*metrics, "decode", "hash", "load", "total"]:
        a, b = jt.get(part, 0.0), off.get(part, 0.0)
        rows.append({"part": part, "jtbench_s": a, "official_s": b})
        print(f"{part:<24}{a:>12.2f}{b:>12.2f}{a / n:>12.2f}{b / n:>13.2f}")
    overhead_jt = jt.get("load", 0) + jt.get("decode", 0) + jt.get("hash", 0)
    overhead_off = off.get("load", 0) + off.get("decode", 0)
    ratio = off["total"] / jt["total"]
    per_video_jt = (jt["total"] - jt.get("load", 0)) / n
    per_video_off = off["total"] / n
    projected_jt = jt.get("load", 0) + per_video_jt * project
    projected_off = per_video_off * project
    print(f"\nratio official/jtbench on {n} videos: {ratio:.2f}x")
    removed = overhead_off - overhead_jt
    print(
        f"overhead (loads + decodes): official {overhead_off:.1f} s, jtbench {overhead_jt:.1f} s, "
        f"removed {removed:.1f} s"
    )
    print(
        f"projection to {project} videos: jtbench {projected_jt / 60:.1f} min, official {projected_off / 60:.1f} min, "
        f"ratio {projected_off / projected_jt:.2f}x"
    )
    return {
        "rows": rows,
        "ratio": ratio,
        "overhead_removed_s": overhead_off - overhead_jt,
        "projection": {"videos": project, "jtbench_min": projected_jt / 60, "official_min": projected_off / 60},
    }


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
    cache = Path(os.environ.get("JTBENCH_CACHE", Path.home() / ".cache" / "jtbench"))
    weights = args.weights_dir or cache / "paper_size_random"
    print(
        f"device {args.device}, threads {torch.get_num_threads()}, "
        f"{args.videos} videos, {args.frames} frames, {height}x{width}"
    )
    print(f"metrics: {', '.join(metrics)}")
    with tempfile.TemporaryDirectory() as tmp:
        entries = make_videos(Path(tmp) / "videos", args.videos, args.frames, (height, width))
        start = time.perf_counter()
        prebuild = PaperSizeHub(weights)
        for metric in resolve_metrics(metrics):
            for name in metric.spec.backbones:
                try:
                    prebuild.files(name)
                except Exception as exc:  # e.g. CoTracker without a local checkout
                    print(f"cannot build {name}: {exc}", file=sys.stderr)
        print(f"real-size random weights ready in {time.perf_counter() - start:.1f} s ({weights})")
        # Warm-up (imports, first-call JIT/allocator costs) on a tiny clip, so neither side pays it.
        warm = make_videos(Path(tmp) / "warm", 1, 4, (128, 128))
        run_jtbench(warm, metrics, args, weights, Path(tmp) / "warm_out")
        jt = run_jtbench(entries, metrics, args, weights, Path(tmp) / "out")
        off = run_official(entries, metrics, args, weights) if not args.skip_official else {"total": float("nan")}
    result = report(jt, off, metrics, args.videos, args.project)
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, **result}, indent=1))


if __name__ == "__main__":
    main()
