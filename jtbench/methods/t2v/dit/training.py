"""One LoRA training loop for the DiT bases (JointTuner's CogVideoX recipe, and the LoRA baseline).

Follows the official ``JointTunerTrainer`` (``examples/CogVideo/finetune/models/cogvideox_t2v/
jointtuner_trainer.py``): latents and T5 states cached once; batch 1, a shuffled epoch order;
per step ``t ~ U{0..999}``, ``noise ~ N(0, I)``, ``x_t = add_noise``; the transformer's
prediction, plus the AiT offset ε′ for clips (``(B, 1, 1, H, W)`` in the model layout, added to
the **prediction**); the family's loss; ``clip_grad_norm_(1.0)``; AdamW at a constant rate.

Precision (``train.fp16_scaler``):

- ``official`` (default, faithful): the official trainer builds its optimizer *after*
  ``accelerator.prepare``, so under fp16 the loss is multiplied by the GradScaler's scale
  (2**16, never updated), the gradients are **never unscaled** before clipping to norm 1.0, and
  inf/NaN steps are **not skipped**. Reproduced exactly: ``(loss · 65536).backward()``, clip, step.
- ``fixed``: a real dynamic GradScaler (unscale, clip, skip non-finite steps, back off).

bf16 and fp32 have no scaler. The wrapped base linears are cast to the run's dtype (official
``add_lora_to_model(weight_dtype=...)``), LoRA weights stay fp32, the rest of the transformer
keeps fp32 weights and runs under autocast.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from jtbench.errors import InputError
from jtbench.methods.t2v import training as T
from jtbench.methods.t2v.dit.data import DiTItem, build_items

#: accelerate's GradScaler starts (and, with the optimizer never prepared, stays) at 2**16.
OFFICIAL_FP16_SCALE = 65536.0


@dataclass
class DiTRun:
    """What a DiT training loop holds: the base, its wrappers, the items and the precision policy."""

    components: Any  # DiTComponents
    wrappers: dict[str, torch.nn.Module]
    items: list[DiTItem]
    device: torch.device
    precision: str


def run_precision(spec: Any, precision: str) -> str:
    """The precision a DiT run trains and samples in: the run's, unless the base forbids it
    (CogVideoX-5B: "Only CogVideoX-2B supports fp16", official trainer)."""
    if spec.precision == "bf16" and precision == "fp16":
        raise InputError(f"{spec.name} trains in bf16 (the official code allows fp16 for CogVideoX-2B only; "
                         "the Wan port keeps bf16 too)",
                         fix="pass --precision bf16 (or fp32 on a CPU)")
    return precision


def clip_size(cfg: dict[str, Any], spec: Any, backbones: str) -> tuple[int, int, int]:
    """(frames, height, width) of a section with optional ``frames``/``height``/``width``: the base's when null."""
    height, width = spec.size(backbones)
    frames = int(cfg.get("frames") or spec.frames)
    return spec.check_frames(frames), int(cfg.get("height") or height), int(cfg.get("width") or width)


def prepare(settings: Any, spec: Any, data: Any, tcfg: dict[str, Any], workdir: Path,
            inject: Callable[[Any], dict[str, torch.nn.Module]]) -> DiTRun:
    """Load the base, cache the items, inject the method's modules and set up the precision."""
    from jtbench.methods.t2v.base_model import load_for_settings
    from jtbench.methods.t2v.inject import mark_trainable

    precision = run_precision(spec, settings.precision)
    frames, height, width = clip_size(tcfg, spec, settings.backbones)
    components = load_for_settings(settings)
    device = torch.device(settings.device)
    dtype = T.dtype_of(precision)
    components.to(device, transformer_dtype=torch.float32, frozen_dtype=dtype)
    if tcfg.get("vae_slicing_tiling", True):
        components.vae.enable_slicing()
        components.vae.enable_tiling()
    clip_prompts = [data.motion_caption or ""] * len(data.motion_clips)
    items = build_items(components, list(data.subject_images), data.image_caption or "", list(data.motion_clips),
                        clip_prompts, frames=frames, height=height, width=width, cache=Path(workdir) / "cache")
    wrappers = inject(components.transformer)
    mark_trainable(wrappers)
    if precision != "fp32":
        for wrapper in wrappers.values():
            wrapper.base.to(dtype)
    if tcfg.get("gradient_checkpointing", True):
        components.transformer.enable_gradient_checkpointing()
    return DiTRun(components, wrappers, items, device, precision)


def epoch_order(n: int, steps: int, seed: int, shuffle: bool = True) -> list[int]:
    """Item index per step: a fresh permutation each epoch (batch-1 shuffled DataLoader), seeded by
    (seed, epoch) so that a resumed run sees the same order."""
    order: list[int] = []
    epoch = 0
    while len(order) < steps:
        if shuffle:
            g = torch.Generator().manual_seed(seed * 100003 + epoch)
            order += torch.randperm(n, generator=g).tolist()
        else:
            order += list(range(n))
        epoch += 1
    return order[:steps]


def step_loss(run: DiTRun, item: DiTItem, offset_kind: str, ait_weight: float = 1.0,
              image_weight: float = 1.0) -> torch.Tensor:
    """One step's loss, in the official RNG order (t, noise, then ε′ for clips)."""
    from baselines.jointtuner.losses import offset_noise

    c = run.components
    x0 = c.family.to_model(item.latents.to(run.device))
    noise, t, noisy = c.family.noised(c.scheduler, x0)
    with T.autocast(run.device, run.precision):
        pred = c.family.forward(c.transformer, noisy, item.text.to(run.device), t)
    # Official dtypes: latents, noise and x_t in the cached latents' dtype (the VAE's: fp16/bf16 in a
    # mixed-precision run), ε′ in the prediction's dtype, the weighted loss in fp32.
    if item.kind == "video" and (offset := offset_noise(offset_kind, pred, dtype=pred.dtype)) is not None:
        pred = pred + offset
    loss = c.family.loss(c.scheduler, pred, x0, noise, noisy, t)
    return loss * (ait_weight if item.kind == "video" else image_weight)


def make_optimizer(params: list[torch.nn.Parameter], tcfg: dict[str, Any]) -> torch.optim.Optimizer:
    """AdamW (JointTuner) or Adam with L2 weight decay (diffusers' CogVideoX LoRA example), constant rate."""
    kind = str(tcfg.get("optimizer", "adamw"))
    if kind == "adamw":
        return T.make_adamw(params, tcfg)
    if kind == "adam":
        return torch.optim.Adam(params, lr=float(tcfg["learning_rate"]), betas=tuple(tcfg["betas"]),
                                eps=float(tcfg["eps"]), weight_decay=float(tcfg["weight_decay"]))
    raise InputError(f"unknown train.optimizer {kind!r}", fix="use adamw or adam")


class Stepper:
    """Backward + clip + AdamW step under the chosen fp16 policy (see the module docstring)."""

    def __init__(self, params: list[torch.nn.Parameter], tcfg: dict[str, Any], device: torch.device,
                 precision: str) -> None:
        if str(tcfg.get("lr_schedule", "constant")) != "constant":
            raise InputError(f"train.lr_schedule {tcfg['lr_schedule']!r} is not implemented for the DiT bases",
                             fix="use constant (both official DiT recipes train at a constant rate)")
        self.params = params
        self.optimizer = make_optimizer(params, tcfg)
        self.clip = float(tcfg.get("max_grad_norm") or 0.0)
        policy = str(tcfg.get("fp16_scaler", "official"))
        if policy not in ("official", "fixed"):
            raise InputError(f"unknown train.fp16_scaler {policy!r}", fix="use official or fixed")
        self.official_fp16 = precision == "fp16" and policy == "official"
        self.scaler = T.grad_scaler(device, precision if policy == "fixed" else "fp32")

    def step(self, loss: torch.Tensor) -> None:
        if self.official_fp16:
            (loss * OFFICIAL_FP16_SCALE).backward()
            self._clip()
            self.optimizer.step()
        else:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
            self._clip()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)

    def _clip(self) -> None:
        if self.clip > 0:
            torch.nn.utils.clip_grad_norm_(self.params, self.clip)


def train_loop(run: DiTRun, tcfg: dict[str, Any], seed: int, workdir: Path, offset_kind: str,
               ait_weight: float = 1.0) -> list[float]:
    """``steps`` optimisation steps with resumable training-state checkpoints; returns the losses."""
    from jtbench.methods.t2v.inject import adapter_parameters

    params = adapter_parameters(run.wrappers)
    stepper = Stepper(list(params.values()), tcfg, run.device, run.precision)
    steps = int(tcfg["steps"])
    order = epoch_order(len(run.items), steps, seed, bool(tcfg.get("shuffle", True)))
    start, losses = 0, []
    if state := T.load_latest_training_state(workdir, scaler=stepper.scaler):
        start, losses = int(state["step"]), list(state["losses"])
        with torch.no_grad():
            for k, p in params.items():
                p.copy_(state["adapters"][k])
        stepper.optimizer.load_state_dict(state["optimizer"])
    run.components.transformer.train()
    every = int(tcfg.get("checkpoint_every") or 0)
    for step in range(start, steps):
        loss = step_loss(run, run.items[order[step]], offset_kind, ait_weight, float(tcfg.get("image_weight", 1.0)))
        stepper.step(loss)
        losses.append(float(loss.detach()))
        if every and (step + 1) % every == 0 and step + 1 < steps:
            T.save_training_state(workdir, step + 1, {
                "adapters": {k: p.detach().cpu() for k, p in params.items()},
                "optimizer": stepper.optimizer.state_dict(), "losses": losses,
            }, limit=int(tcfg.get("checkpoint_limit") or 1), scaler=stepper.scaler)
    run.components.transformer.eval()
    (Path(workdir) / "losses.json").write_text(json.dumps(losses))
    return losses
