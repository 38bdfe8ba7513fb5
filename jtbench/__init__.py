"""jtbench — the JointTuner benchmark for appearance-motion customised text-to-video generation.

Public API (heavy parts import lazily)::

    from jtbench import Benchmark, Scorer, create_metric, list_metrics, get_method
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Benchmark": "jtbench.benchmark.combinations:Benchmark",
    "load_manifest": "jtbench.benchmark.manifest:load_manifest",
    "create_metric": "jtbench.metrics.base:create_metric",
    "list_metrics": "jtbench.metrics.base:list_metrics",
    "get_method": "jtbench.methods.base:get_method",
    "Scorer": "jtbench.metrics.scorer:Scorer",
    "ModelHub": "jtbench.models.base:ModelHub",
    "read_video": "jtbench.io.video:read_video",
    "read_results": "jtbench.io.tables:read_results",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from jtbench.registry import import_target

        return import_target(_LAZY[name])
    raise AttributeError(f"module 'jtbench' has no attribute {name!r}")
