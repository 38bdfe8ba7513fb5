"""Weight-cache tests: an offline resolver that sees only caches under a test's own folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from jtbench.weights.resolve import WeightResolver


def offline_resolver(tmp_path: Path, monkeypatch) -> WeightResolver:
    """VBench's, torch hub's and Hugging Face's caches point below ``tmp_path`` (``vbench/``, ``torch/``,
    ``hf/``), so the user's own caches cannot answer; jtbench's own store is ``tmp_path/jtbench``."""
    for variable, folder in (("VBENCH_CACHE_DIR", "vbench"), ("TORCH_HOME", "torch"), ("HF_HOME", "hf")):
        monkeypatch.setenv(variable, str(tmp_path / folder))
    return WeightResolver(offline=True, root=tmp_path / "jtbench")


def place(path: Path, data: bytes = b"x") -> Path:
    """A stand-in weight file at ``path`` (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def load_saved(backbone: Any, state: dict[str, Any], folder: Path) -> Any:
    """Save ``state`` as the backbone's weight file in ``folder`` and load it through the backbone's
    own loader (CPU, fp32): how a checkpoint on disk reaches the model in a real run."""
    (spec,) = backbone.weights
    path = folder / spec.filename
    torch.save(state, path)
    return backbone.load({spec.id: path}, torch.device("cpu"), torch.float32)
