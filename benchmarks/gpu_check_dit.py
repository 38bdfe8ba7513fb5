"""The DiT stage of ``gpu_check.py``: JointTuner's CogVideoX-2B train step and a few sampler steps.

Real size: the CogVideoX-2B transformer (``bases.COGVIDEOX_2B``) with random weights, JointTuner's
180 gated LoRAs (r = 128), gradient checkpointing, fp16 — the official recipe on one 24 GB GPU.
The official trainer caches T5 states and VAE latents before training and unloads both, so no
T5-XXL or VAE is built here: random cached text states ``[1, 226, 4096]`` and latents of a 49 × 480
× 720 clip (``[1, 16, 13, 60, 90]``) and of an image (one latent frame) stand in. Steps alternate
clip / image, go through jtbench's own ``step_loss`` and ``Stepper`` (official fp16 policy), and
are timed after a warm-up; then ``CogVideoXPipeline`` runs a few of its 50 DPM steps from cached
embeddings (``output_type="latent"``: the VAE decode is not timed). ``--tiny``: the tiny config at
9 frames × 64 × 96 on the CPU, same code.
"""

from __future__ import annotations

import time
from typing import Any

import torch
from gpu_budget import Stage
from scoring_structures import peak_gib, reset_peak, sync

#: Latent clip and text shapes: 49 × 480 × 720 → (13, 16, 60, 90) in CogVideoX's (F, C, H, W); 226 T5 tokens.
REAL = {"latent": (13, 16, 60, 90), "text": (226, 4096), "frames": 49, "height": 480, "width": 720}
TINY = {"latent": (3, 4, 8, 12), "text": (16, 32), "frames": 9, "height": 64, "width": 96}
SAMPLER_STEPS = 3


class _Cached:
    """What a DiT training run holds after caching: only the transformer, its family and scheduler."""

    def __init__(self, transformer: Any, scheduler: Any) -> None:
        from jtbench.methods.t2v.bases import base_spec
        from jtbench.methods.t2v.dit.families import family_of

        self.spec = base_spec("cogvideox-2b")
        self.family = family_of(self.spec)
        self.transformer, self.scheduler = transformer, scheduler


def build(opts: Any) -> tuple[Any, Any]:
    """The random transformer on the device (fp32 master weights, as the trainer loads it) and the real scheduler."""
    from diffusers import CogVideoXDPMScheduler, CogVideoXTransformer3DModel

    from jtbench.methods.t2v.bases import COGVIDEOX_2B
    from jtbench.methods.t2v.dit.tiny import COGVIDEOX_SCHEDULER, TINY_COGVIDEOX

    torch.manual_seed(0)
    with torch.device(opts.device):
        transformer = CogVideoXTransformer3DModel(**(TINY_COGVIDEOX if opts.tiny else COGVIDEOX_2B))
    return transformer, CogVideoXDPMScheduler(**COGVIDEOX_SCHEDULER)


def dit_stage(stage: Stage, opts: Any) -> None:
    """Train steps (s/step, peak memory) then sampler steps of JointTuner on CogVideoX-2B."""
    stage.plan(["train jointtuner/cogvideox-2b", "sample jointtuner/cogvideox-2b"])
    shapes = TINY if opts.tiny else REAL
    holder: dict[str, Any] = {}
    if not stage.fits("train jointtuner/cogvideox-2b", 5.0 if opts.tiny else 60.0):
        return
    with stage.item("train jointtuner/cogvideox-2b") as row:
        holder.update(train_steps(opts, shapes, row))
    if "transformer" not in holder:
        stage.skip("sample jointtuner/cogvideox-2b", "no transformer: the training item failed")
        return
    if stage.fits("sample jointtuner/cogvideox-2b", 5.0 if opts.tiny else 30.0):
        with stage.item("sample jointtuner/cogvideox-2b") as row:
            sampler_steps(opts, shapes, holder["transformer"], holder["scheduler"], row)


def train_steps(opts: Any, shapes: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    from baselines.jointtuner.adapter import Variant
    from baselines.jointtuner.dit import dit_config, inject_dit
    from jtbench.methods.t2v.dit.data import DiTItem
    from jtbench.methods.t2v.dit.training import DiTRun, Stepper, step_loss
    from jtbench.methods.t2v.inject import adapter_parameters, mark_trainable
    from jtbench.methods.t2v.training import dtype_of

    start = time.perf_counter()
    transformer, scheduler = build(opts)
    cached = _Cached(transformer, scheduler)
    cfg = dit_config(cached.spec, {})
    tcfg, variant = cfg["train"], Variant.from_config(cfg)
    wrappers = inject_dit(transformer, cached.family, variant, tcfg, float(tcfg["lora_dropout"]))
    mark_trainable(wrappers)
    if opts.precision != "fp32":
        for wrapper in wrappers.values():
            wrapper.base.to(dtype_of(opts.precision))
    transformer.enable_gradient_checkpointing()
    build_s = time.perf_counter() - start
    f, c, h, w = shapes["latent"]
    dtype = dtype_of(opts.precision)  # the cache holds what the fp16/bf16 VAE and T5 wrote
    text = torch.randn(1, *shapes["text"]).to(dtype)
    items = [DiTItem("video", torch.randn(1, c, f, h, w).to(dtype), text, "clip", None),
             DiTItem("image", torch.randn(1, c, 1, h, w).to(dtype), text, "image", None)]
    run = DiTRun(cached, wrappers, items, torch.device(opts.device), opts.precision)
    stepper = Stepper(list(adapter_parameters(wrappers).values()), tcfg, run.device, opts.precision)
    transformer.train()
    reset_peak(opts.device)
    times: dict[str, list[float]] = {"video": [], "image": []}
    for i in range(opts.warmup_steps + opts.measured_steps):
        for item in items:
            sync(opts.device)
            t0 = time.perf_counter()
            stepper.step(step_loss(run, item, variant.offset_noise, float(tcfg["ait_weight"])))
            sync(opts.device)
            if i >= opts.warmup_steps:
                times[item.kind].append(time.perf_counter() - t0)
    trainable = sum(p.numel() for p in adapter_parameters(wrappers).values())
    video_s = sum(times["video"]) / len(times["video"])
    image_s = sum(times["image"]) / len(times["image"])
    # The official unit: 5 images + 5 clips, shuffled, 1000 steps → about half of each kind.
    full = int(tcfg["steps"])
    row.update(method="jointtuner", base="cogvideox-2b", unit="combination", precision=opts.precision,
               frames=shapes["frames"], height=shapes["height"], width=shapes["width"],
               latent=list(shapes["latent"]), trainable_parameters=trainable, lora_targets=len(wrappers),
               gradient_checkpointing=True, build_s=round(build_s, 2),
               s_per_step_video=round(video_s, 4), s_per_step_image=round(image_s, 4),
               s_per_step=round((video_s + image_s) / 2, 4), steps_timed=len(times["video"]) + len(times["image"]),
               peak_gib=peak_gib(opts.device), full_steps=full,
               projected_full_min=round(full * (video_s + image_s) / 2 / 60, 2),
               note="random weights; cached random T5 states and latents (no T5/VAE); half clips, half images")
    transformer.eval()
    return {"transformer": transformer, "scheduler": scheduler}


def sampler_steps(opts: Any, shapes: dict[str, Any], transformer: Any, scheduler: Any, row: dict[str, Any]) -> None:
    from diffusers import CogVideoXPipeline

    from jtbench.methods.t2v.dit.families import CogVideoXFamily
    from jtbench.methods.t2v.training import dtype_of

    dtype = dtype_of(opts.precision)
    transformer.to(dtype)
    pipe = CogVideoXPipeline(tokenizer=None, text_encoder=None, vae=None, transformer=transformer,
                             scheduler=CogVideoXFamily().sampling_scheduler(scheduler))
    pipe.set_progress_bar_config(disable=True)
    text = torch.randn(1, *shapes["text"], device=opts.device, dtype=dtype)
    marks: list[float] = []

    def on_step(pipeline: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        sync(opts.device)
        marks.append(time.perf_counter())
        if step + 1 >= SAMPLER_STEPS:
            pipeline._interrupt = True
        return kwargs

    reset_peak(opts.device)
    sync(opts.device)
    start = time.perf_counter()
    with torch.no_grad():
        pipe(prompt_embeds=text, negative_prompt_embeds=torch.zeros_like(text), height=shapes["height"],
             width=shapes["width"], num_frames=shapes["frames"], num_inference_steps=50, guidance_scale=6.0,
             use_dynamic_cfg=True, generator=torch.Generator().manual_seed(0), output_type="latent",
             callback_on_step_end=on_step)
    steps = [b - a for a, b in zip([start, *marks], marks, strict=False)]
    per_step = sum(steps[1:]) / max(len(steps) - 1, 1) if len(steps) > 1 else steps[0]
    row.update(method="jointtuner", base="cogvideox-2b", precision=opts.precision, frames=shapes["frames"],
               height=shapes["height"], width=shapes["width"], sampler="CogVideoXDPMScheduler "
               "trailing, CFG 6 dynamic (uncond+cond in one batch)", steps_run=len(steps),
               s_per_sampler_step=round(per_step, 4), peak_gib=peak_gib(opts.device),
               projected_s_per_video=round(50 * per_step, 1),
               note="denoising only: 50 x s/step; the VAE decode of 49 frames and T5 are not included")
