"""WeightSpec: one model file (or HF folder) with its sources, checksum, licence and cache names.

Specs are registered by the module that uses them (``jtbench.models.*``), so the catalog
is always exactly what the code loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jtbench.registry import Registry


@dataclass(frozen=True)
class WeightSpec:
    id: str  # e.g. "openai-clip-vit-b-32"
    filename: str  # the file as published ("ViT-B-32.pt"), or a folder name for HF repos
    urls: tuple[str, ...] = ()  # direct download addresses, first that works wins
    archive_member: str | None = None  # the urls are zip archives; this member is the file (RAFT's models.zip)
    hf_repo: str | None = None  # a Hugging Face repo id when the weights are a folder
    torch_hub: str | None = None  # e.g. "facebookresearch/co-tracker" (needs network or a local checkout)
    sha256: str | None = None  # verified on download and by `jtbench weights verify`
    licence: str = ""
    used_by: tuple[str, ...] = ()  # metric / method names, for `jtbench weights list`
    vbench_path: str | None = None  # where VBench's cache keeps the same file (relative to it)
    package_file: str | None = None  # "package:file" an installed Python package ships (openai-clip's BPE)
    aliases: tuple[str, ...] = field(default=())
    is_dir: bool = False


WEIGHTS: Registry[WeightSpec] = Registry("weights")


def register_weights(spec: WeightSpec) -> WeightSpec:
    WEIGHTS.add(spec.id, spec, aliases=spec.aliases, replace=True)
    return spec
