"""The metric contract (after torchmetrics / pyiqa): metadata as a spec, math in pure functions.

A metric scores one :class:`Sample` (a decoded video plus its prompt and references) on the
paper's 0–100 scale (a paper profile's metric on its own paper's scale, e.g. DreamVideo's 0–1)
and returns a :class:`MetricValue`. Models come from the shared
:class:`~jtbench.models.ModelHub` and per-video / per-reference features from the context's
cache, so one decode and one model load serve every metric.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import torch

from jtbench.errors import JtbenchError
from jtbench.io.video import VideoClip
from jtbench.metrics.memory import MemoryBudget
from jtbench.models.base import ModelHub
from jtbench.registry import Registry

#: The paper's ten columns, in the paper's order.
PAPER_COLUMNS = (
    "CLIP-T",
    "CLIP-I",
    "Mot-Fid",
    "Mot-Smth",
    "Dyn-Deg",
    "Subj-Con",
    "Bkgd-Con",
    "Pick-Sc",
    "Aesth-Q",
    "Img-Q",
)

V = TypeVar("V")


@dataclass(frozen=True)
class MetricSpec:
    name: str  # registry name, snake_case ("clip_t", "mot_fid_symmetric")
    column: str  # output column ("CLIP-T"); variants get their own column name
    description: str
    source: str  # where the definition comes from (paper section, VBench file)
    version: str = "1"
    higher_is_better: bool = True
    backbones: tuple[str, ...] = ()  # BACKBONES names this metric loads
    needs_prompt: bool = False
    needs_reference_image: bool = False
    needs_reference_video: bool = False
    needs_reference_images: bool = False  # the subject's whole image folder (DreamVideo's CLIP-I / DINO-I)
    paper: bool = True  # False for corrected/improved variants (never silently the default)
    profile: str | None = None  # the paper profile (jtbench.metrics.profiles) this column belongs to


@dataclass(frozen=True)
class Sample:
    video: VideoClip
    prompt: str | None = None
    case_id: str | None = None
    reference_image: Path | None = None
    reference_video: Path | None = None
    reference_images: Path | None = None  # a folder: every ``.jpg`` in it is a reference


@dataclass(frozen=True)
class MetricValue:
    value: float
    note: str | None = None  # e.g. "generated tracks truncated to the reference length"
    details: dict[str, float] | None = None  # counts summed into provenance (e.g. RAFT pairs computed)


@dataclass
class ScoringContext:
    """What a metric may use: the model hub, a feature cache, and batching settings.

    ``batch_size`` is an upper bound; each model call is sized by ``memory`` (the device's room,
    ``--max-memory``; see :mod:`jtbench.metrics.memory`).
    """

    hub: ModelHub
    batch_size: int = 16
    cache: dict[tuple, Any] = field(default_factory=dict)
    memory: MemoryBudget | None = None

    def __post_init__(self) -> None:
        if self.memory is None:
            self.memory = MemoryBudget(device=torch.device(getattr(self.hub, "device", "cpu")))

    def cached(self, key: tuple, compute: Callable[[], V]) -> V:
        """Memoise ``compute()`` under ``key`` (e.g. ``("clip_b32_pil", video.digest)``)."""
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    def forget_video(self, digest: str) -> None:
        """Drop per-video entries once a video is done (reference entries stay)."""
        for key in [k for k in self.cache if digest in k]:
            del self.cache[key]


class Metric(ABC):
    spec: ClassVar[MetricSpec]

    def __init__(self, **options: Any) -> None:
        if options:
            raise TypeError(f"{type(self).__name__} takes no options, got {sorted(options)}")

    @abstractmethod
    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        """Score one video (0–100, or its profile's scale); raise on failure (the scorer records the error)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec.name!r} → {self.spec.column!r} v{self.spec.version})"


METRICS: Registry[type[Metric]] = Registry("metric", "jtbench.metrics")

# Lazy targets: importing jtbench does not import any model code.
_BUILTIN = {
    "clip_t": "jtbench.metrics.clip_scores:ClipT",
    "clip_i": "jtbench.metrics.clip_scores:ClipI",
    "pick_score": "jtbench.metrics.pick_score:PickScore",
    "aesthetic_quality": "jtbench.metrics.aesthetic_quality:AestheticQuality",
    "background_consistency": "jtbench.metrics.background_consistency:BackgroundConsistency",
    "subject_consistency": "jtbench.metrics.subject_consistency:SubjectConsistency",
    "motion_smoothness": "jtbench.metrics.motion_smoothness:MotionSmoothness",
    "dynamic_degree": "jtbench.metrics.dynamic_degree:DynamicDegree",
    "imaging_quality": "jtbench.metrics.imaging_quality:ImagingQuality",
    "motion_fidelity": "jtbench.metrics.motion_fidelity:MotionFidelity",
    "motion_fidelity_nan_safe": "jtbench.metrics.motion_fidelity:MotionFidelityNanSafe",
    "motion_fidelity_symmetric": "jtbench.metrics.motion_fidelity:MotionFidelitySymmetric",
    "imaging_quality_shorter": "jtbench.metrics.imaging_quality:ImagingQualityShorter",
    "imaging_quality_shorter_centercrop": "jtbench.metrics.imaging_quality:ImagingQualityShorterCentercrop",
    "imaging_quality_no_resize": "jtbench.metrics.imaging_quality:ImagingQualityNoResize",
    # the dreamvideo profile (jtbench.metrics.profiles): VGen's metric/cal_metric_DreamVideo.py, 0–1 scale
    "clip_t_dreamvideo": "jtbench.metrics.dreamvideo:ClipTDreamVideo",
    "clip_i_dreamvideo": "jtbench.metrics.dreamvideo:ClipIDreamVideo",
    "dino_i_dreamvideo": "jtbench.metrics.dreamvideo:DinoIDreamVideo",
    "t_cons_dreamvideo": "jtbench.metrics.dreamvideo:TConsDreamVideo",
    # the vbench-extra profile: VBench 0.1.5 temporal_flickering / overall_consistency (custom_input), 0–1
    "temporal_flickering_vbench": "jtbench.metrics.vbench_extra:TempFlickerVBench",
    "overall_consistency_vbench": "jtbench.metrics.vbench_extra:OverallConVBench",
    # the opens2v-open profile: OpenS2V-Eval's open-weight columns, per video on their own scales
    "aesthetics_opens2v": "jtbench.metrics.opens2v:AestheticsOpenS2V",
    "motion_opens2v": "jtbench.metrics.opens2v:MotionOpenS2V",
    # the det profile: DeT's evaluation.py (MTBench), each column on DeT's own scale
    "motion_fidelity_det": "jtbench.metrics.det:MotionFidelityDeT",
    "clip_t_det": "jtbench.metrics.det:ClipTDeT",
    "t_cons_det": "jtbench.metrics.det:TConsDeT",
    "motion_fidelity_hybrid_det": "jtbench.metrics.det:MotionFidelityHybridDeT",
}
_ALIASES = {
    "clip_t": ("CLIP-T",),
    "clip_i": ("CLIP-I",),
    "pick_score": ("Pick-Sc",),
    "aesthetic_quality": ("Aesth-Q",),
    "background_consistency": ("Bkgd-Con",),
    "subject_consistency": ("Subj-Con",),
    "motion_smoothness": ("Mot-Smth",),
    "dynamic_degree": ("Dyn-Deg",),
    "imaging_quality": ("Img-Q",),
    "motion_fidelity": ("Mot-Fid",),
    "motion_fidelity_nan_safe": ("Mot-Fid (nan-safe)",),
    "motion_fidelity_symmetric": ("Mot-Fid (symmetric)",),
    "imaging_quality_shorter": ("Img-Q (shorter)",),
    "imaging_quality_shorter_centercrop": ("Img-Q (shorter centercrop)",),
    "imaging_quality_no_resize": ("Img-Q (no resize)",),
    "clip_t_dreamvideo": ("CLIP-T@DreamVideo",),
    "clip_i_dreamvideo": ("CLIP-I@DreamVideo",),
    "dino_i_dreamvideo": ("DINO-I@DreamVideo",),
    "t_cons_dreamvideo": ("T-Cons@DreamVideo",),
    "temporal_flickering_vbench": ("Temp-Flicker@VBench",),
    "overall_consistency_vbench": ("Overall-Con@VBench",),
    "aesthetics_opens2v": ("Aesthetics@OpenS2V",),
    "motion_opens2v": ("Motion@OpenS2V",),
    "motion_fidelity_det": ("MotFid@DeT",),
    "clip_t_det": ("CLIP-T@DeT",),
    "t_cons_det": ("T-Cons@DeT",),
    "motion_fidelity_hybrid_det": ("MotFid-Hybrid@DeT (seed 0)",),
}
for _name, _target in _BUILTIN.items():
    METRICS.add(_name, _target, aliases=_ALIASES.get(_name, ()))

#: The paper's ten metrics, in the paper's column order.
PAPER_METRICS = (
    "clip_t",
    "clip_i",
    "motion_fidelity",
    "motion_smoothness",
    "dynamic_degree",
    "subject_consistency",
    "background_consistency",
    "pick_score",
    "aesthetic_quality",
    "imaging_quality",
)


def create_metric(name: str, **options: Any) -> Metric:
    """``create_metric("clip_t")`` or by paper column: ``create_metric("CLIP-T")``."""
    return METRICS.get(name)(**options)


def list_metrics(pattern: str = "*") -> list[str]:
    return METRICS.names(pattern)


def resolve_metrics(names: Iterable[str | Metric] | None = None) -> list[Metric]:
    """Metric instances from registry names or paper columns (``clip_t`` or ``CLIP-T``), deduplicated."""
    out: dict[str, Metric] = {}
    for item in names if names is not None else PAPER_METRICS:
        if isinstance(item, Metric):
            out.setdefault(item.spec.name, item)
            continue
        name = METRICS.canonical(item)
        if name in out:
            continue
        try:
            out[name] = create_metric(name)
        except ImportError as exc:
            raise JtbenchError(
                f"metric {name!r} cannot be imported: {exc}",
                fix="install jtbench[metrics]; if the module itself is missing, choose other --metrics",
            ) from exc
    return list(out.values())
