"""The backbone contract and the per-process model hub.

A backbone knows its published weight files (``weights``), how to load them (``load``) and how
to write a tiny, seeded, random-weight stand-in *in the same file format* (``build_tiny``), so
``--backbones tiny`` runs exactly the loading code that ``--backbones paper`` runs.
"""

from __future__ import annotations

import json
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch

from jtbench.paths import cache_dir
from jtbench.registry import Registry
from jtbench.weights.catalog import WeightSpec
from jtbench.weights.resolve import WeightResolver

BackboneMode = Literal["paper", "tiny"]
TINY_SEED = 20260323


class Backbone(ABC):
    """One model family. Subclasses are registered in :data:`BACKBONES` by name."""

    name: ClassVar[str]
    weights: ClassVar[tuple[WeightSpec, ...]] = ()
    #: openai-clip style models ran in fp16 on CUDA in the anchors; others in fp32.
    anchor_fp16_on_cuda: ClassVar[bool] = False

    @abstractmethod
    def load(self, files: dict[str, Path], device: torch.device, dtype: torch.dtype) -> Any:
        """Build the model from local files keyed by weight id; return a ready, eval-mode object."""

    @abstractmethod
    def build_tiny(self, out_dir: Path, seed: int) -> dict[str, Path]:
        """Write tiny random weights (same format as the published files) and return them by weight id."""


BACKBONES: Registry[type[Backbone]] = Registry("backbone", "jtbench.backbones")

# Lazy targets: a backbone resolves by name without importing its module first.
for _name, _target in {
    "clip_vit_b_32": "jtbench.models.clip:OpenAIClipViTB32",
    "clip_vit_l_14": "jtbench.models.clip:OpenAIClipViTL14",
    "laion_aesthetic_linear": "jtbench.models.clip:LaionAestheticLinear",
    "pickscore": "jtbench.models.pickscore:PickScoreV1",
    "hf_clip_vit_b_32": "jtbench.models.hf_vision:HfClipViTB32",
    "hf_dino_vitb16": "jtbench.models.hf_vision:HfDinoViTB16",
    "dino_vitb16": "jtbench.models.dino:DinoViTB16",
    "dino_vits16": "jtbench.models.dino:DinoViTS16",
    "musiq_spaq": "jtbench.models.musiq:MusiqSpaq",
    "amt_s": "jtbench.models.amt:AmtS",
    "raft_large": "jtbench.models.raft:RaftLarge",
    "cotracker3_offline": "jtbench.models.trackers:CoTracker3Offline",
    "lk_tracker": "jtbench.models.trackers:LKTrackerBackbone",
    "viclip": "jtbench.models.viclip:ViClipInternVid",
    "hf_clip_vit_l_14": "jtbench.models.opens2v:HFClipViTL14",
    "opens2v_aesthetic_mlp": "jtbench.models.opens2v:OpenS2VAestheticMLP",
}.items():
    BACKBONES.add(_name, _target)


def read_state_dict(path: Path, *, fix: str) -> dict[str, torch.Tensor]:
    """A plain tensor state dict, ``module.`` prefixes stripped; ``weights_only`` so a file cannot run code."""
    from jtbench.errors import WeightsError

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt / pickled-object files
        raise WeightsError(f"cannot read the checkpoint as a tensor state dict: {exc}", file=path, fix=fix) from exc
    if not isinstance(state, dict):
        raise WeightsError(f"checkpoint holds a {type(state).__name__}, not a state dict", file=path, fix=fix)
    return {(k[7:] if k.startswith("module.") else k): v for k, v in state.items()}



def _modules_of(loaded: Any) -> list[torch.nn.Module]:
    if isinstance(loaded, torch.nn.Module):
        return [loaded]
    return [value for value in getattr(loaded, "__dict__", {}).values() if isinstance(value, torch.nn.Module)]


@torch.no_grad()
def make_resident(loaded: Any) -> None:
    """Read one value per memory page of every CPU tensor of a loaded backbone.

    transformers memory-maps safetensors weights on CPU, so they only enter the process's resident
    memory when first used: PickScore's 3.9 GB showed as 0.3 GB after loading, the memory budget
    sized the first batch on that, and the forward pass then took the budget's whole cap in weights.
    Touching the pages at load time makes the budget see what the model holds (no copy is made).
    """
    for module in _modules_of(loaded):
        for tensor in [*module.parameters(), *module.buffers()]:
            if tensor.device.type != "cpu" or tensor.numel() == 0 or not tensor.is_contiguous():
                continue
            step = max(1, 4096 // tensor.element_size())
            tensor.detach().view(-1)[::step].float().sum()


def load_strict(model: torch.nn.Module, state: dict[str, torch.Tensor], *, path: Path, network: str, fix: str,
                assign: bool = False) -> None:
    """``load_state_dict(strict=True)``, a mismatch reported as a :class:`WeightsError` naming the file."""
    from jtbench.errors import WeightsError

    try:
        model.load_state_dict(state, strict=True, assign=assign)
    except RuntimeError as exc:
        raise WeightsError(f"checkpoint does not match {network}: {str(exc).splitlines()[0]}", file=path,
                           fix=fix) from exc


def load_hf_folder(cls: Any, folder: Path, spec: WeightSpec, what: str, **kwargs: Any) -> Any:
    """``cls.from_pretrained(folder)``, a missing or broken Hugging Face folder reported as a :class:`WeightsError`."""
    from jtbench.errors import WeightsError

    try:
        return cls.from_pretrained(folder, **kwargs)
    except (OSError, ValueError, KeyError) as exc:
        raise WeightsError(f"not a Hugging Face {what} folder: {exc}", file=folder,
                           fix=f"download {spec.hf_repo} into it (config, weights, preprocessor_config.json)") from exc

def resolve_dtype(precision: str, device: torch.device, backbone: type[Backbone]) -> torch.dtype:
    """``anchor`` reproduces the official runs: openai-clip models fp16 on CUDA, fp32 elsewhere."""
    if precision == "anchor":
        return torch.float16 if device.type == "cuda" and backbone.anchor_fp16_on_cuda else torch.float32
    return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]


class ModelHub:
    """Loads each backbone at most once per process and hands out the same object afterwards."""

    def __init__(
        self,
        *,
        backbones: BackboneMode = "paper",
        device: str | torch.device = "cpu",
        precision: str = "anchor",
        resolver: WeightResolver | None = None,
        tiny_dir: Path | None = None,
    ) -> None:
        if backbones not in ("paper", "tiny"):
            raise ValueError(f"backbones must be 'paper' or 'tiny', got {backbones!r}")
        self.mode: BackboneMode = backbones
        self.device = torch.device(device)
        self.precision = precision
        self.resolver = resolver or WeightResolver(offline=True)
        self.tiny_dir = Path(tiny_dir) if tiny_dir is not None else cache_dir() / "tiny"
        self._models: dict[str, Any] = {}
        self._files: dict[str, dict[str, Path]] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        """Settings and resolved files only: a copy in another process loads its own models."""
        state = self.__dict__.copy()
        state["_models"], state["_lock"] = {}, None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def files(self, name: str) -> dict[str, Path]:
        """Local weight files for a backbone (tiny ones are built on first use, with a marker)."""
        if name in self._files:
            return self._files[name]
        backbone = BACKBONES.get(name)()
        if self.mode == "tiny":
            folder = self.tiny_dir / f"{name}-seed{TINY_SEED}"
            marker = folder / "tiny.json"
            if marker.is_file():
                files = {k: Path(v) for k, v in json.loads(marker.read_text())["files"].items()}
            else:
                folder.mkdir(parents=True, exist_ok=True)
                files = backbone.build_tiny(folder, TINY_SEED)
                marker.write_text(json.dumps({"files": {k: str(v) for k, v in files.items()}, "seed": TINY_SEED}))
        else:
            files = {spec.id: self.resolver.resolve(spec) for spec in backbone.weights}
        self._files[name] = files
        return files

    def dtype_for(self, name: str) -> torch.dtype:
        return resolve_dtype(self.precision, self.device, BACKBONES.get(name))

    def get(self, name: str) -> Any:
        """The loaded backbone ``name`` (loaded once per hub)."""
        with self._lock:
            if name not in self._models:
                backbone = BACKBONES.get(name)()
                model = backbone.load(self.files(name), self.device, self.dtype_for(name))
                make_resident(model)
                self._models[name] = model
            return self._models[name]

    def describe(self) -> dict[str, Any]:
        """Provenance: mode, device, precision and the files each loaded backbone came from."""
        return {
            "backbones": self.mode,
            "device": str(self.device),
            "precision": self.precision,
            "files": {n: {k: str(v) for k, v in f.items()} for n, f in self._files.items()},
        }


class TimedHub(ModelHub):
    """A :class:`ModelHub` that records how long each first load took (``load_seconds``).

    Metrics load their models lazily through the hub inside ``score``; timing the loads here
    lets the engine report load time apart from compute time (the overhead it removes).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.load_seconds: dict[str, float] = {}

    def get(self, name: str) -> Any:
        if name in self.load_seconds:
            return super().get(name)
        start = time.perf_counter()
        model = super().get(name)
        self.load_seconds[name] = time.perf_counter() - start
        return model
