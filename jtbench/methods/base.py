"""The method interface: what to train, how to train a unit, how to sample from checkpoints.

The planner only needs :meth:`MethodAdapter.units` (what exists to train) and
:meth:`MethodAdapter.sampling_units` (which trained units a combination samples from);
how a method trains is its own business. Adapters live in ``baselines/<method>/`` and are
registered lazily by name; third parties use the ``jtbench.methods`` entry-point group.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from jtbench.benchmark.combinations import Combination, PromptCase
from jtbench.registry import Registry

UnitKind = Literal["combination", "subject", "motion"]


@dataclass(frozen=True)
class TrainUnit:
    """One training job's scope: a combination (JointTuner) or a subject / a motion alone."""

    method: str
    kind: UnitKind
    subject: str | None = None
    motion: str | None = None

    @property
    def key(self) -> str:
        return f"{self.method}/{self.kind}/{self.subject or '-'}__{self.motion or '-'}"


@dataclass(frozen=True)
class TrainingData:
    """The unit's training media from the prepared data (SPEC §2) and its captions."""

    subject_images: tuple[Path, ...] = ()
    image_caption: str | None = None  # "A bear plushie."
    motion_clips: tuple[Path, ...] = ()
    motion_caption: str | None = None  # "A person playing the flute."
    subject_phrase: str | None = None  # "bear plushie" (textual inversion init, etc.)


@dataclass(frozen=True)
class Checkpoint:
    """A trained unit on disk; ``metadata`` mirrors the JSON written beside the weights."""

    unit: TrainUnit
    path: Path
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class SampleRequest:
    case: PromptCase
    seed: int
    num_frames: int = 16
    fps: float = 8.0
    height: int | None = None  # None: the method's own default (384 for JointTuner)
    width: int | None = None


@dataclass(frozen=True)
class RunSettings:
    """Shared knobs every adapter receives (SPEC §6 flags)."""

    base_model: str = "zeroscope"  # a name of jtbench.methods.t2v.bases.BASES (UNet or DiT)
    backbones: Literal["paper", "tiny"] = "paper"
    device: str = "cpu"
    precision: str = "fp16"
    offline: bool = True
    overrides: dict[str, Any] = field(default_factory=dict, hash=False)  # config overrides (e.g. steps)


class MethodAdapter(ABC):
    name: ClassVar[str]
    #: One line for ``jtbench list methods``.
    description: ClassVar[str] = ""
    #: Path of the method's config.yaml with its paper hyperparameters (None for dummy).
    config_path: ClassVar[Path | None] = None
    #: Base families (jtbench.methods.t2v.bases) the method has a recipe for; None: any (no base used).
    families: ClassVar[tuple[str, ...] | None] = ("unet",)

    def check_base(self, base: str) -> None:
        """Refuse a base the method has no recipe for (a DiT for the UNet-only methods), before any work."""
        from jtbench.errors import InputError
        from jtbench.methods.t2v.bases import BASES

        if self.families is None or base not in BASES:
            return
        spec = BASES.get(base)
        if spec.family not in self.families:
            kind = "DiT" if spec.is_dit else "UNet"
            raise InputError(
                f"{self.name} has no official recipe on the {kind} base {base} ({spec.family}): its code trains "
                f"{', '.join(self.families)} models only, and jtbench does not invent one",
                fix="use --base " + "|".join(n for n in BASES.names() if BASES.get(n).family in self.families)
                    + " for this method (jointtuner and cogvideox-lora run on the CogVideoX bases)",
            )

    def units(self, combinations: Sequence[Combination]) -> list[TrainUnit]:
        """Every unit to train for these combinations, de-duplicated, in a stable order."""
        seen: dict[str, TrainUnit] = {}
        for combo in combinations:
            for unit in self.sampling_units(combo):
                seen.setdefault(unit.key, unit)
        return list(seen.values())

    @abstractmethod
    def sampling_units(self, combination: Combination) -> list[TrainUnit]:
        """The units whose checkpoints are needed to sample this combination."""

    @abstractmethod
    def train(self, unit: TrainUnit, data: TrainingData, settings: RunSettings, workdir: Path) -> Checkpoint:
        """Train one unit into ``workdir`` and return its checkpoint (raise naming any bad input file)."""

    @abstractmethod
    def sample(
        self, checkpoints: Sequence[Checkpoint], requests: Sequence[SampleRequest], settings: RunSettings, out_dir: Path
    ) -> list[Path]:
        """Write one video per request as ``out_dir/<case_id>/<seed>.mp4`` (16 frames, 8 FPS)."""

    def sample_defaults(self, settings: RunSettings) -> dict[str, Any]:
        """``SampleRequest`` frames/fps/size for a run: the base's native clip (16 frames at 8 FPS
        for the UNet bases, sizes left to the method; 49 frames and the base's size for a DiT).
        Adapters override it when their recipe samples something else."""
        from jtbench.methods.t2v.bases import BASES

        if settings.base_model not in BASES:
            return {}
        spec = BASES.get(settings.base_model)
        if not spec.is_dit:
            return {"num_frames": spec.frames, "fps": spec.fps}
        height, width = spec.size(settings.backbones)
        return {"num_frames": spec.frames, "fps": spec.fps, "height": height, "width": width}

    def trainable_parameter_counts(self, base_model: str = "zeroscope") -> dict[str, int]:
        """Trainable parameters per part (spatial, temporal, gate, adapter, embedding) once this
        method's modules are injected into the real-size base UNet (built on the meta device)."""
        from jtbench.errors import JtbenchError

        raise JtbenchError(f"method {self.name!r} does not report trainable parameters",
                           fix="implement trainable_parameter_counts() in its adapter")

    def config(self) -> dict[str, Any]:
        """The method's hyperparameters (config.yaml), for provenance and the run's config hash."""
        if self.config_path is None:
            return {}
        import yaml

        return yaml.safe_load(Path(self.config_path).read_text()) or {}


METHODS: Registry[type[MethodAdapter]] = Registry("method", "jtbench.methods")
METHODS.add("dummy", "jtbench.methods.dummy:DummyMethod")
METHODS.add("dummy-static", "jtbench.methods.dummy:DummyStatic")  # the demo's contrasts to `dummy`
METHODS.add("dummy-noise", "jtbench.methods.dummy:DummyNoise")
METHODS.add("jointtuner", "baselines.jointtuner.adapter:JointTuner")
for _name, _attr in {  # JointTuner's Table 3 rows, each its own method so runs keep them apart
    "jointtuner-noise-frame": "JointTunerNoiseFrame",
    "jointtuner-noise-pixel": "JointTunerNoisePixel",
    "jointtuner-noise-video": "JointTunerNoiseVideo",
    "jointtuner-no-offset-noise": "JointTunerNoOffsetNoise",
    "jointtuner-no-lora-gating": "JointTunerNoLoraGating",
    "jointtuner-no-lora-union": "JointTunerNoLoraUnion",
    "jointtuner-no-joint-training": "JointTunerNoJointTraining",
}.items():
    METHODS.add(_name, f"baselines.jointtuner.adapter:{_attr}")
METHODS.add("cogvideox-lora", "baselines.cogvideox_lora.adapter:CogVideoXLoRA")
METHODS.add("motiondirector", "baselines.motiondirector.adapter:MotionDirector")
METHODS.add("dreamvideo", "baselines.dreamvideo.adapter:DreamVideo")
METHODS.add("customttt", "baselines.customttt.adapter:CustomTTT")


def get_method(name: str) -> MethodAdapter:
    return METHODS.get(name)()
