"""JointTuner on the DiT bases: the official CogVideoX recipe, and jtbench's Wan2.1 port.

Official code: github fdchen24/JointTuner ``examples/CogVideo/finetune`` (brief §1). Adaptive LoRA on
every ``nn.Linear`` under a ``CogVideoXBlock`` whose path contains ``attn1`` or ``ff`` (6 per block:
``attn1.to_q/to_k/to_v/to_out.0``, ``ff.net.0.proj``, ``ff.net.2``); gate N(0, 1/r) × ``lora_alpha``;
one LoRA set for images and clips ("joint" part, no spatial/temporal split). Images train as 1-frame
videos with the plain loss, clips as 49-frame videos with the AiT offset added to the prediction.
Wan2.1 applies the same rule to ``WanTransformerBlock`` — a jtbench port, labelled so everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from baselines.jointtuner.variants import Variant
from jtbench.errors import InputError, WeightsError
from jtbench.methods.base import Checkpoint, RunSettings, SampleRequest, TrainingData, TrainUnit

DIT_CONFIG = Path(__file__).with_name("config_dit.yaml")
WEIGHTS_FILE = "lora.safetensors"
DIT_SHORTCUTS = {
    "steps": ("train.steps",),
    "resolution": ("train.height", "train.width", "sample.height", "sample.width"),
    "frames": ("train.frames", "sample.frames"),
    "sample_steps": ("sample.steps",),
    "guidance_scale": ("sample.guidance_scale",),
    "seed": ("seed",),
    "variant": ("variant",),
}
JOINT_PART = "joint"


#: Where the recipe comes from (read for this port) and the decisions jtbench took on its quirks.
OFFICIAL_SOURCE = "github fdchen24/JointTuner@3843027 examples/CogVideo/finetune (train_jointtuner.sh, cli_demo.py)"


def provenance(spec: Any, tcfg: dict[str, Any]) -> dict[str, Any]:
    """Recorded beside every DiT checkpoint: the recipe's source or the port label, and the quirk decisions."""
    return {
        "recipe": OFFICIAL_SOURCE if spec.label is None else f"{spec.label} (the CogVideoX recipe on {spec.name})",
        "label": spec.label,
        "quirks": {
            "fp16_scaler": (f"{tcfg['fp16_scaler']}: official = loss x65536, gradients never unscaled (clip always "
                            "active), non-finite steps not skipped; fixed = dynamic GradScaler"),
            "latent_cache": "fixed: keyed by model path + file SHA-256 + size + frames (official: model name + size)",
            "prompt_cache": "fixed: keyed by model path + prompt + length (official: prompt hash only)",
            "epoch_order": "reshuffled each epoch by a (seed, epoch) generator (not accelerate's sampler RNG stream)",
            "clip_captions": "the benchmark's motion caption for every clip (official example: per-clip captions)",
        },
    }


def dit_config(spec: Any, overrides: dict[str, Any]) -> dict[str, Any]:
    """``config_dit.yaml`` with the family's changes, then the run's overrides."""
    from jtbench.methods.t2v.config import apply_overrides, load_config

    cfg = load_config(DIT_CONFIG)
    family_changes = cfg.pop("family_overrides", {}).get(spec.family, {})
    cfg = apply_overrides(cfg, family_changes, {}, DIT_CONFIG)
    return apply_overrides(cfg, overrides, DIT_SHORTCUTS, DIT_CONFIG)


def check_variant(variant: Any, spec: Any) -> None:
    """The Table 3 rows that need a spatial/temporal split have nothing to act on in a DiT."""
    if not variant.union or not variant.joint:
        raise InputError(
            f"JointTuner variant {variant.name!r} ({variant.paper_row}) separates spatial LoRAs (trained on images) "
            f"from temporal LoRAs (trained on clips); {spec.name} is a DiT with one joint 3-D attention per block and "
            "no spatial/temporal modules to split",
            fix="use noise_frame, noise_pixel, noise_video, no_offset_noise or no_lora_gating on a DiT, "
                "or run this row on --base zeroscope|modelscope",
        )


def inject_dit(transformer: torch.nn.Module, family: Any, variant: Any, tcfg: dict[str, Any],
               dropout: float) -> dict[str, torch.nn.Module]:
    """Wrap the official targets: gated CogVideoX LoRA, or classic LoRA (scale = lora_alpha) for −LoRA Gating."""
    from jtbench.methods.t2v.inject import find_targets, inject
    from jtbench.methods.t2v.lora import CogVideoXGatedLoRALinear, LoRALinear

    rank, alpha = int(tcfg["lora_rank"]), float(tcfg["lora_alpha"])
    lora_cls = CogVideoXGatedLoRALinear if variant.gated else LoRALinear
    targets = find_targets(transformer, family.jointtuner_rules)
    if not targets:
        raise InputError(f"no {', '.join(family.jointtuner_rules)} linears found in the transformer",
                         fix="check that the base model is the family its --base names")
    return inject(targets, lambda t: lora_cls(t.linear, rank, dropout, alpha))


def part_of_param(name: str) -> str:
    return "gate" if ".lora_gate." in name else JOINT_PART


def train(adapter: Any, spec: Any, cfg: dict[str, Any], unit: TrainUnit, data: TrainingData,
          settings: RunSettings, workdir: Path) -> Checkpoint:
    from jtbench.methods.t2v import training as T
    from jtbench.methods.t2v.dit import training as D
    from jtbench.methods.t2v.dit.families import family_of
    from jtbench.methods.t2v.inject import read_metadata, save_adapters

    tcfg, variant = cfg["train"], Variant.from_config(cfg)
    check_variant(variant, spec)
    steps = int(tcfg["steps"])
    workdir = Path(workdir)
    final = workdir / WEIGHTS_FILE
    if final.is_file() and read_metadata(final).get("step") == steps:
        return Checkpoint(unit, final, read_metadata(final))
    T.require_files(data.subject_images, "subject image")
    T.require_files(data.motion_clips, "motion clip")
    workdir.mkdir(parents=True, exist_ok=True)
    T.set_seed(int(cfg["seed"]))
    family = family_of(spec)
    run = D.prepare(settings, spec, data, tcfg, workdir,
                    lambda tr: inject_dit(tr, family, variant, tcfg, float(tcfg["lora_dropout"])))
    losses = D.train_loop(run, tcfg, int(cfg["seed"]), workdir, variant.offset_noise, float(tcfg["ait_weight"]))
    metadata = {
        "method": adapter.name, "variant": variant.name, "paper_row": variant.paper_row, "unit": unit.key,
        "base_model": spec.name, "family": spec.family, "backbones": settings.backbones, "precision": run.precision,
        "step": steps, "config": cfg, "final_loss": losses[-1] if losses else None, "label": spec.label,
        "base_source": run.components.source, "provenance": provenance(spec, tcfg),
    }
    save_adapters(final, run.wrappers, metadata)
    return Checkpoint(unit, final, metadata)


def sample(adapter: Any, spec: Any, cfg: dict[str, Any], checkpoints: Sequence[Checkpoint],
           requests: Sequence[SampleRequest], settings: RunSettings, out_dir: Path) -> list[Path]:
    from jtbench.methods.t2v.base_model import load_for_settings
    from jtbench.methods.t2v.dit.sampling import DiTSamplerConfig, sample_requests
    from jtbench.methods.t2v.dit.training import run_precision
    from jtbench.methods.t2v.inject import load_any
    from jtbench.methods.t2v.training import dtype_of

    if len(checkpoints) != 1:
        raise InputError(f"{adapter.name} samples from exactly one checkpoint per combination, got {len(checkpoints)}",
                         fix="pass the combination's checkpoint")
    ckpt = checkpoints[0]
    variant = Variant.from_config(cfg)
    check_variant(variant, spec)
    for key, want in (("variant", variant.name), ("base_model", spec.name)):
        got = ckpt.metadata.get(key)
        if got and got != want:
            raise WeightsError(f"checkpoint was trained with {key} {got!r}, sampling asked for {want!r}",
                               file=ckpt.path, fix="sample with the method and --base that trained it")
    components = load_for_settings(settings)
    wrappers = inject_dit(components.transformer, components.family, variant, cfg["train"],
                          float(cfg["sample"]["lora_dropout"]))
    load_any(ckpt.path, wrappers)  # ours, or an official lora/<step>_transformer.pt list (up, down, gate)
    dtype = dtype_of(run_precision(spec, settings.precision))
    components.to(settings.device, transformer_dtype=dtype, frozen_dtype=dtype).freeze()
    scfg = DiTSamplerConfig.from_section(cfg["sample"], spec, settings.backbones)
    return sample_requests(components, requests, scfg, out_dir)


def parameter_counts(spec: Any, cfg: dict[str, Any]) -> dict[str, int]:
    """Trainable parameters on the real-size transformer (meta device): joint LoRA and gates."""
    from jtbench.methods.t2v.bases import build_meta_transformer
    from jtbench.methods.t2v.dit.families import family_of
    from jtbench.methods.t2v.inject import adapter_parameters, count_by_part

    variant = Variant.from_config(cfg)
    check_variant(variant, spec)
    transformer = build_meta_transformer(spec.name)
    wrappers = inject_dit(transformer, family_of(spec), variant, cfg["train"], 0.0)
    return count_by_part(adapter_parameters(wrappers), part_of_param)
