"""MotionDirector on diffusers: an image-trained spatial LoRA plus a video-trained temporal LoRA.

Faithful to github showlab/MotionDirector (``MotionDirector_train.py``, ``utils/lora.py``,
``MotionDirector_inference_multi.py``); README.md lists every departure. Two kinds of units:

- **subject** (spatial path): classic LoRA on spatial attn1+ff, trained on the subject's images
  with a one-frame loss; the UNet skips every temporal layer on one-frame inputs, as MD's
  patched UNet does (``num_frames > 1`` guards).
- **motion** (temporal path): classic LoRA on temporal attn1+attn2+ff (``transformer_in``
  included) trained on the motion's clips with the plain + appearance-debiased loss; each step
  also trains a throw-away spatial LoRA (one per clip) on one frame unless masked (p = 0.2);
  separate AdamW optimizers.

Sampling a combination loads the subject's spatial LoRA and the motion's temporal LoRA.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch

from baselines.motiondirector.losses import spatial_loss, temporal_loss
from jtbench.benchmark.combinations import Combination
from jtbench.errors import InputError
from jtbench.methods.base import Checkpoint, MethodAdapter, RunSettings, SampleRequest, TrainingData, TrainUnit

CONFIG = Path(__file__).with_name("config.yaml")
FILES = {"subject": "spatial_lora.safetensors", "motion": "temporal_lora.safetensors"}
SHORTCUTS = {
    "steps": ("spatial.steps", "temporal.steps_multi_clip", "temporal.steps_single_clip"),
    "resolution": ("data.resolution", "sample.height", "sample.width"),
    "frames": ("data.frames",),
    "sample_steps": ("sample.steps",),
    "guidance_scale": ("sample.guidance_scale",),
    "seed": ("seed",),
}


def inject_spatial(unet: torch.nn.Module, rank: int, dropout: float, count: int = 1) -> dict[str, torch.nn.Module]:
    """Classic LoRA on ``Transformer2DModel`` attn1 + ff (a bank of ``count`` when > 1)."""
    from jtbench.methods.t2v.inject import SPATIAL_RULES, find_targets, inject
    from jtbench.methods.t2v.lora import LoRABankLinear, LoRALinear

    if count > 1:
        return inject(find_targets(unet, SPATIAL_RULES), lambda t: LoRABankLinear(t.linear, count, rank, dropout))
    return inject(find_targets(unet, SPATIAL_RULES), lambda t: LoRALinear(t.linear, rank, dropout))


def inject_temporal(unet: torch.nn.Module, rank: int, dropout: float) -> dict[str, torch.nn.Module]:
    """Classic LoRA on ``TransformerTemporalModel`` attn1 + attn2 + ff, ``transformer_in`` included."""
    from jtbench.methods.t2v.inject import TEMPORAL_RULES, find_targets, inject
    from jtbench.methods.t2v.lora import LoRALinear

    return inject(find_targets(unet, TEMPORAL_RULES), lambda t: LoRALinear(t.linear, rank, dropout))


def set_scale(wrappers: dict[str, torch.nn.Module], scale: float, active: int | None = None) -> None:
    for w in wrappers.values():
        w.scale = scale
        if active is not None:
            w.active = active


def epoch_positions(n: int, steps: int, shuffle: bool) -> list[tuple[int, int]]:
    """(item index, position in its epoch) per step. Unshuffled (the official default) the two are
    equal; ``shuffle: true`` reproduces older MD revisions (a fresh torch-RNG permutation per epoch)."""
    out: list[tuple[int, int]] = []
    while len(out) < steps:
        order = torch.randperm(n).tolist() if shuffle else list(range(n))
        out += [(idx, pos) for pos, idx in enumerate(order)]
    return out[:steps]


class MotionDirector(MethodAdapter):
    name: ClassVar[str] = "motiondirector"
    description: ClassVar[str] = "MotionDirector: spatial LoRA on images, temporal LoRA on clips (debiased loss)"
    config_path: ClassVar[Path | None] = CONFIG

    def resolved_config(self, settings: RunSettings | None = None) -> dict[str, Any]:
        from jtbench.methods.t2v.config import apply_overrides, load_config

        return apply_overrides(load_config(CONFIG), dict(settings.overrides) if settings else {}, SHORTCUTS, CONFIG)

    def config(self) -> dict[str, Any]:
        return self.resolved_config()

    def sampling_units(self, combination: Combination) -> list[TrainUnit]:
        return [TrainUnit(self.name, "subject", subject=combination.subject),
                TrainUnit(self.name, "motion", motion=combination.motion)]

    # -- training -------------------------------------------------------------------------
    def train(self, unit: TrainUnit, data: TrainingData, settings: RunSettings, workdir: Path) -> Checkpoint:
        from jtbench.methods.t2v import training as T
        from jtbench.methods.t2v.inject import read_metadata, save_adapters

        trainers = {"subject": self._train_spatial, "motion": self._train_temporal}
        if unit.kind not in trainers:
            raise InputError(f"MotionDirector has no {unit.kind!r} units", fix="use subject or motion units")
        cfg = self.resolved_config(settings)
        final = Path(workdir) / FILES[unit.kind]
        if final.is_file() and read_metadata(final).get("complete"):
            return Checkpoint(unit, final, read_metadata(final))  # already trained
        inputs = data.subject_images if unit.kind == "subject" else data.motion_clips
        T.require_files(inputs, "subject image" if unit.kind == "subject" else "motion clip")
        Path(workdir).mkdir(parents=True, exist_ok=True)
        T.set_seed(int(cfg["seed"]))
        d = cfg["data"]
        items = T.load_items(
            data.subject_images if unit.kind == "subject" else (), data.image_caption,
            data.motion_clips if unit.kind == "motion" else (), data.motion_caption,
            size=int(d["resolution"]), frames=int(d["frames"]), fps=float(d["fps"]), bucketing=bool(d["bucketing"]),
            seed=int(cfg["seed"]),
        )
        wrappers, losses, steps = trainers[unit.kind](cfg, items, settings, Path(workdir))

        metadata = {"method": self.name, "path": "spatial" if unit.kind == "subject" else "temporal",
                    "unit": unit.key, "base_model": settings.base_model, "backbones": settings.backbones,
                    "precision": settings.precision, "step": steps, "complete": True, "config": cfg,
                    "final_loss": losses[-1] if losses else None}
        save_adapters(final, wrappers, metadata)
        (Path(workdir) / f"{final.stem}.losses.json").write_text(json.dumps(losses))
        return Checkpoint(unit, final, metadata)

    def _setup(self, cfg: dict[str, Any], settings: RunSettings):
        from jtbench.methods.t2v import training as T
        from jtbench.methods.t2v.temporal_skip import enable_one_frame_temporal_skip

        setup = T.setup_training(settings, gradient_checkpointing=bool(cfg["train"]["gradient_checkpointing"]))
        enable_one_frame_temporal_skip(setup.components.unet)  # MD's patched UNet: no temporal layers at F = 1
        return setup

    def _adamw(self, params, stage: dict[str, Any], cfg: dict[str, Any], weight_decay: float):
        from jtbench.methods.t2v.training import make_adamw

        return make_adamw(params, {**cfg["train"], "learning_rate": stage["learning_rate"],
                                   "weight_decay": weight_decay})

    def _train_spatial(self, cfg, items, settings, workdir):
        """Image-only training (``train_temporal_lora: False``): the spatial loss every step."""
        from jtbench.methods.t2v.inject import mark_trainable
        from jtbench.methods.t2v.latents import cache_latents

        stage, lora = cfg["spatial"], cfg["lora"]
        setup = self._setup(cfg, settings)
        c = setup.components
        wrappers = inject_spatial(c.unet, int(lora["rank"]), float(lora["dropout"]))
        optimizer = self._adamw(mark_trainable(wrappers), stage, cfg, float(stage["weight_decay"]))
        encoded = cache_latents(items, c.vae, c.latent_scale, cache_file=workdir / "spatial_latents.pt")
        steps = int(stage["steps"])
        c.unet.train()
        losses = []
        for idx, _ in epoch_positions(len(encoded), steps, bool(cfg["data"]["shuffle"])):
            with setup.autocast():
                loss_s, _ = self.losses(setup, encoded[idx], spatial=True, temporal=False,
                                        hflip_p=float(stage["hflip_p"]))
            setup.backward_step(loss_s, optimizer)
            losses.append(float(loss_s.detach()))
        c.unet.eval()
        return wrappers, losses, steps

    def _train_temporal(self, cfg, items, settings, workdir):
        """Video training: masked-or-not spatial step on one frame, then the temporal step."""
        from jtbench.methods.t2v.inject import mark_trainable
        from jtbench.methods.t2v.latents import cache_latents

        stage, lora = cfg["temporal"], cfg["lora"]
        multi = len(items) > 1
        steps = int(stage["steps_multi_clip"] if multi else stage["steps_single_clip"])
        weight_decay = float(stage["weight_decay_multi_clip"] if multi else stage["weight_decay_single_clip"])
        setup = self._setup(cfg, settings)
        c = setup.components
        temporal = inject_temporal(c.unet, int(lora["rank"]), float(lora["dropout"]))
        bank = len(items) if stage["spatial_lora_per_clip"] else 1
        spatial = inject_spatial(c.unet, int(lora["rank"]), float(lora["dropout"]), count=bank)
        temporal_params = mark_trainable(temporal)
        spatial_params = mark_trainable(spatial)
        opt_temporal = self._adamw(temporal_params, stage, cfg, weight_decay)
        # One optimizer per spatial LoRA; each only ever sees its own branch's gradients.
        opt_spatial = [self._adamw(spatial_params, stage, cfg, weight_decay) for _ in range(bank)]
        encoded = cache_latents(items, c.vae, c.latent_scale, cache_file=workdir / "temporal_latents.pt")
        c.unet.train()
        losses = []
        for idx, position in epoch_positions(len(encoded), steps, bool(cfg["data"]["shuffle"])):
            # Upstream picks the spatial LoRA by the step's position in its epoch (= the clip, unshuffled).
            active = position if bank > 1 else 0
            mask_spatial = random.uniform(0, 1) < float(stage["mask_spatial_p"])
            set_scale(spatial, 0.0 if mask_spatial else 1.0, active)
            with setup.autocast():
                loss_s, loss_t = self.losses(setup, encoded[idx], spatial=not mask_spatial, temporal=True,
                                             hflip_p=float(stage["hflip_p"]), beta=float(stage["ad_beta"]),
                                             temporal_wrappers=temporal)
            # Gradients first, then both steps (upstream steps the spatial optimizer between the two
            # backward passes, which only works because autocast keeps fp16 copies of the weights).
            if loss_s is not None:
                spatial_grads = torch.autograd.grad(setup.scaler.scale(loss_s), spatial_params, retain_graph=True,
                                                    allow_unused=True)
            setup.scaler.scale(loss_t).backward(inputs=temporal_params)
            if loss_s is not None:
                for p, g in zip(spatial_params, spatial_grads, strict=True):
                    p.grad = g
                setup.scaler.step(opt_spatial[active])
            setup.scaler.step(opt_temporal)
            setup.scaler.update()
            for opt in (*opt_spatial, opt_temporal):
                opt.zero_grad(set_to_none=True)
            losses.append(float(loss_t.detach()))
        c.unet.eval()
        return temporal, losses, steps

    @staticmethod
    def losses(setup: Any, item: Any, *, spatial: bool, temporal: bool, hflip_p: float, beta: float = 1.0,
               temporal_wrappers: dict[str, torch.nn.Module] | None = None):
        """``(spatial loss | None, temporal loss | None)`` from one noise draw (official ``finetune_unet``)."""
        from jtbench.methods.t2v.latents import encode_frames

        c = setup.components
        latents = item.latents.to(setup.device)
        noise, t, noisy = setup.noised(latents)
        text = setup.text(item.prompt)
        loss_s = loss_t = None
        if spatial:
            if temporal_wrappers:
                set_scale(temporal_wrappers, 0.0)
            idx = int(torch.randint(0, noisy.shape[2], (1,)).item())
            if random.uniform(0, 1) < hflip_p:
                flipped = torch.flip(item.pixels[:, idx], dims=[-1])[:, None].to(setup.device)
                frame_latent = encode_frames(c.vae, flipped, c.latent_scale)
                frame_noise = torch.randn_like(frame_latent)
                model_in, target = c.scheduler.add_noise(frame_latent, frame_noise, t), frame_noise[:, :, 0]
            else:
                model_in, target = noisy[:, :, idx : idx + 1], noise[:, :, idx]
            loss_s = spatial_loss(c.unet(model_in, t, encoder_hidden_states=text).sample, target)
        if temporal:
            if temporal_wrappers:
                set_scale(temporal_wrappers, 1.0)
            pred = c.unet(noisy, t, encoder_hidden_states=text).sample
            anchor = int(torch.randint(0, pred.shape[2], (1,)).item())
            loss_t = temporal_loss(pred, noise, anchor, beta)
        return loss_s, loss_t

    # -- sampling -------------------------------------------------------------------------
    def sample(self, checkpoints: Sequence[Checkpoint], requests: Sequence[SampleRequest], settings: RunSettings,
               out_dir: Path) -> list[Path]:
        from jtbench.methods.t2v.base_model import load_for_settings
        from jtbench.methods.t2v.inject import load_any
        from jtbench.methods.t2v.sampling import SamplerConfig, sample_requests
        from jtbench.methods.t2v.training import dtype_of

        by_kind = {ck.unit.kind: ck for ck in checkpoints}
        if set(by_kind) != {"subject", "motion"} or len(checkpoints) != 2:
            raise InputError(f"MotionDirector samples from one subject and one motion checkpoint, got "
                             f"{sorted(ck.unit.kind for ck in checkpoints)}", fix="pass sampling_units' checkpoints")
        cfg = self.resolved_config(settings)
        scfg, lora = cfg["sample"], cfg["lora"]
        components = load_for_settings(settings)
        spatial = inject_spatial(components.unet, int(lora["rank"]), float(scfg["lora_dropout"]))
        temporal = inject_temporal(components.unet, int(lora["rank"]), float(scfg["lora_dropout"]))
        load_any(by_kind["subject"].path, spatial)  # ours, or official spatial/lora/<step>_unet.pt
        load_any(by_kind["motion"].path, temporal)
        set_scale(spatial, float(scfg["spatial_scale"]))
        set_scale(temporal, float(scfg["temporal_scale"]))
        dtype = dtype_of(settings.precision)
        components.to(settings.device, unet_dtype=dtype, frozen_dtype=dtype).freeze()
        return sample_requests(components, requests, SamplerConfig.from_section(scfg), out_dir, dtype)

    # -- parameter counts (jtbench methods info) ------------------------------------------
    def trainable_parameter_counts(self, base_model: str = "zeroscope") -> dict[str, int]:
        """The two LoRAs used at inference (the per-clip spatial LoRAs of motion training are discarded)."""
        from jtbench.methods.t2v.base_model import build_meta_unet
        from jtbench.methods.t2v.inject import adapter_parameters

        rank = int(self.resolved_config()["lora"]["rank"])
        unet = build_meta_unet(base_model)
        return {"spatial": sum(p.numel() for p in adapter_parameters(inject_spatial(unet, rank, 0.0)).values()),
                "temporal": sum(p.numel() for p in adapter_parameters(inject_temporal(unet, rank, 0.0)).values())}

