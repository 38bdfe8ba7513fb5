"""Step time and peak GPU memory of one JointTuner training step, and the time of one sampled video.

    .venv/bin/python benchmarks/train_step.py [--precision fp16,bf16] [--steps 5] [--size 384]
                                              [--frames 16] [--sample-steps 30] [--no-checkpointing]
    .venv/bin/python benchmarks/train_step.py --tiny      # the same code path on the tiny pipeline, any device

Real size means the ZeroScope/ModelScope UNet (1.41 B parameters), the SD-style VAE and the
OpenCLIP-H text tower, all with random weights (no download): the cost of a step does not
depend on the weights. The paper reports 17 GB and ~30 minutes for 2000 steps on one GPU
(JT-paper §4.1). Needs CUDA for the real-size run; on a CPU it says so and exits with code 2.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
from real_size_t2v import build_components  # beside this script


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _peak_gib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else None


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()


def time_training(components, device, precision: str, args) -> dict[str, float | None]:
    from baselines.jointtuner.adapter import JointTuner, Variant, inject_lora
    from jtbench.methods.base import get_method
    from jtbench.methods.t2v.checkpointing import enable_gradient_checkpointing
    from jtbench.methods.t2v.inject import mark_trainable
    from jtbench.methods.t2v.latents import EncodedItem
    from jtbench.methods.t2v.training import TrainingSetup, dtype_of, grad_scaler, make_adamw

    cfg = get_method("jointtuner").config()
    tcfg, variant = cfg["train"], Variant.from_config(cfg)
    components.to(device, unet_dtype=torch.float32, frozen_dtype=dtype_of(precision))
    wrappers, _ = inject_lora(components.unet, variant, int(tcfg["lora_rank"]), float(tcfg["lora_dropout"]))
    if not args.no_checkpointing:
        enable_gradient_checkpointing(components.unet)
    optimizer = make_adamw(mark_trainable(wrappers), tcfg)
    setup = TrainingSetup(components, device, precision, grad_scaler(device, precision), {})
    h = args.size // components.vae_scale_factor
    pixels = torch.rand(1, args.frames, 3, args.size, args.size) * 2 - 1
    items = {
        "ofs": EncodedItem("image", torch.randn(1, 4, args.frames, h, h, device=device), pixels,
                           "A bear plushie.", None),
        "ait": EncodedItem("video", torch.randn(1, 4, args.frames, h, h, device=device), pixels,
                           "A person playing the flute.", None),
    }
    components.unet.train()
    out: dict[str, float | None] = {}
    for name, item in items.items():
        times = []
        _reset_peak(device)
        for i in range(args.warmup + args.steps):
            _sync(device)
            start = time.perf_counter()
            with setup.autocast():
                loss = JointTuner.loss(setup, item, tcfg, variant)
            setup.backward_step(loss, optimizer)
            _sync(device)
            if i >= args.warmup:
                times.append(time.perf_counter() - start)
        out[f"{name}_step_s"] = statistics.median(times)
        out[f"{name}_peak_gib"] = _peak_gib(device)
    components.unet.eval()
    return out


def time_sampling(components, device, precision: str, args) -> dict[str, float | None]:
    from jtbench.methods.base import get_method
    from jtbench.methods.t2v.sampling import SamplerConfig, sample_video
    from jtbench.methods.t2v.training import dtype_of

    scfg = get_method("jointtuner").config()["sample"]
    dtype = dtype_of(precision)
    components.to(device, unet_dtype=dtype, frozen_dtype=dtype)
    cfg = SamplerConfig(steps=args.sample_steps, guidance_scale=float(scfg["guidance_scale"]),
                        negative_prompt=scfg["negative_prompt"], height=args.size, width=args.size,
                        num_frames=args.frames)
    _reset_peak(device)
    _sync(device)
    start = time.perf_counter()
    frames = sample_video(components, "A bear plushie playing the flute on the grass.", 696886, cfg, dtype)
    _sync(device)
    assert frames.shape == (args.frames, args.size, args.size, 3)
    return {"sample_video_s": time.perf_counter() - start, "sample_peak_gib": _peak_gib(device)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precision", default="fp16,bf16")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--sample-steps", type=int, default=30)
    parser.add_argument("--no-checkpointing", action="store_true")
    parser.add_argument("--tiny", action="store_true", help="tiny random pipeline (any device): checks the code path")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    if not args.tiny and device.type != "cuda":
        print("train_step.py measures a real-size JointTuner step and needs CUDA (none found); "
              "use --tiny to run the same code path on the tiny pipeline", file=sys.stderr)
        return 2
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    for precision in args.precision.split(","):
        components = build_components(args.tiny, device)
        result = {**time_training(components, device, precision, args),
                  **time_sampling(components, device, precision, args)}
        gpu = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
        shown = ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items())
        print(f"[{gpu}] {'tiny' if args.tiny else 'real-size'} {args.size}x{args.size}x{args.frames} {precision} "
              f"checkpointing={not args.no_checkpointing}: {shown}")
        del components
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
