"""JointTuner's Table 3 configurations, shared by the UNet adapter (``adapter.py``) and the DiT path (``dit.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jtbench.errors import InputError

CONFIG = Path(__file__).with_name("config.yaml")


@dataclass(frozen=True)
class Variant:
    """One Table 3 configuration."""

    name: str
    paper_row: str
    offset_noise: str  # frame | pixel | video | none
    gated: bool
    union: bool
    joint: bool

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> Variant:
        name = cfg["variant"]
        if name not in cfg["variants"]:
            raise InputError(f"unknown JointTuner variant {name!r}", file=CONFIG,
                             fix=f"use one of {', '.join(cfg['variants'])}")
        variant = cls(name=name, **cfg["variants"][name])
        if not variant.joint and (variant.union or variant.gated):
            raise InputError(f"JointTuner variant {name!r}: two-stage training needs separate classic LoRA sets",
                             file=CONFIG, fix="set union: false and gated: false for a variant with joint: false")
        return variant
