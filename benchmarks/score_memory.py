"""Peak memory and time per metric on real video sizes, each metric in its own child process.

Real-size architectures with seeded random weights (``paper_size_weights.py``, through
``scoring_structures.PaperSizeHub``; Mot-Fid uses tiny mode's LK stand-in tracker, CoTracker is not on
PyPI) score a synthetic moving clip of each size through ``jtbench``'s Scorer, one metric per
child. The child reports the peak RSS of the whole process (``VmHWM``: weights, decoded video and
the metric's working memory) and the growth over the metric alone (the high-water mark reset
before it where the kernel allows, ``/proc/self/clear_refs``), and the metric's wall time with
models already loaded. The parent samples the child's RSS and kills it past ``--cap`` (default
10 GB) or ``--timeout`` seconds, recording "killed" with the RSS it had reached, so a run that
would exhaust the machine is reported rather than suffered. The script only uses the Scorer's
public surface, so it also measures older commits (``PYTHONPATH=<old checkout>``)::

    nice .venv/bin/python benchmarks/score_memory.py --sizes 256x256x16,1280x720x16 --json out.json
    nice .venv/bin/python benchmarks/score_memory.py --max-memory 4GB --metrics Mot-Smth --sizes 1920x1080x49
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SIZES = "256x256x16,720x480x49,1280x720x16,1920x1080x49"
COLUMNS = ("CLIP-T", "CLIP-I", "Mot-Fid", "Mot-Smth", "Dyn-Deg", "Subj-Con", "Bkgd-Con", "Pick-Sc", "Aesth-Q", "Img-Q")
GB = 1024**3


def synthetic_clip(path: Path, width: int, height: int, frames: int, fps: float = 8.0) -> Path:
    """A textured scene drifting 1 % of the width per frame (real motion for RAFT/AMT), h264 at ``fps``."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from jtbench.io.video import write_video

    gen = torch.Generator().manual_seed(width * 7 + height)
    coarse = torch.rand(1, 3, 24, 40, generator=gen) * 255
    canvas = F.interpolate(coarse, size=(height, width * 2), mode="bicubic", align_corners=False)
    step = max(1, width // 100)
    clip = [canvas[0, :, :, i * step : i * step + width] for i in range(frames)]
    pixels = torch.stack(clip).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return write_video(np.ascontiguousarray(pixels), path, fps=fps)


def _vm_hwm() -> int:
    match = re.search(r"^VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return int(match.group(1)) * 1024


def _rss() -> int:
    match = re.search(r"^VmRSS:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return int(match.group(1)) * 1024


def child(metric: str, video: Path, reference: Path, image: Path, weights: Path, out: Path, max_memory: str) -> dict:
    """Score one video with one metric; the numbers this process measured."""
    import torch

    sys.path.insert(0, str(HERE))
    from scoring_structures import PaperSizeHub, Setup

    from jtbench.io.layout import VideoEntry
    from jtbench.metrics.scorer import Scorer, resolve_metrics

    torch.manual_seed(0)
    hub = PaperSizeHub(Setup(device="cpu", precision="anchor", batch_size=16, weights=weights))
    (selected,) = resolve_metrics([metric])
    kwargs = {"max_memory": _parse(max_memory)} if max_memory else {}
    scorer = Scorer([selected], hub=hub, batch_size=16, **kwargs)
    for name in selected.spec.backbones if metric != "Mot-Fid" else ("lk_tracker",):
        hub.get(name)  # load outside the measured part
    entry = VideoEntry(video, video.name, prompt="a plush bear playing the flute on a lawn", method="mem",
                       reference_image=image, reference_video=reference)  # fmt: skip
    base = _rss()
    try:
        Path("/proc/self/clear_refs").write_text("5")
        resettable = True
    except OSError:
        resettable = False
    start = time.perf_counter()
    report = scorer.score([entry], out)
    seconds = time.perf_counter() - start
    peak = _vm_hwm()
    from jtbench.io.tables import read_results

    value, errors = float("nan"), ""
    if (out / "results.parquet").is_file():
        row = read_results(out / "results.parquet").iloc[0]
        value = float(row[selected.spec.column])
        errors = row.get("errors") if isinstance(row.get("errors"), str) else ""
    if report.unscorable:
        errors += "; ".join(u.problem for u in report.unscorable)
    return {
        "peak_rss_gb": peak / GB,
        "metric_growth_gb": (peak - base) / GB if resettable else None,
        "seconds": seconds,
        "value": value,
        "errors": errors[:300],
    }


def _parse(text: str) -> int:
    from jtbench.metrics.memory import parse_memory

    return parse_memory(text)


def run_child(args, metric: str, video: Path, reference: Path, image: Path, out: Path) -> dict:
    """The child under a RSS cap and a timeout; what it reported, or how it was stopped."""
    import psutil

    cmd = [sys.executable, __file__, "--child", metric, str(video), str(reference), str(image), str(out)]
    cmd += ["--weights-dir", str(args.weights_dir), "--max-memory", args.max_memory or ""]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    start, seen, stopped = time.perf_counter(), 0, None
    while proc.poll() is None:
        try:
            seen = max(seen, psutil.Process(proc.pid).memory_info().rss)
        except psutil.Error:
            pass
        if seen > args.cap:
            stopped = f"killed at {seen / GB:.1f} GB RSS (cap {args.cap / GB:.0f} GB)"
        elif time.perf_counter() - start > args.timeout:
            stopped = f"timeout after {args.timeout:.0f} s ({seen / GB:.1f} GB RSS reached)"
        if stopped:
            proc.kill()
            break
        time.sleep(0.2)
    stdout, stderr = proc.communicate()
    if stopped:
        return {"stopped": stopped, "seen_rss_gb": seen / GB}
    if proc.returncode != 0:
        return {"stopped": f"died (exit {proc.returncode}): {stderr.strip()[-200:]}", "seen_rss_gb": seen / GB}
    return json.loads(stdout.strip().splitlines()[-1]) | {"seen_rss_gb": seen / GB}


def _cell(result: dict) -> str:
    if "stopped" in result:
        return result["stopped"].split(" (")[0] if "timeout" in result["stopped"] else result["stopped"][:40]
    value = "NaN" if result["value"] != result["value"] else f"{result['value']:.2f}"
    return f"{result['peak_rss_gb']:.2f} GB, {result['seconds']:.1f} s, {value}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="WxHxFRAMES, comma-separated")
    parser.add_argument("--metrics", default=",".join(COLUMNS))
    parser.add_argument("--max-memory", default=None, help="passed to the Scorer (e.g. 4GB)")
    parser.add_argument("--cap", type=float, default=10.0, help="GB of child RSS before it is killed")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per metric and size")
    parser.add_argument("--weights-dir", type=Path, default=Path.home() / ".cache" / "jtbench" / "paper_size_random")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        metric, video, reference, image, out = args.child
        result = child(metric, Path(video), Path(reference), Path(image), args.weights_dir, Path(out), args.max_memory)
        print(json.dumps(result))
        return
    args.cap = int(args.cap * GB)
    sys.path.insert(0, str(HERE.parent))
    from PIL import Image

    results: dict[str, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        reference = synthetic_clip(root / "reference.mp4", 256, 256, 16)
        image = root / "reference.png"
        Image.new("RGB", (320, 240), (120, 90, 60)).save(image)
        for size in args.sizes.split(","):
            width, height, frames = (int(v) for v in size.lower().split("x"))
            video = synthetic_clip(root / f"clip_{size}.mp4", width, height, frames)
            results[size] = {}
            for metric in args.metrics.split(","):
                out = root / f"out_{size}_{metric}"
                result = run_child(args, metric, video, reference, image, out)
                results[size][metric] = result
                print(f"{size} {metric}: {json.dumps(result)}", flush=True)
                if args.json:
                    args.json.write_text(json.dumps({"args": vars(args) | {"weights_dir": str(args.weights_dir),
                                                                          "json": str(args.json)},
                                                     "results": results}, indent=1, default=str))  # fmt: skip
    print("\n| metric | " + " | ".join(results) + " |")
    print("|---" * (len(results) + 1) + "|")
    for metric in args.metrics.split(","):
        print(f"| {metric} | " + " | ".join(_cell(results[s][metric]) for s in results) + " |")
    print("\ncells: peak RSS of the whole process, metric wall time (models loaded), value")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    main()
