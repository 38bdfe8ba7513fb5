"""``cogvideox-lora``: diffusers' official CogVideoX LoRA recipe, trained on JointTuner's items.

Recipe of ``examples/cogvideo/train_cogvideox_lora.py``: PEFT LoRA (``init_lora_weights=True``:
``lora_A`` Kaiming-uniform with a = √5, ``lora_B`` zeros; scale α/r) on ``to_q/to_k/to_v/to_out.0``
— in CogVideoX that is the joint ``attn1`` of every block, no feed-forward, no gate; Adam
β (0.9, 0.95), lr 1e-4 constant, L2 weight decay 1e-4, clip 1.0; loss = the v-prediction x0 loss
with w = 1/(1 − ᾱ) (the same formula as JointTuner's, without the AiT offset). jtbench trains it
on the same images (1-frame) and clips as JointTuner, batch 1, 1000 steps, and samples it with
JointTuner's ``cli_demo`` settings so a DiT table differs only in training (config.yaml).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from jtbench.benchmark.combinations import Combination
from jtbench.errors import InputError, WeightsError
from jtbench.methods.base import Checkpoint, MethodAdapter, RunSettings, SampleRequest, TrainingData, TrainUnit
from jtbench.methods.t2v.lora import LoRALinear

CONFIG = Path(__file__).with_name("config.yaml")
WEIGHTS_FILE = "lora.safetensors"
SHORTCUTS = {
    "steps": ("train.steps",),
    "resolution": ("train.height", "train.width", "sample.height", "sample.width"),
    "frames": ("train.frames", "sample.frames"),
    "sample_steps": ("sample.steps",),
    "guidance_scale": ("sample.guidance_scale",),
    "seed": ("seed",),
}


class PeftLoRALinear(LoRALinear):
    """PEFT's default LoRA: ``base(x) + B(A(dropout(x))) · α/r`` with A Kaiming-uniform (a = √5), B zeros."""

    def __init__(self, base: nn.Linear, rank: int = 128, dropout: float = 0.0, alpha: float = 128.0) -> None:
        super().__init__(base, rank, dropout, scale=alpha / min(rank, base.in_features, base.out_features))
        if base.weight.device.type != "meta":
            nn.init.kaiming_uniform_(self.lora_down.weight, a=math.sqrt(5))
            nn.init.zeros_(self.lora_up.weight)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        return self.lora_up(self.lora_down(self.dropout(x.to(self.lora_down.weight.dtype))))


def _spec(settings_or_base: Any) -> Any:
    """The CogVideoX base a run names; any other base is a clear error (the recipe is CogVideoX's)."""
    from jtbench.methods.t2v.bases import BASES

    base = getattr(settings_or_base, "base_model", settings_or_base)
    spec = BASES.get(base) if base in BASES else None
    if spec is None or spec.family != "cogvideox":
        raise InputError(f"cogvideox-lora is diffusers' CogVideoX LoRA recipe; it does not run on --base {base}",
                         fix="use --base cogvideox-2b or cogvideox-5b")
    return spec


def inject(transformer: nn.Module, family: Any, tcfg: dict[str, Any]) -> dict[str, nn.Module]:
    from jtbench.methods.t2v.inject import find_targets
    from jtbench.methods.t2v.inject import inject as swap

    targets = find_targets(transformer, {"CogVideoXBlock": family.peft_targets})
    rank, alpha, dropout = int(tcfg["lora_rank"]), float(tcfg["lora_alpha"]), float(tcfg["lora_dropout"])
    return swap(targets, lambda t: PeftLoRALinear(t.linear, rank, dropout, alpha))


class CogVideoXLoRA(MethodAdapter):
    name: ClassVar[str] = "cogvideox-lora"
    description: ClassVar[str] = "diffusers' official CogVideoX LoRA recipe (attention q/k/v/out), DiT bases only"
    config_path: ClassVar[Path | None] = CONFIG
    families: ClassVar[tuple[str, ...]] = ("cogvideox",)

    def resolved_config(self, settings: RunSettings | None = None) -> dict[str, Any]:
        from jtbench.methods.t2v.config import apply_overrides, load_config

        return apply_overrides(load_config(CONFIG), dict(settings.overrides) if settings else {}, SHORTCUTS, CONFIG)

    def config(self) -> dict[str, Any]:
        return self.resolved_config()

    def sampling_units(self, combination: Combination) -> list[TrainUnit]:
        return [TrainUnit(self.name, "combination", combination.subject, combination.motion)]

    def train(self, unit: TrainUnit, data: TrainingData, settings: RunSettings, workdir: Path) -> Checkpoint:
        from jtbench.methods.t2v import training as T
        from jtbench.methods.t2v.dit import training as D
        from jtbench.methods.t2v.dit.families import family_of
        from jtbench.methods.t2v.inject import read_metadata, save_adapters

        spec = _spec(settings)
        cfg = self.resolved_config(settings)
        tcfg, steps, workdir = cfg["train"], int(cfg["train"]["steps"]), Path(workdir)
        final = workdir / WEIGHTS_FILE
        if final.is_file() and read_metadata(final).get("step") == steps:
            return Checkpoint(unit, final, read_metadata(final))
        T.require_files(data.subject_images, "subject image")
        T.require_files(data.motion_clips, "motion clip")
        workdir.mkdir(parents=True, exist_ok=True)
        T.set_seed(int(cfg["seed"]))
        run = D.prepare(settings, spec, data, tcfg, workdir, lambda tr: inject(tr, family_of(spec), tcfg))
        losses = D.train_loop(run, tcfg, int(cfg["seed"]), workdir, "none", float(tcfg["ait_weight"]))
        metadata = {"method": self.name, "unit": unit.key, "base_model": spec.name, "family": spec.family,
                    "backbones": settings.backbones, "precision": run.precision, "step": steps, "config": cfg,
                    "final_loss": losses[-1] if losses else None, "base_source": run.components.source}
        save_adapters(final, run.wrappers, metadata)
        return Checkpoint(unit, final, metadata)

    def sample(self, checkpoints: Sequence[Checkpoint], requests: Sequence[SampleRequest], settings: RunSettings,
               out_dir: Path) -> list[Path]:
        from jtbench.methods.t2v.base_model import load_for_settings
        from jtbench.methods.t2v.dit.sampling import DiTSamplerConfig, sample_requests
        from jtbench.methods.t2v.dit.training import run_precision
        from jtbench.methods.t2v.inject import load_adapters
        from jtbench.methods.t2v.training import dtype_of

        spec = _spec(settings)
        if len(checkpoints) != 1:
            raise InputError(f"{self.name} samples from one checkpoint per combination, got {len(checkpoints)}",
                             fix="pass the combination's checkpoint")
        ckpt = checkpoints[0]
        if ckpt.metadata.get("base_model") not in (None, spec.name):
            raise WeightsError(f"checkpoint was trained on {ckpt.metadata['base_model']}, sampling asked for "
                               f"{spec.name}", file=ckpt.path, fix="sample with the --base that trained it")
        cfg = self.resolved_config(settings)
        components = load_for_settings(settings)
        load_adapters(ckpt.path, inject(components.transformer, components.family, {**cfg["train"], "lora_dropout": 0}))
        dtype = dtype_of(run_precision(spec, settings.precision))
        components.to(settings.device, transformer_dtype=dtype, frozen_dtype=dtype).freeze()
        return sample_requests(components, requests, DiTSamplerConfig.from_section(cfg["sample"], spec,
                                                                                    settings.backbones), out_dir)

    def sample_defaults(self, settings: RunSettings) -> dict[str, Any]:
        from jtbench.methods.t2v.dit.sampling import DiTSamplerConfig

        scfg = DiTSamplerConfig.from_section(self.resolved_config(settings)["sample"], _spec(settings),
                                             settings.backbones)
        return {"num_frames": scfg.frames, "fps": scfg.fps, "height": scfg.height, "width": scfg.width}

    def trainable_parameter_counts(self, base_model: str = "cogvideox-2b") -> dict[str, int]:
        from jtbench.methods.t2v.bases import build_meta_transformer
        from jtbench.methods.t2v.dit.families import family_of
        from jtbench.methods.t2v.inject import adapter_parameters

        spec = _spec(base_model)
        wrappers = inject(build_meta_transformer(spec.name), family_of(spec), self.resolved_config()["train"])
        return {"adapter": sum(p.numel() for p in adapter_parameters(wrappers).values())}
