"""DreamVideo's training loops on the shared base: subject (textual inversion, then identity
adapter) and motion (motion adapter with appearance guidance).

Shared by all three stages (VGen ``diffusion_ddim.loss`` + ``train_dreamvideo_entrance``):
ε-prediction MSE with offset noise ``ε + 0.1·randn(B, C, F, 1, 1)`` used both to noise the latent
and as the target; timesteps uniform in [0, 1000); AdamW with weight decay 0, a 10-step linear
warm-up then a constant rate; images trained as one-frame videos with the temporal layers
running (VGen does not skip them, and neither does stock diffusers). The subject loss is VGen's
masked loss ``mean((m·pred − m·target)²)``; with no masks m = 1, i.e. the plain MSE.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from baselines.dreamvideo.data import MotionClip, SubjectImage, clip_window
from baselines.dreamvideo.image_encoder import embed_images
from baselines.dreamvideo.modules import (
    IDENTITY_SUBLAYERS,
    MOTION_SUBLAYERS,
    AppearanceCondition,
    TextualInversion,
    adapter_state,
    encode_with_grad,
    inject_adapters,
)
from jtbench.methods.t2v.base_model import T2VComponents
from jtbench.methods.t2v.latents import encode_frames
from jtbench.methods.t2v.training import autocast, grad_scaler


def offset_noise(latents: torch.Tensor, strength: float) -> torch.Tensor:
    """VGen's noise: ``ε + strength · randn(B, C, F, 1, 1)`` (one offset per sample, channel and frame)."""
    b, c, f = latents.shape[:3]
    noise = torch.randn_like(latents)
    if strength:
        noise = noise + strength * torch.randn(b, c, f, 1, 1, device=latents.device, dtype=latents.dtype)
    return noise


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """VGen's ``use_mask_diffusion`` loss: ``mean((m·pred − m·target)²)`` over all elements (not
    normalised by the mask area); ``mask`` is ``[B, 1, 1|F, h, w]`` or None (plain MSE)."""
    if mask is None:
        return F.mse_loss(pred.float(), target.float())
    return F.mse_loss((mask * pred).float(), (mask * target).float())


def make_optimizer(params: list[torch.nn.Parameter], lr: float, opt_cfg: dict[str, Any]):
    """AdamW + VGen's ``AnnealingLR`` with ``decay_mode: none``: linear warm-up, then constant."""
    opt = torch.optim.AdamW(params, lr=lr, betas=tuple(opt_cfg["betas"]), eps=float(opt_cfg["eps"]),
                            weight_decay=float(opt_cfg["weight_decay"]))
    warmup = int(opt_cfg.get("warmup_steps", 0))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) if warmup else 1.0)
    return opt, sched


def _batches(n_items: int, batch: int, rng: random.Random) -> Iterator[list[int]]:
    """Shuffled epochs, ``batch`` items per step (VGen's shuffled DataLoader over a repeated list)."""
    order: list[int] = []
    while True:
        out = []
        while len(out) < batch:
            if not order:
                order = list(range(n_items))
                rng.shuffle(order)
            out.append(order.pop())
        yield out


@dataclass
class StepLog:
    losses: list[float]


def _diffusion_step(components: T2VComponents, latents: torch.Tensor, text: torch.Tensor, strength: float,
                    precision: str, mask: torch.Tensor | None = None) -> torch.Tensor:
    scheduler = components.scheduler
    noise = offset_noise(latents, strength)
    t = torch.randint(0, scheduler.config.num_train_timesteps, (latents.shape[0],), device=latents.device)
    noisy = scheduler.add_noise(latents, noise, t)
    with autocast(latents.device, precision):
        pred = components.unet(noisy, t, encoder_hidden_states=text).sample
    return masked_mse(pred, noise, mask)


def _run(steps: int, opt, sched, scaler, loss_fn: Callable[[int], torch.Tensor],
         after_backward: Callable[[], None] | None = None, after_step: Callable[[], None] | None = None) -> StepLog:
    losses = []
    for step in range(steps):
        loss = loss_fn(step)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        if after_backward:
            after_backward()
        scaler.step(opt)
        scaler.update()
        sched.step()
        if after_step:
            after_step()
        losses.append(float(loss.detach()))
    return StepLog(losses)


def _subject_latents(components: T2VComponents, images: list[SubjectImage], idx: list[int]):
    pixels = torch.cat([images[i].pixels for i in idx])[:, None]  # [B, 1, 3, S, S]
    latents = encode_frames(components.vae, pixels.to(components.device), components.latent_scale).float()
    masks = [images[i].mask for i in idx]
    if any(m is None for m in masks):
        return latents, None
    h, w = latents.shape[-2:]
    mask = F.interpolate(torch.cat(masks), size=(h, w), mode="nearest")[:, :, None]  # [B, 1, 1, h, w]
    return latents, mask.to(latents)


def train_textual_inversion(components: T2VComponents, ti: TextualInversion, images: list[SubjectImage],
                            prompt: str, cfg: dict[str, Any], precision: str, rng: random.Random) -> StepLog:
    """Stage 1: only the placeholder's embedding row trains (VGen ``EmbeddingManager``)."""
    stage, te = cfg["textual_inversion"], components.text_encoder
    weight = te.get_input_embeddings().weight
    weight.requires_grad_(True)
    opt, sched = make_optimizer([weight], float(stage["learning_rate"]), cfg["optimizer"])
    batches = _batches(len(images), int(stage["batch_size"]), rng)

    def loss_fn(_step: int) -> torch.Tensor:
        idx = next(batches)
        latents, mask = _subject_latents(components, images, idx)
        with autocast(components.device, precision):
            text = encode_with_grad(components.tokenizer, te, [prompt] * len(idx))
        return _diffusion_step(components, latents, text, cfg["noise_offset"], precision, mask)

    log = _run(int(stage["steps"]), opt, sched, grad_scaler(components.device, precision), loss_fn,
               after_backward=lambda: ti.keep_only_token_grad(te), after_step=lambda: ti.restore_other_rows(te))
    weight.requires_grad_(False)
    return log


def train_identity_adapter(components: T2VComponents, images: list[SubjectImage], prompt: str, cfg: dict[str, Any],
                           precision: str, rng: random.Random) -> tuple[dict[str, torch.nn.Parameter], StepLog]:
    """Stage 2: identity adapters ∥ every spatial cross-attention, embedding frozen."""
    stage = cfg["identity_adapter"]
    adapters = inject_adapters(components.unet, "Transformer2DModel", IDENTITY_SUBLAYERS,
                               hidden_ratio=float(stage["hidden_ratio"]))
    params = adapter_state(adapters)
    for p in params.values():
        p.requires_grad_(True)
    opt, sched = make_optimizer(list(params.values()), float(stage["learning_rate"]), cfg["optimizer"])
    batches = _batches(len(images), int(stage["batch_size"]), rng)
    text1 = components.encode_prompt([prompt]).float()

    def loss_fn(_step: int) -> torch.Tensor:
        idx = next(batches)
        latents, mask = _subject_latents(components, images, idx)
        return _diffusion_step(components, latents, text1.expand(len(idx), -1, -1), cfg["noise_offset"],
                               precision, mask)

    steps = steps_to_train(int(stage["steps"]), stage.get("sample_step"))
    log = _run(steps, opt, sched, grad_scaler(components.device, precision), loss_fn)
    return params, log


def steps_to_train(total: int, sample_step: int | None) -> int:
    """The stage's step count, or the step whose adapter sampling uses when that comes earlier.

    VGen's joint inference loads intermediate adapters (``identity_adapter_index`` /
    ``motion_adapter_index``). The weights after step k of a longer run equal a k-step run —
    the rate is constant after the warm-up and nothing depends on the total — so the steps
    after the sampled one would change nothing that is used: they are not run."""
    return total if sample_step is None else min(total, int(sample_step))


def clip_kind(num_clips: int) -> str:
    """VGen's two motion recipes: ``multi_clip`` (playingGuitar, 15 clips) or ``single_clip`` (carTurn)."""
    return "multi_clip" if num_clips > 1 else "single_clip"


def motion_schedule(cfg: dict[str, Any], num_clips: int) -> tuple[int, int, float]:
    """(steps to train, batch size, p_image_zero) for a single- or multi-clip motion (JT supp. C.1, VGen)."""
    stage, kind = cfg["motion_adapter"], clip_kind(num_clips)
    steps = steps_to_train(int(stage[f"steps_{kind}"]), stage.get(f"sample_step_{kind}"))
    return steps, int(stage[f"batch_size_{kind}"]), float(stage[f"p_zero_image_{kind}"])


def train_motion_adapter(components: T2VComponents, encoder: Any, clips: list[MotionClip], caption: str,
                         cfg: dict[str, Any], precision: str, rng: random.Random,
                         ) -> tuple[dict[str, torch.nn.Parameter], StepLog]:
    """Motion adapters ∥ temporal attn1/attn2/ff, conditioned on a random frame's CLIP embedding."""
    stage = cfg["motion_adapter"]
    steps, batch, p_image = motion_schedule(cfg, len(clips))
    condition = AppearanceCondition()
    adapters = inject_adapters(components.unet, "TransformerTemporalModel", MOTION_SUBLAYERS,
                               hidden_ratio=float(stage["hidden_ratio"]),
                               condition_dim=int(encoder.config.projection_dim), condition=condition)
    params = adapter_state(adapters)
    for p in params.values():
        p.requires_grad_(True)
    opt, sched = make_optimizer(list(params.values()), float(stage["learning_rate"]), cfg["optimizer"])
    frame_embeds = [embed_images(encoder, c.frames).to(components.device) for c in clips]  # every frame, once
    frames = min(int(cfg["frames"]), *(c.frames.shape[0] for c in clips))
    size = int(cfg["resolution"])
    texts = {caption: components.encode_prompt([caption]).float(), "": components.encode_prompt([""]).float()}
    batches = _batches(len(clips), batch, rng)
    p_text, strength = float(stage["p_zero_text"]), float(stage["condition_strength"])

    def loss_fn(_step: int) -> torch.Tensor:
        idx = next(batches)
        windows, embeds, prompts = [], [], []
        for i in idx:
            window, k = clip_window(clips[i], frames, size, rng)
            windows.append(window)
            keep_image = rng.random() >= p_image
            embeds.append(frame_embeds[i][k] if keep_image else torch.zeros_like(frame_embeds[i][k]))
            prompts.append(caption if rng.random() >= p_text else "")
        pixels = torch.stack(windows).to(components.device)  # [B, F, 3, S, S]
        latents = encode_frames(components.vae, pixels, components.latent_scale).float()
        text = torch.cat([texts[p] for p in prompts])
        condition.set(torch.stack(embeds), strength)
        return _diffusion_step(components, latents, text, cfg["noise_offset"], precision)

    log = _run(steps, opt, sched, grad_scaler(components.device, precision), loss_fn)
    return params, log
