"""CustomTTT on the shared diffusers base — the first public implementation (from CT-supp).

- Subject unit: spatial LoRA (rank 32, dropout 0.1) on the attn1/attn2/ff linears of the spatial
  transformers of the mapped blocks (see ``layers.py``), trained on the subject images as
  one-frame latents with every temporal layer skipped ("without motion modules"), Lion 1e-5,
  500 steps. Checkpoint ``spatial_lora.safetensors``.
- Motion unit: temporal LoRA on the temporal transformers of the mapped blocks, trained on the
  motion clips (16 frames), Lion 5e-5, 500 steps. Checkpoint ``temporal_lora.safetensors``.
- Sampling: both LoRAs combined, then **per prompt** test-time training (``ttt.py``, 30 Lion
  steps at 1e-6 against 5-step DDIM reference latents), then DDIM 25 with CFG 9 at 256×256.
Both training phases use the plain ε-MSE with N(0, I) noise and uniform timesteps (no other loss
is stated); batch size 1, items in sorted order (ours).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from baselines.customttt.data import clip_window, load_clips, load_images
from baselines.customttt.layers import spatial_targets, temporal_targets
from baselines.customttt.losses import diffusion_loss
from baselines.customttt.optim import make_lion
from jtbench.errors import InputError
from jtbench.methods.base import Checkpoint, MethodAdapter, RunSettings, SampleRequest, TrainingData, TrainUnit
from jtbench.methods.t2v.inject import adapter_parameters, inject, mark_trainable, read_metadata, save_adapters
from jtbench.methods.t2v.lora import LoRALinear

CONFIG = Path(__file__).with_name("config.yaml")
FILES = {"subject": "spatial_lora.safetensors", "motion": "temporal_lora.safetensors"}
PART = {"subject": "spatial", "motion": "temporal"}
SHORTCUTS = {
    "steps": ("spatial_lora.steps", "temporal_lora.steps", "ttt.steps"),
    "resolution": ("resolution", "sampling.height", "sampling.width"),
    "frames": ("frames",),
    "sample_steps": ("sampling.steps",),
    "ttt_steps": ("ttt.steps",),
    "reference_steps": ("ttt.reference_steps",),
    "guidance_scale": ("sampling.guidance_scale",),
    "seed": ("seed",),
}


def inject_lora(unet: nn.Module, part: str, cfg: dict[str, Any], dropout: float) -> dict[str, nn.Module]:
    """LoRA wrappers on the mapped spatial or temporal linears (``part`` = spatial | temporal)."""
    layers, rank = cfg["layers"], int(cfg["lora"]["rank"])
    find = spatial_targets if part == "spatial" else temporal_targets
    targets = find(unet, layers[part], tuple(layers["keywords"]))
    if not targets:
        raise InputError(f"no {part} LoRA targets found for CustomTTT", fix="check layers.* in config.yaml")
    return inject(targets, lambda t: LoRALinear(t.linear, rank, dropout))


class CustomTTT(MethodAdapter):
    name = "customttt"
    description = "CustomTTT: spatial + temporal LoRA (Lion), then test-time training of the combination"
    config_path: ClassVar[Path] = CONFIG

    def resolved_config(self, settings: RunSettings | None = None) -> dict[str, Any]:
        from jtbench.methods.t2v.config import apply_overrides, load_config

        return apply_overrides(load_config(CONFIG), dict(settings.overrides) if settings else {}, SHORTCUTS, CONFIG)

    def sampling_units(self, combination) -> list[TrainUnit]:
        return [TrainUnit(self.name, "subject", subject=combination.subject),
                TrainUnit(self.name, "motion", motion=combination.motion)]

    # -- parameter counting (`jtbench methods info`) ---------------------------------------------
    def inject_trainable(self, unet: nn.Module) -> dict[str, dict[str, nn.Parameter]]:
        """Inject both LoRAs into ``unet`` (meta device fine); named parameters per part."""
        cfg = self.resolved_config()
        return {part: adapter_parameters(inject_lora(unet, part, cfg, 0.0))
                for part in ("spatial", "temporal")}

    def trainable_parameter_counts(self, base_model: str = "zeroscope") -> dict[str, int]:
        from jtbench.methods.t2v.base_model import build_meta_unet

        groups = self.inject_trainable(build_meta_unet(base_model))
        return {part: sum(p.numel() for p in params.values()) for part, params in groups.items()}

    # -- training ------------------------------------------------------------------------------
    def train(self, unit: TrainUnit, data: TrainingData, settings: RunSettings, workdir: Path) -> Checkpoint:
        from jtbench.methods.t2v import training as T

        if unit.kind not in FILES:
            raise InputError(f"CustomTTT trains subject and motion units, not {unit.kind!r}",
                             fix="plan CustomTTT with its own sampling_units()")
        cfg = self.resolved_config(settings)
        workdir = Path(workdir)
        final = workdir / FILES[unit.kind]
        if final.is_file():
            return Checkpoint(unit, final, read_metadata(final))
        size, part = int(cfg["resolution"]), PART[unit.kind]
        if unit.kind == "subject":
            T.require_files(data.subject_images, "subject image")
            items, caption = load_images(data.subject_images, size), data.image_caption or ""
            stage = cfg["spatial_lora"]
        else:
            T.require_files(data.motion_clips, "motion clip")
            items, caption = load_clips(data.motion_clips, float(cfg["fps"])), data.motion_caption or ""
            stage = cfg["temporal_lora"]
        workdir.mkdir(parents=True, exist_ok=True)
        T.set_seed(int(cfg["seed"]))
        components = _load_components(settings, cfg)
        unet = components.unet
        wrappers = inject_lora(unet, part, cfg, float(cfg["lora"]["dropout"]))
        for w in wrappers.values():
            w.train()  # LoRA dropout on while training; the frozen base stays in eval mode
        params = mark_trainable(wrappers)
        if part == "spatial":
            from jtbench.methods.t2v.temporal_skip import enable_one_frame_temporal_skip

            enable_one_frame_temporal_skip(unet)  # "trained without the motion modules"
        opt = make_lion(params, float(stage["learning_rate"]), cfg)
        scaler = T.grad_scaler(settings.device, settings.precision)
        text = components.encode_prompt([caption]).float()
        rng, losses = random.Random(int(cfg["seed"])), []
        for step in range(int(stage["steps"])):
            item = items[step % len(items)]
            pixels = item if part == "spatial" else clip_window(item, int(cfg["frames"]), size, rng)
            loss = self.loss(components, pixels.to(components.device), text, settings.precision)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            losses.append(float(loss.detach()))
        meta = {"method": self.name, "unit": unit.key, "part": part, "base_model": components.source,
                "caption": caption, "step": len(losses), "losses": losses, "config": cfg}
        save_adapters(final, wrappers, meta)
        return Checkpoint(unit, final, meta)

    @staticmethod
    def loss(components: Any, pixels: torch.Tensor, text: torch.Tensor, precision: str) -> torch.Tensor:
        """One LoRA-phase loss: encode ``[1, F, 3, S, S]`` pixels, noise at a uniform t, ε-MSE."""
        from jtbench.methods.t2v.latents import encode_frames
        from jtbench.methods.t2v.training import autocast

        latents = encode_frames(components.vae, pixels, components.latent_scale).float()
        noise = torch.randn_like(latents)
        scheduler = components.scheduler
        t = torch.randint(0, scheduler.config.num_train_timesteps, (latents.shape[0],), device=latents.device)
        with autocast(latents.device, precision):
            pred = components.unet(scheduler.add_noise(latents, noise, t), t, encoder_hidden_states=text).sample
        return diffusion_loss(pred, noise)

    # -- sampling ------------------------------------------------------------------------------
    def load_for_sampling(self, checkpoints: Sequence[Checkpoint], settings: RunSettings):
        """The combined model (both LoRAs, dropout off) wrapped in the per-prompt TTT sampler."""
        from baselines.customttt.ttt import CustomTTTSampler
        from jtbench.methods.t2v.inject import load_adapters

        cfg = self.resolved_config(settings)
        by_kind = {c.unit.kind: c for c in checkpoints}
        missing = set(FILES) - set(by_kind)
        if missing:
            raise InputError(f"CustomTTT needs a subject and a motion checkpoint; missing {sorted(missing)}",
                             fix="train both units of the combination first")
        components = _load_components(settings, cfg)
        wrappers = {}
        for kind, part in PART.items():
            injected = inject_lora(components.unet, part, cfg, 0.0)
            load_adapters(by_kind[kind].path, injected)
            wrappers.update(injected)
        for w in wrappers.values():
            w.eval()
        return CustomTTTSampler(components, wrappers, cfg, settings.precision)

    def sample(self, checkpoints: Sequence[Checkpoint], requests: Sequence[SampleRequest], settings: RunSettings,
               out_dir: Path) -> list[Path]:
        sampler = self.load_for_sampling(checkpoints, settings)
        return [sampler.write(req, Path(out_dir)) for req in requests]


def _load_components(settings: RunSettings, cfg: dict[str, Any]):
    from jtbench.methods.t2v.base_model import load_for_settings
    from jtbench.methods.t2v.checkpointing import enable_gradient_checkpointing

    components = load_for_settings(settings).to(settings.device)
    if cfg.get("gradient_checkpointing"):
        enable_gradient_checkpointing(components.unet)
    return components
