"""Module injection: find target linears, swap in wrappers, save and load what was trained.

Target rule (official ``_find_modules`` of JointTuner/MotionDirector): for every module whose
class name is a key of ``rules`` (the *ancestor*), every ``nn.Linear`` below it whose path inside
the ancestor contains one of that class's keywords (a plain substring test, as upstream).
Linears already inside a wrapper are skipped. Saved adapters are safetensors keyed by module
path, plus a JSON sidecar with the method, base model, config, step and jtbench version.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from jtbench.errors import WeightsError

#: ancestor class name → keywords of the linears to wrap inside it.
TargetRules = dict[str, tuple[str, ...]]

#: JointTuner and MotionDirector: spatial attn1 + ff (not the text cross-attention attn2, not
#: proj_in/proj_out); temporal attn1 + attn2 + ff, ``transformer_in`` included.
SPATIAL_RULES: TargetRules = {"Transformer2DModel": ("attn1", "ff")}
TEMPORAL_RULES: TargetRules = {"TransformerTemporalModel": ("attn1", "attn2", "ff")}
PART_OF_ANCESTOR = {"Transformer2DModel": "spatial", "TransformerTemporalModel": "temporal"}


@dataclass(frozen=True)
class Target:
    """One linear to wrap: its full path in the root module and where it hangs."""

    name: str
    parent: nn.Module
    attr: str
    linear: nn.Linear
    ancestor: str  # class name of the matching ancestor

    @property
    def part(self) -> str:
        return PART_OF_ANCESTOR.get(self.ancestor, self.ancestor)


def _is_wrapper(module: nn.Module) -> bool:
    return hasattr(module, "base") and any(n.startswith("lora_") for n, _ in module.named_children())


def find_targets(root: nn.Module, rules: TargetRules) -> list[Target]:
    """Targets in ancestor-class order, then module order (the official checkpoint order)."""
    modules = dict(root.named_modules())
    found: list[Target] = []
    seen: set[str] = set()
    for cls_name, keywords in rules.items():
        for anc_name, ancestor in modules.items():
            if type(ancestor).__name__ != cls_name:
                continue
            for inner, module in ancestor.named_modules():
                if not isinstance(module, nn.Linear) or not any(k in inner for k in keywords):
                    continue
                full = f"{anc_name}.{inner}" if anc_name else inner
                parent_name, _, attr = full.rpartition(".")
                parent = root.get_submodule(parent_name) if parent_name else root
                if full in seen or _is_wrapper(parent) or any(
                    _is_wrapper(modules[p]) for p in _prefixes(parent_name) if p in modules
                ):
                    continue
                seen.add(full)
                found.append(Target(full, parent, attr, module, cls_name))
    return found


def _prefixes(name: str) -> Iterable[str]:
    parts = name.split(".") if name else []
    return (".".join(parts[:i]) for i in range(1, len(parts) + 1))


def inject(targets: Iterable[Target], factory: Callable[[Target], nn.Module]) -> dict[str, nn.Module]:
    """Replace each target linear by ``factory(target)``; returns ``{path: wrapper}``."""
    wrappers: dict[str, nn.Module] = {}
    for target in targets:
        wrapper = factory(target)
        setattr(target.parent, target.attr, wrapper)
        wrappers[target.name] = wrapper
    return wrappers


def adapter_parameters(wrappers: dict[str, nn.Module]) -> dict[str, nn.Parameter]:
    """Every parameter of the wrappers except their base layers, keyed by full path."""
    out: dict[str, nn.Parameter] = {}
    for path, wrapper in wrappers.items():
        for name, param in wrapper.named_parameters():
            if not name.startswith("base."):
                out[f"{path}.{name}"] = param
    return out


def mark_trainable(wrappers: dict[str, nn.Module], trainable: bool = True) -> list[nn.Parameter]:
    params = list(adapter_parameters(wrappers).values())
    for p in params:
        p.requires_grad_(trainable)
    return params


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, Any]) -> Path:
    """Write ``path`` (.safetensors, fp32) and its ``.json`` metadata sidecar, each atomically."""
    from safetensors.torch import save_file

    from jtbench import __version__

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in tensors.items()}
    meta = {"jtbench_version": __version__, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "num_tensors": len(data), "num_parameters": sum(t.numel() for t in data.values()), **metadata}
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(data, str(tmp), metadata={"jtbench": json.dumps(meta, default=str)})
    tmp.replace(path)
    sidecar = path.with_suffix(".json")
    tmp_json = sidecar.with_name(f".{sidecar.name}.tmp")
    tmp_json.write_text(json.dumps(meta, indent=2, default=str))
    tmp_json.replace(sidecar)
    return path


def save_adapters(path: Path, wrappers: dict[str, nn.Module], metadata: dict[str, Any]) -> Path:
    """The wrappers' trainable tensors (keyed by module path) via :func:`save_tensors`."""
    return save_tensors(path, adapter_parameters(wrappers), metadata)


def read_metadata(path: Path) -> dict[str, Any]:
    sidecar = Path(path).with_suffix(".json")
    return json.loads(sidecar.read_text()) if sidecar.is_file() else {}


def load_adapters(path: Path, wrappers: dict[str, nn.Module]) -> dict[str, Any]:
    """Copy saved tensors into the wrappers; every key must match both ways. Returns the metadata."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise WeightsError("adapter weights are missing", file=path,
                           fix="train this unit first (or point to its folder)")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise WeightsError(f"cannot read adapter weights: {exc}", file=path, fix="delete the file and retrain") from exc
    params = adapter_parameters(wrappers)
    missing, unexpected = sorted(set(params) - set(tensors)), sorted(set(tensors) - set(params))
    if missing or unexpected:
        raise WeightsError(
            f"adapter does not match the injected modules (missing {missing[:3]}…, unexpected {unexpected[:3]}…)",
            file=path, fix="load it with the same method, variant and base model it was trained with",
        )
    with torch.no_grad():
        for key, param in params.items():
            if tuple(tensors[key].shape) != tuple(param.shape):
                raise WeightsError(f"{key} has shape {tuple(tensors[key].shape)}, expected {tuple(param.shape)}",
                                   file=path, fix="check the LoRA rank in the config")
            param.copy_(tensors[key].to(param.dtype))
    return read_metadata(path)


def count_by_part(params: dict[str, nn.Parameter], part_of: Callable[[str], str]) -> dict[str, int]:
    """Parameter counts grouped by ``part_of(name)`` (e.g. spatial / temporal / gate)."""
    counts: dict[str, int] = {}
    for name, p in params.items():
        part = part_of(name)
        counts[part] = counts.get(part, 0) + p.numel()
    return counts


# -- the official checkpoint format (JointTuner / MotionDirector ``lora/<step>_unet.pt``) ----------
OFFICIAL_ORDER = ("lora_up", "lora_down", "lora_gate")


def save_official_list(path: Path, wrappers: dict[str, nn.Module]) -> Path:
    """Write the upstream format: a ``torch.save``d flat list ``[up, down(, gate)]`` per wrapped
    linear in target order (spatial ancestors first, then temporal ones from ``transformer_in``),
    so a LoRA trained here runs in the official ``infer.py``."""
    tensors = [getattr(w, part).weight.detach().to("cpu", torch.float32)
               for w in wrappers.values() for part in OFFICIAL_ORDER if hasattr(w, part)]
    torch.save(tensors, Path(path))
    return Path(path)


def load_any(path: Path, wrappers: dict[str, nn.Module]) -> dict[str, Any]:
    """jtbench's ``.safetensors`` (returns its metadata) or an upstream ``.pt`` flat list (returns {})."""
    if Path(path).suffix == ".pt":
        load_official_list(path, wrappers)
        return {}
    return load_adapters(path, wrappers)


def load_official_list(path: Path, wrappers: dict[str, nn.Module]) -> None:
    """Load an upstream ``<step>_unet.pt`` into wrappers injected with the same rule and order."""
    path = Path(path)
    try:
        tensors = list(torch.load(path, map_location="cpu", weights_only=True))
    except (OSError, RuntimeError, EOFError) as exc:
        raise WeightsError(f"cannot read the official LoRA list: {exc}", file=path,
                           fix="pass the lora/<step>_unet.pt file the official training wrote") from exc
    slots = [getattr(w, part) for w in wrappers.values() for part in OFFICIAL_ORDER if hasattr(w, part)]
    if len(tensors) != len(slots):
        raise WeightsError(f"the file holds {len(tensors)} tensors, the injected modules need {len(slots)}",
                           file=path, fix="inject with the method's own target rule (and gate) before loading")
    with torch.no_grad():
        for slot, tensor in zip(slots, tensors, strict=True):
            if tuple(slot.weight.shape) != tuple(tensor.shape):
                raise WeightsError(f"tensor of shape {tuple(tensor.shape)} where {tuple(slot.weight.shape)} is needed",
                                   file=path, fix="check the LoRA rank (official default 32)")
            slot.weight.copy_(tensor)
