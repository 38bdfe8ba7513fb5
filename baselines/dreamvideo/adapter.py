"""DreamVideo on the shared diffusers base: one subject unit and one motion unit per combination.

- Subject unit (two stages in one job, VGen ``subjectLearning`` step 1 + step 2): textual inversion
  of a placeholder token, then the identity adapter. Checkpoint: ``subject.safetensors`` with the
  embedding row and the adapter weights (``textual_inversion.safetensors`` after stage 1 lets a
  crashed job resume at stage 2).
- Motion unit (VGen ``motionLearning``): the motion adapter. Checkpoint: ``motion.safetensors``.
- Sampling (VGen ``inference_dreamvideo_entrance``): both adapter sets and the token, the subject's
  reference image as appearance guide (zeros for the unconditional half), DDIM 50, CFG 9, offset
  initial noise. The subject phrase in the benchmark prompt is replaced by the placeholder.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from baselines.dreamvideo import image_encoder as clip_image
from baselines.dreamvideo.data import load_motion_clips, load_subject_images
from baselines.dreamvideo.modules import (
    IDENTITY_SUBLAYERS,
    MOTION_SUBLAYERS,
    AppearanceCondition,
    adapter_state,
    add_placeholder_token,
    inject_adapters,
)
from baselines.dreamvideo.prompts import placeholder_for, replace_phrase
from baselines.dreamvideo.sampling import DreamVideoSampler
from baselines.dreamvideo.training import (
    clip_kind,
    train_identity_adapter,
    train_motion_adapter,
    train_textual_inversion,
)
from jtbench.errors import InputError, WeightsError
from jtbench.io.video import read_image
from jtbench.methods.base import Checkpoint, MethodAdapter, RunSettings, SampleRequest, TrainingData, TrainUnit
from jtbench.methods.t2v.base_model import load_for_settings
from jtbench.methods.t2v.checkpointing import enable_gradient_checkpointing
from jtbench.methods.t2v.inject import save_tensors
from jtbench.methods.t2v.training import require_files, set_seed

SUBJECT_FILE, MOTION_FILE, TI_FILE = "subject.safetensors", "motion.safetensors", "textual_inversion.safetensors"
TI_KEY = "textual_inversion.embedding"


#: Short override names (the JointTuner adapter's convention, ``jtbench.methods.t2v.config``).
SHORTCUTS = {
    "steps": ("textual_inversion.steps", "identity_adapter.steps", "motion_adapter.steps_multi_clip",
              "motion_adapter.steps_single_clip"),
    "resolution": ("resolution", "sampling.height", "sampling.width"),
    "frames": ("frames",),
    "sample_steps": ("sampling.steps",),
    "guidance_scale": ("sampling.guidance_scale",),
    "seed": ("seed",),
}


def resolve_config(base: dict[str, Any], overrides: dict[str, Any], source: Path | None = None) -> dict[str, Any]:
    """The config with a run's overrides applied: short names above or dotted config paths
    (``"motion_adapter.learning_rate": 1e-3``); unknown keys are an error."""
    from jtbench.methods.t2v.config import apply_overrides

    return apply_overrides(base, overrides, SHORTCUTS, source)


class DreamVideo(MethodAdapter):
    name = "dreamvideo"
    description = "DreamVideo: subject token + identity adapter, motion adapter with appearance guide"
    config_path: ClassVar[Path] = Path(__file__).with_name("config.yaml")

    # -- planning ------------------------------------------------------------------------------
    def sampling_units(self, combination) -> list[TrainUnit]:
        return [TrainUnit(self.name, "subject", subject=combination.subject),
                TrainUnit(self.name, "motion", motion=combination.motion)]

    def resolved_config(self, settings: RunSettings) -> dict[str, Any]:
        return resolve_config(self.config(), settings.overrides, self.config_path)

    # -- parameter counting (`jtbench methods info`) ---------------------------------------------
    def inject_trainable(self, unet: nn.Module, *, image_embedding_dim: int | None = None,
                         text_embedding_dim: int | None = None) -> dict[str, dict[str, nn.Parameter]]:
        """Inject every trainable DreamVideo part into ``unet`` (meta device fine) and return the
        named parameters per part (``jtbench methods info`` part names: the textual-inversion token is
        the "embedding" part, one text-embedding row)."""
        cfg = self.config()
        identity = inject_adapters(unet, "Transformer2DModel", IDENTITY_SUBLAYERS,
                                   hidden_ratio=float(cfg["identity_adapter"]["hidden_ratio"]))
        motion = inject_adapters(unet, "TransformerTemporalModel", MOTION_SUBLAYERS,
                                 hidden_ratio=float(cfg["motion_adapter"]["hidden_ratio"]),
                                 condition_dim=image_embedding_dim or int(cfg["image_embedding_dim"]),
                                 condition=AppearanceCondition())
        dim = text_embedding_dim or int(unet.config.cross_attention_dim)
        device = next(unet.parameters()).device
        token = nn.Parameter(torch.empty(1, dim, device=device))
        return {"embedding": {TI_KEY: token}, "identity_adapter": adapter_state(identity),
                "motion_adapter": adapter_state(motion)}

    def trainable_parameter_counts(self, base_model: str = "zeroscope") -> dict[str, int]:
        """Trainable parameters per part on the real-size base UNet built on the meta device."""
        from jtbench.methods.t2v.base_model import build_meta_unet

        groups = self.inject_trainable(build_meta_unet(base_model))
        return {part: sum(p.numel() for p in params.values()) for part, params in groups.items()}

    # -- training ------------------------------------------------------------------------------
    def train(self, unit: TrainUnit, data: TrainingData, settings: RunSettings, workdir: Path) -> Checkpoint:
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        cfg = self.resolved_config(settings)
        if unit.kind == "subject":
            return self._train_subject(unit, data, settings, cfg, workdir)
        if unit.kind == "motion":
            return self._train_motion(unit, data, settings, cfg, workdir)
        raise InputError(f"DreamVideo trains subject and motion units, not {unit.kind!r}",
                         fix="plan DreamVideo with its own sampling_units()")

    def _prepare(self, settings: RunSettings, cfg: dict[str, Any]):
        set_seed(int(cfg["seed"]))
        components = load_for_settings(settings).to(settings.device)
        if cfg.get("gradient_checkpointing"):
            enable_gradient_checkpointing(components.unet)
        return components

    def _train_subject(self, unit, data: TrainingData, settings, cfg, workdir: Path) -> Checkpoint:
        final = workdir / SUBJECT_FILE
        if final.is_file():
            return Checkpoint(unit, final, _read_meta(final))
        require_files(data.subject_images, "subject image")
        phrase = data.subject_phrase or unit.subject or ""
        mask_dir = cfg.get("mask_dir")
        mask_dir = Path(str(mask_dir).format(subject=unit.subject)) if mask_dir else None
        images = load_subject_images(data.subject_images, int(cfg["resolution"]), mask_dir)  # fail before models
        components = self._prepare(settings, cfg)
        rng = random.Random(int(cfg["seed"]))
        token = placeholder_for(cfg, unit.subject)
        initializer = str(cfg["textual_inversion"]["initializer"])
        if initializer == "last_word":
            initializer = phrase.split()[-1] if phrase else "object"
        caption = replace_phrase(data.image_caption or f"A {phrase}.", phrase, token)
        ti_path = workdir / TI_FILE
        if ti_path.is_file():
            from safetensors.torch import load_file

            ti = add_placeholder_token(components.tokenizer, components.text_encoder, token, initializer,
                                       value=load_file(str(ti_path))[TI_KEY][0])
            ti_losses = _read_meta(ti_path).get("losses", [])
        else:
            ti = add_placeholder_token(components.tokenizer, components.text_encoder, token, initializer)
            ti_losses = train_textual_inversion(components, ti, images, caption, cfg, settings.precision, rng).losses
            save_tensors(ti_path, {TI_KEY: ti.embedding(components.text_encoder)[None]},
                         {"method": self.name, "stage": "textual_inversion", "token": token, "losses": ti_losses})
        params, log = train_identity_adapter(components, images, caption, cfg, settings.precision, rng)
        # The appearance guide at sampling is the subject's reference image (00.jpg); keep a copy
        # beside the weights so the checkpoint samples without the data folder.
        reference = sorted(data.subject_images)[0]
        guide = workdir / f"appearance{Path(reference).suffix.lower()}"
        shutil.copyfile(reference, guide)
        tensors = {TI_KEY: ti.embedding(components.text_encoder)[None], **{f"unet.{k}": v for k, v in params.items()}}
        meta = {
            "method": self.name, "unit": unit.key, "base_model": components.source, "token": token,
            "initializer": initializer, "subject_phrase": phrase, "caption": caption,
            "appearance_image": guide.name, "appearance_source": str(reference), "steps": {
                "textual_inversion": len(ti_losses), "identity_adapter": len(log.losses)},
            "losses": {"textual_inversion": ti_losses, "identity_adapter": log.losses},
            "masked_loss": mask_dir is not None, "config": cfg,
        }
        save_tensors(final, tensors, meta)
        return Checkpoint(unit, final, meta)

    def _train_motion(self, unit, data: TrainingData, settings, cfg, workdir: Path) -> Checkpoint:
        final = workdir / MOTION_FILE
        if final.is_file():
            return Checkpoint(unit, final, _read_meta(final))
        require_files(data.motion_clips, "motion clip")
        clips = load_motion_clips(data.motion_clips, float(cfg["fps"]))  # fail before models
        components = self._prepare(settings, cfg)
        encoder = clip_image.encoder_for_settings(cfg, settings).to(settings.device)
        rng = random.Random(int(cfg["seed"]))
        caption = data.motion_caption or ""
        params, log = train_motion_adapter(components, encoder, clips, caption, cfg, settings.precision, rng)
        meta = {"method": self.name, "unit": unit.key, "base_model": components.source, "caption": caption,
                "num_clips": len(clips), "steps": len(log.losses), "losses": log.losses,
                "image_embedding_dim": int(encoder.config.projection_dim), "config": cfg}
        save_tensors(final, {f"unet.{k}": v for k, v in params.items()}, meta)
        return Checkpoint(unit, final, meta)

    # -- sampling ------------------------------------------------------------------------------
    def load_for_sampling(self, checkpoints: Sequence[Checkpoint], settings: RunSettings) -> DreamVideoSampler:
        """The base model with the token, both adapter sets and the appearance guide, ready to sample."""
        cfg = self.resolved_config(settings)
        by_kind = {c.unit.kind: c for c in checkpoints}
        missing = {"subject", "motion"} - set(by_kind)
        if missing:
            raise InputError(f"DreamVideo needs a subject and a motion checkpoint; missing {sorted(missing)}",
                             fix="train both units of the combination first")
        subject, motion = by_kind["subject"], by_kind["motion"]
        sub_meta, mot_meta = _read_meta(subject.path), _read_meta(motion.path)
        components = load_for_settings(settings).to(settings.device)
        sub_tensors, mot_tensors = _load(subject.path), _load(motion.path)
        if TI_KEY not in sub_tensors:
            raise WeightsError("no textual-inversion embedding in the subject checkpoint", file=subject.path,
                               fix="retrain the subject unit")
        add_placeholder_token(components.tokenizer, components.text_encoder, sub_meta["token"],
                              sub_meta["initializer"], value=sub_tensors[TI_KEY][0])
        condition = AppearanceCondition()
        identity = inject_adapters(components.unet, "Transformer2DModel", IDENTITY_SUBLAYERS,
                                   hidden_ratio=float(cfg["identity_adapter"]["hidden_ratio"]))
        motion_ad = inject_adapters(components.unet, "TransformerTemporalModel", MOTION_SUBLAYERS,
                                    hidden_ratio=float(cfg["motion_adapter"]["hidden_ratio"]),
                                    condition_dim=int(mot_meta["image_embedding_dim"]), condition=condition)
        _copy_into(adapter_state(identity), sub_tensors, subject.path)
        _copy_into(adapter_state(motion_ad), mot_tensors, motion.path)
        encoder = clip_image.encoder_for_settings(cfg, settings).to(settings.device)
        guide_path = Path(subject.path).parent / sub_meta["appearance_image"]
        guide = clip_image.embed_images(encoder, read_image(guide_path)[None]).to(settings.device)
        del encoder
        return DreamVideoSampler(components, condition, guide, sampling_config(cfg, int(mot_meta["num_clips"])),
                                 sub_meta["subject_phrase"], sub_meta["token"], settings.precision)

    def sample(self, checkpoints: Sequence[Checkpoint], requests: Sequence[SampleRequest], settings: RunSettings,
               out_dir: Path) -> list[Path]:
        sampler = self.load_for_sampling(checkpoints, settings)
        return [sampler.write(req, Path(out_dir)) for req in requests]


def sampling_config(cfg: dict[str, Any], num_clips: int) -> dict[str, Any]:
    """The sampling section with the unconditional appearance-guide strength of the motion's
    recipe: VGen's joint configs use 0 for the multi-clip one (playingGuitar) and 1 for the
    single-clip one (carTurn), as training already follows the clip count."""
    scfg = cfg["sampling"]
    return {**scfg, "appearance_strength_uncond": float(scfg[f"appearance_strength_uncond_{clip_kind(num_clips)}"])}


def _read_meta(path: Path) -> dict[str, Any]:
    from jtbench.methods.t2v.inject import read_metadata

    return read_metadata(path)


def _load(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not Path(path).is_file():
        raise WeightsError("DreamVideo checkpoint is missing", file=path, fix="train this unit first")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise WeightsError(f"cannot read DreamVideo weights: {exc}", file=path, fix="delete it and retrain") from exc


def _copy_into(params: dict[str, nn.Parameter], tensors: dict[str, torch.Tensor], path: Path) -> None:
    wanted = {f"unet.{k}" for k in params}
    have = {k for k in tensors if k.startswith("unet.")}
    if wanted != have:
        raise WeightsError(f"adapter names do not match the injected modules ({len(wanted ^ have)} differ)",
                           file=path, fix="sample with the same base model and config the unit was trained with")
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(tensors[f"unet.{name}"].to(p))
