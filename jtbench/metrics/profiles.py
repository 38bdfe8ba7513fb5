"""Paper profiles: the numbers other customization papers report, as named extra metrics beside the ten.

A profile is one registry entry naming metrics of :data:`~jtbench.metrics.base.METRICS` (so its
columns can also be picked one by one with ``--metrics``). They are scored in the same pass as
the ten (one decode, one model load), land in their own ``results.parquet`` columns and never
enter ARS/NAS/AAS or the paper's tables: ``jtbench report --profile NAME`` shows them apart.
Third parties add profiles through the ``jtbench.profiles`` entry-point group.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from jtbench.metrics.base import METRICS
from jtbench.registry import Registry


@dataclass(frozen=True)
class Profile:
    """Metrics computed exactly as another paper's script computes them."""

    name: str  # the --profile name
    title: str
    metrics: tuple[str, ...]  # METRICS names, in the paper's column order
    columns: tuple[str, ...]  # their result columns (declared, so reading a profile imports no model code)
    source: str  # the script reproduced (repository, path)
    scale: str  # the scale its values are on ("0–1")
    notes: tuple[str, ...] = ()  # what a reader of its table must know
    #: ``"module:function"`` with ``(results, by, columns) -> (frame, notes)``: the source's own
    #: dataset-level aggregation, shown beside the per-method means (OpenS2V's merge_result.py)
    aggregation: str | None = None

    def check(self) -> None:
        """Each declared column is its metric's ``spec.column`` (imports the metric modules)."""
        actual = tuple(METRICS.get(name).spec.column for name in self.metrics)
        if actual != self.columns:
            raise ValueError(f"profile {self.name}: columns {self.columns} but its metrics write {actual}")


PROFILES: Registry[Profile] = Registry("profile", "jtbench.profiles")

DREAMVIDEO = Profile(
    name="dreamvideo",
    title="DreamVideo's metrics (VGen metric/cal_metric_DreamVideo.py)",
    metrics=("clip_t_dreamvideo", "clip_i_dreamvideo", "dino_i_dreamvideo", "t_cons_dreamvideo"),
    columns=("CLIP-T@DreamVideo", "CLIP-I@DreamVideo", "DINO-I@DreamVideo", "T-Cons@DreamVideo"),
    source="ali-vilab/VGen metric/cal_metric_DreamVideo.py (openai-clip ViT-B/32, DINO ViT-S/16)",
    scale="0–1",
    notes=(
        "Every decoded frame, CLIP ViT-B/32 and DINO ViT-S/16 features L2-normalised per frame and averaged "
        "over frames without re-normalising; CLIP-I and DINO-I average over every .jpg of the subject's folder.",
        "On CUDA CLIP runs in fp16 as clip.load(device='cuda') does; on CPU in fp32 (the rows' dtype says which).",
    ),
)
PROFILES.add(DREAMVIDEO.name, DREAMVIDEO)

VBENCH_EXTRA = Profile(
    name="vbench-extra",
    title="VBench dimensions beyond the paper's six (vbench 0.1.5, custom_input mode)",
    metrics=("temporal_flickering_vbench", "overall_consistency_vbench"),
    columns=("Temp-Flicker@VBench", "Overall-Con@VBench"),
    source="VBench 0.1.5 vbench/temporal_flickering.py, vbench/overall_consistency.py (ViCLIP-L/14 InternVid-10M-FLT)",
    scale="0–1",
    notes=(
        "Temp-Flicker: every frame at full resolution, (255 − mean absolute difference of consecutive frames)/255, "
        "without VBench's static filter (custom_input mode does not run it): on moving videos it mostly measures "
        "how much they move.",
        "Overall-Con: ViCLIP cosine of 8 'middle' frames (clip_transform(224) on uint8, antialias off) and the "
        "prompt cut to 32 tokens. VBench's temporal_style is the same code, so this column is also its value.",
    ),
)
PROFILES.add(VBENCH_EXTRA.name, VBENCH_EXTRA)

OPENS2V_OPEN = Profile(
    name="opens2v-open",
    title="OpenS2V-Eval's open-weight columns (OpenS2V-Nexus eval/ @210eb08)",
    metrics=("aesthetics_opens2v", "motion_opens2v"),
    columns=("Aesthetics@OpenS2V", "Motion@OpenS2V"),
    source="PKU-YuanGroup/OpenS2V-Nexus eval/get_aesscore.py, eval/get_motion_amplitude.py @210eb08",
    scale="raw 1–10 (Aesthetics), pixels (Motion)",
    notes=(
        "Aesthetics: OpenS2V's MLP head on normalised HF CLIP ViT-L/14 image_embeds (PIL processor, as under "
        "its pinned transformers 4.51.3), mean of 32 frames at floor(linspace(0, T−1, 32)).",
        "Motion: Farneback on every consecutive pair after OpenS2V's RGB→BGR2GRAY conversion, each flow map "
        "INTER_AREA-resized to width 16, |signed mean| (opposing motions cancel; depends on resolution).",
    ),
    aggregation="jtbench.metrics.opens2v:leaderboard_table",
)
PROFILES.add(OPENS2V_OPEN.name, OPENS2V_OPEN)

DET = Profile(
    name="det",
    title="DeT's MTBench metrics (Shi-qingyu/DeT evaluation.py)",
    metrics=("motion_fidelity_det", "clip_t_det", "t_cons_det", "motion_fidelity_hybrid_det"),
    columns=("MotFid@DeT", "CLIP-T@DeT", "T-Cons@DeT", "MotFid-Hybrid@DeT (seed 0)"),
    source="Shi-qingyu/DeT evaluation.py @2a2f4dd (CoTracker3 offline, HF CLIP ViT-B/32, HF DINO ViT-B/16)",
    scale="own per column: MotFid cosine −1…1, CLIP-T logits ≈ 100·cos, T-Cons 0–1",
    notes=(
        "MotFid@DeT: CoTracker3 on a 50x50 grid, tracks divided by W and H, lengths aligned by a truncating "
        "linspace, the initial position kept as the first vector, no identity subtraction; a video with a "
        "zero-length step is NaN as in DeT (noted in its row), and DeT's dataset mean would then be NaN, where "
        "these means leave it out. The reference clip's first-frame mask is used when the prepared data holds one "
        "(each row's note names it with its SHA-256, or says whole frame).",
        "CLIP-T@DeT is read against the prompt as DeT rebuilds it from its output folder's name "
        "(trailing '.' re-added, text after an inner '.' lost); prompts over 77 tokens fail as in DeT.",
        "T-Cons@DeT is NOT reproducible as published: DeT reads DINO's pooler_output, and the released "
        "facebook/dino-vitb16 has no pooler weights (transformers draws them at random on every load). jtbench "
        "draws them once from seed 0 (ViT's init rule), so the values are repeatable but rest on a random layer.",
        "MotFid-Hybrid@DeT (seed 0) is DeT's --add_frechet_score with its unseeded torch.randint replaced by a "
        "seeded draw: a labelled variant, not DeT's printed number.",
        "HF image processors are the PIL ones (transformers < 4.52, DeT's era), not transformers 5's default.",
    ),
)
PROFILES.add(DET.name, DET)


def get_profile(name: str) -> Profile:
    """The profile ``name``; an unknown name fails with the close matches."""
    return PROFILES.get(name)


def profile_metrics(names: Iterable[str]) -> list[str]:
    """The METRICS names of the given profiles, in order, without repeats."""
    out: list[str] = []
    for name in names:
        out += [m for m in get_profile(name).metrics if m not in out]
    return out


def profile_of_column(column: str) -> Profile | None:
    """The profile a result column belongs to, or None for the ten and their variants."""
    for name in PROFILES.names():
        profile = PROFILES.get(name)
        if column in profile.columns:
            return profile
    return None
