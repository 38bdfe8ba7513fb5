"""A method's config.yaml plus the run's overrides (``RunSettings.overrides``).

Overrides are either dotted paths into the YAML (``"train.learning_rate": 1e-4``) or short names
the adapter maps onto several paths (``"steps": 3`` → every training stage's step count,
``"resolution": 64`` → training size and sampling height/width). Unknown keys are an error:
a typo must not silently train the paper configuration.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from jtbench.errors import InputError

#: Override keys every adapter accepts without using them here (read by the base-model loader).
PASSTHROUGH = frozenset({"base_path"})


def load_config(path: Path) -> dict[str, Any]:
    return yaml.safe_load(Path(path).read_text()) or {}


def _set(cfg: dict[str, Any], dotted: str, value: Any, source: Path | None) -> None:
    node = cfg
    *parents, leaf = dotted.split(".")
    for key in parents:
        if not isinstance(node.get(key), dict):
            raise InputError(f"override {dotted!r} names no config section {key!r}", file=source,
                             fix="use a dotted path that exists in the method's config.yaml")
        node = node[key]
    if leaf not in node:
        raise InputError(f"override {dotted!r} names no config key", file=source,
                         fix=f"known keys here: {', '.join(sorted(node))}")
    node[leaf] = value


def apply_overrides(
    cfg: Mapping[str, Any], overrides: Mapping[str, Any], shortcuts: Mapping[str, Sequence[str]],
    source: Path | None = None,
) -> dict[str, Any]:
    """A copy of ``cfg`` with ``overrides`` applied (shortcut names first expanded to dotted paths)."""
    out = copy.deepcopy(dict(cfg))
    for key, value in overrides.items():
        if key in PASSTHROUGH:
            continue
        if key in shortcuts:
            for dotted in shortcuts[key]:
                _set(out, dotted, value, source)
        elif "." in key or key in out:
            _set(out, key, value, source)
        else:
            raise InputError(f"unknown override {key!r}", file=source,
                             fix=f"use one of {', '.join(sorted(shortcuts))} or a dotted config path")
    return out
