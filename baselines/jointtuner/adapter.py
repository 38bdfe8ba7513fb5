"""JointTuner on diffusers: one (gated) LoRA set trained jointly on subject images and motion clips.

Faithful to github fdchen24/JointTuner ``examples/ZeroScope`` (see README.md for every
departure). One training unit per combination. Each step takes the next item in the official
order (all subject images, then all clips, unshuffled, batch 1):

- image item → OFS loss: noise the 16-frame duplicated-image latent, pick one random frame;
  with p = 0.5 re-encode that frame's horizontally flipped pixels and noise them afresh
  instead; feed a **one-frame** latent to the UNet (temporal layers run, as in JT's UNet);
- clip item → AiT loss: 16-frame forward, ``λ · MSE(pred + ε′, ε)`` with ε′ per Table 3 variant.

The seven Table 3 rows are config switches (``variant``); each is also registered as its own
method name (``jointtuner-noise-pixel``, …) so an ablation run keeps its rows apart.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch

from baselines.jointtuner.losses import ait_loss, offset_noise, ofs_loss
from baselines.jointtuner.variants import CONFIG, Variant
from jtbench.benchmark.combinations import Combination
from jtbench.errors import InputError, WeightsError
from jtbench.methods.base import Checkpoint, MethodAdapter, RunSettings, SampleRequest, TrainingData, TrainUnit

WEIGHTS_FILE = "lora.safetensors"
SHORTCUTS = {
    "steps": ("train.steps",),
    "resolution": ("train.resolution", "sample.height", "sample.width"),
    "frames": ("train.frames",),
    "sample_steps": ("sample.steps",),
    "guidance_scale": ("sample.guidance_scale",),
    "seed": ("seed",),
    "variant": ("variant",),
}


def inject_lora(unet: torch.nn.Module, variant: Variant, rank: int, dropout: float):
    """Wrap the official targets (spatial attn1+ff, temporal attn1+attn2+ff incl. transformer_in).

    Returns ``(wrappers, part_of_wrapper)``; parts are "spatial" / "temporal"."""
    from jtbench.methods.t2v.inject import SPATIAL_RULES, TEMPORAL_RULES, find_targets, inject
    from jtbench.methods.t2v.lora import GatedLoRALinear, LoRALinear

    lora_cls = GatedLoRALinear if variant.gated else LoRALinear
    targets = find_targets(unet, {**SPATIAL_RULES, **TEMPORAL_RULES})
    wrappers = inject(targets, lambda t: lora_cls(t.linear, rank, dropout))
    return wrappers, {t.name: t.part for t in targets}


def set_part_scale(wrappers: dict[str, torch.nn.Module], parts: dict[str, str], part: str, scale: float) -> None:
    """Switch one part's classic LoRA branches on (1) or off (0) (gated ones ignore ``scale``;
    ``Variant.from_config`` only lets classic LoRA train in two stages)."""
    for name, wrapper in wrappers.items():
        if parts[name] == part:
            wrapper.scale = scale


def cached_order(n: int) -> list[int]:
    """The official epoch order with cached latents: items are cached as ``cached_{i}.pt`` in
    dataset order (images, then clips) and read back sorted *as strings*, so with 11 or more items
    ``cached_10`` comes before ``cached_2``. Kept, as it decides which item each step sees."""
    return sorted(range(n), key=lambda i: f"cached_{i}.pt")


def _dit_spec(base: str | None) -> Any:
    """The registry entry of a DiT base, or None for the UNet bases (and unknown names, which the
    UNet loader reports)."""
    from jtbench.methods.t2v.bases import BASES

    if base is None or base not in BASES:
        return None
    spec = BASES.get(base)
    return spec if spec.is_dit else None


def _part_of_param(name: str, parts: dict[str, str]) -> str:
    path, _, leaf = name.rpartition(".")
    path, _, module = path.rpartition(".")
    return "gate" if module == "lora_gate" else parts[path]


class JointTuner(MethodAdapter):
    name: ClassVar[str] = "jointtuner"
    description: ClassVar[str] = "JointTuner: one Adaptive LoRA set trained on images and clips (OFS + AiT)"
    config_path: ClassVar[Path | None] = CONFIG
    families: ClassVar[tuple[str, ...]] = ("unet", "cogvideox", "wan")
    #: Subclasses fix a Table 3 variant; None reads ``variant`` from config/overrides.
    fixed_variant: ClassVar[str | None] = None

    # -- configuration --------------------------------------------------------------------
    def resolved_config(self, settings: RunSettings | None = None, base: str | None = None) -> dict[str, Any]:
        """The ZeroScope recipe (config.yaml), or on a DiT base the CogVideoX one (config_dit.yaml)."""
        from jtbench.methods.t2v.config import apply_overrides, load_config

        overrides = dict(settings.overrides) if settings else {}
        if self.fixed_variant:
            if overrides.get("variant", self.fixed_variant) != self.fixed_variant:
                raise InputError(
                    f"{self.name} is the {self.fixed_variant} variant; it cannot run {overrides['variant']}",
                    fix="use the plain `jointtuner` method with a variant override",
                )
            overrides["variant"] = self.fixed_variant
        spec = _dit_spec(base or (settings.base_model if settings else None))
        if spec is not None:
            from baselines.jointtuner.dit import dit_config

            cfg = dit_config(spec, overrides)
            Variant.from_config(cfg)
            return cfg
        cfg = apply_overrides(load_config(CONFIG), overrides, SHORTCUTS, CONFIG)
        Variant.from_config(cfg)  # validate early
        return cfg

    def config(self) -> dict[str, Any]:
        return self.resolved_config()

    def check_base(self, base: str) -> None:
        """Also refuse, before any work, a Table 3 row that has nothing to act on in a DiT."""
        super().check_base(base)
        if (spec := _dit_spec(base)) is not None:
            from baselines.jointtuner.dit import check_variant

            check_variant(Variant.from_config(self.resolved_config(base=base)), spec)

    def sampling_units(self, combination: Combination) -> list[TrainUnit]:
        return [TrainUnit(self.name, "combination", combination.subject, combination.motion)]

    # -- training -------------------------------------------------------------------------
    def train(self, unit: TrainUnit, data: TrainingData, settings: RunSettings, workdir: Path) -> Checkpoint:
        if (spec := _dit_spec(settings.base_model)) is not None:
            from baselines.jointtuner import dit

            return dit.train(self, spec, self.resolved_config(settings), unit, data, settings, workdir)
        from jtbench.methods.t2v import training as T
        from jtbench.methods.t2v.inject import adapter_parameters, mark_trainable, read_metadata, save_adapters
        from jtbench.methods.t2v.latents import cache_latents

        cfg = self.resolved_config(settings)
        tcfg, variant = cfg["train"], Variant.from_config(cfg)
        steps = int(tcfg["steps"])
        workdir = Path(workdir)
        final = workdir / WEIGHTS_FILE
        if final.is_file() and read_metadata(final).get("step") == steps:
            return Checkpoint(unit, final, read_metadata(final))  # already trained
        T.require_files(data.subject_images, "subject image")
        T.require_files(data.motion_clips, "motion clip")
        workdir.mkdir(parents=True, exist_ok=True)
        T.set_seed(int(cfg["seed"]))
        items = T.load_items(
            data.subject_images, data.image_caption, data.motion_clips, data.motion_caption,
            size=int(tcfg["resolution"]), frames=int(tcfg["frames"]), fps=float(tcfg["fps"]),
            bucketing=bool(tcfg["bucketing"]), seed=int(cfg["seed"]),
        )
        setup = T.setup_training(settings, gradient_checkpointing=bool(tcfg["gradient_checkpointing"]))
        c = setup.components
        wrappers, parts = inject_lora(c.unet, variant, int(tcfg["lora_rank"]), float(tcfg["lora_dropout"]))
        mark_trainable(wrappers)
        encoded = cache_latents(items, c.vae, c.latent_scale, cache_file=workdir / "latents.pt")
        params = adapter_parameters(wrappers)
        if variant.union:  # one LoRA set, one AdamW, updated by image and video batches alike
            sets = {"all": list(params.values())}
        else:  # classic separate LoRAs: spatial learns from images, temporal from videos
            sets = {part: [p for n, p in params.items() if _part_of_param(n, parts) == part]
                    for part in ("spatial", "temporal")}
        optimizers = {k: T.make_adamw(v, tcfg) for k, v in sets.items()}
        schedule = self._schedule(encoded, variant, steps, float(tcfg["stage_split"]))

        start, losses = 0, []
        if state := T.load_latest_training_state(workdir, scaler=setup.scaler):
            start, losses = int(state["step"]), list(state["losses"])
            with torch.no_grad():
                for k, p in params.items():
                    p.copy_(state["adapters"][k])
            for k, opt in optimizers.items():
                opt.load_state_dict(state["optimizers"][k])
        c.unet.train()
        every = int(tcfg.get("checkpoint_every") or 0)
        for step in range(start, steps):
            item, set_name = schedule[step]
            if len(sets) > 1:
                for name, group in sets.items():
                    for p in group:
                        p.requires_grad_(name == set_name)
            if not variant.joint:  # stage II trains κ on ε_θ,κ alone: the spatial set is off (paper Alg. 2)
                set_part_scale(wrappers, parts, "spatial", 0.0 if set_name == "temporal" else 1.0)
            with setup.autocast():
                loss = self.loss(setup, item, tcfg, variant)
            setup.backward_step(loss, optimizers[set_name])
            losses.append(float(loss.detach()))
            if every and (step + 1) % every == 0 and step + 1 < steps:
                T.save_training_state(workdir, step + 1, {
                    "adapters": {k: p.detach().cpu() for k, p in params.items()},
                    "optimizers": {k: o.state_dict() for k, o in optimizers.items()}, "losses": losses,
                }, limit=int(tcfg.get("checkpoint_limit") or 1), scaler=setup.scaler)
        c.unet.eval()
        set_part_scale(wrappers, parts, "spatial", 1.0)
        metadata = {
            "method": self.name, "variant": variant.name, "paper_row": variant.paper_row, "unit": unit.key,
            "base_model": settings.base_model, "backbones": settings.backbones, "precision": settings.precision,
            "step": steps, "config": cfg, "final_loss": losses[-1] if losses else None,
        }
        save_adapters(final, wrappers, metadata)
        (workdir / "losses.json").write_text(json.dumps(losses))
        return Checkpoint(unit, final, metadata)

    @staticmethod
    def _schedule(encoded: Sequence[Any], variant: Variant, steps: int, split: float) -> list[tuple[Any, str]]:
        """(item, parameter set) per step: the official unshuffled order, or two stages."""
        def set_for(item: Any) -> str:
            return "all" if variant.union else ("spatial" if item.kind == "image" else "temporal")

        if variant.joint:
            order = [encoded[i] for i in cached_order(len(encoded))]
            return [(order[i % len(order)], set_for(order[i % len(order)])) for i in range(steps)]
        images = [e for e in encoded if e.kind == "image"]
        clips = [e for e in encoded if e.kind == "video"]
        first = round(steps * split)
        return ([(images[i % len(images)], "spatial") for i in range(first)]
                + [(clips[i % len(clips)], "temporal") for i in range(steps - first)])

    @staticmethod
    def loss(setup: Any, item: Any, tcfg: dict[str, Any], variant: Variant) -> torch.Tensor:
        """One step's loss (official ``finetune_unet``), in its RNG order."""
        from jtbench.methods.t2v.latents import encode_frames

        c = setup.components
        latents = item.latents.to(setup.device)
        noise, t, noisy = setup.noised(latents)
        text = setup.text(item.prompt)
        if item.kind == "image":
            idx = int(torch.randint(0, noisy.shape[2], (1,)).item())
            if random.uniform(0, 1) < float(tcfg["hflip_p"]):
                flipped = torch.flip(item.pixels[:, idx], dims=[-1])[:, None].to(setup.device)  # [B, 1, 3, H, W]
                frame_latent = encode_frames(c.vae, flipped, c.latent_scale)
                frame_noise = torch.randn_like(frame_latent)
                model_in, target = c.scheduler.add_noise(frame_latent, frame_noise, t), frame_noise[:, :, 0]
            else:
                model_in, target = noisy[:, :, idx : idx + 1], noise[:, :, idx]
            pred = c.unet(model_in, t, encoder_hidden_states=text).sample
            return ofs_loss(pred, target)
        pred = c.unet(noisy, t, encoder_hidden_states=text).sample
        return ait_loss(pred, noise, offset_noise(variant.offset_noise, pred), float(tcfg["ait_weight"]))

    # -- sampling -------------------------------------------------------------------------
    def sample(self, checkpoints: Sequence[Checkpoint], requests: Sequence[SampleRequest], settings: RunSettings,
               out_dir: Path) -> list[Path]:
        if (spec := _dit_spec(settings.base_model)) is not None:
            from baselines.jointtuner import dit

            return dit.sample(self, spec, self.resolved_config(settings), checkpoints, requests, settings, out_dir)
        from jtbench.methods.t2v.base_model import load_for_settings
        from jtbench.methods.t2v.inject import load_any
        from jtbench.methods.t2v.sampling import SamplerConfig, sample_requests
        from jtbench.methods.t2v.training import dtype_of

        if len(checkpoints) != 1:
            raise InputError(f"{self.name} samples from exactly one checkpoint per combination, got {len(checkpoints)}",
                             fix="pass the combination's checkpoint")
        ckpt = checkpoints[0]
        cfg = self.resolved_config(settings)
        variant, scfg = Variant.from_config(cfg), cfg["sample"]
        trained = ckpt.metadata.get("variant")
        if trained and trained != variant.name:
            raise WeightsError(f"checkpoint was trained as variant {trained!r}, sampling asked for {variant.name!r}",
                               file=ckpt.path, fix="sample with the method (variant) that trained it")
        components = load_for_settings(settings)
        wrappers, _ = inject_lora(components.unet, variant, int(cfg["train"]["lora_rank"]), float(scfg["lora_dropout"]))
        load_any(ckpt.path, wrappers)  # ours, or an official lora/<step>_unet.pt
        dtype = dtype_of(settings.precision)
        components.to(settings.device, unet_dtype=dtype, frozen_dtype=dtype).freeze()
        return sample_requests(components, requests, SamplerConfig.from_section(scfg), out_dir, dtype)

    def sample_defaults(self, settings: RunSettings) -> dict[str, Any]:
        """On a DiT: frames, fps and size of the resolved ``sample`` section (base's clip unless overridden)."""
        if (spec := _dit_spec(settings.base_model)) is None:
            return super().sample_defaults(settings)
        from jtbench.methods.t2v.dit.sampling import DiTSamplerConfig

        scfg = DiTSamplerConfig.from_section(self.resolved_config(settings)["sample"], spec, settings.backbones)
        return {"num_frames": scfg.frames, "fps": scfg.fps, "height": scfg.height, "width": scfg.width}

    # -- parameter counts (jtbench methods info) ------------------------------------------
    def trainable_parameter_counts(self, base_model: str = "zeroscope") -> dict[str, int]:
        from jtbench.methods.t2v.base_model import build_meta_unet
        from jtbench.methods.t2v.inject import adapter_parameters, count_by_part

        if (spec := _dit_spec(base_model)) is not None:
            from baselines.jointtuner import dit

            return dit.parameter_counts(spec, self.resolved_config(base=base_model))
        cfg = self.resolved_config()
        unet = build_meta_unet(base_model)
        wrappers, parts = inject_lora(unet, Variant.from_config(cfg), int(cfg["train"]["lora_rank"]), 0.0)
        return count_by_part(adapter_parameters(wrappers), lambda n: _part_of_param(n, parts))


def _variant_class(variant: str, method_name: str, paper_row: str) -> type[JointTuner]:
    return type(f"JointTuner_{variant}", (JointTuner,), {
        "name": method_name, "fixed_variant": variant, "__module__": __name__,
        "description": f"JointTuner as the paper's Table 3 row {paper_row!r}",
    })


JointTunerNoiseFrame = _variant_class("noise_frame", "jointtuner-noise-frame", "Noise-Frame")
JointTunerNoisePixel = _variant_class("noise_pixel", "jointtuner-noise-pixel", "Noise-Pixel")
JointTunerNoiseVideo = _variant_class("noise_video", "jointtuner-noise-video", "Noise-Video")
JointTunerNoOffsetNoise = _variant_class("no_offset_noise", "jointtuner-no-offset-noise", "-Offset Noise")
JointTunerNoLoraGating = _variant_class("no_lora_gating", "jointtuner-no-lora-gating", "-LoRA Gating")
JointTunerNoLoraUnion = _variant_class("no_lora_union", "jointtuner-no-lora-union", "-LoRA Union")
JointTunerNoJointTraining = _variant_class("no_joint_training", "jointtuner-no-joint-training", "-Joint Training")

