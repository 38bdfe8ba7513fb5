"""Instance-level ``forward`` patches on a UNet's submodules, undoable.

Gradient checkpointing and MotionDirector's one-frame temporal skip both change what a few
diffusers module classes do without editing diffusers: they replace ``forward`` on the matching
instances and keep the original under a marker attribute, so the patch is idempotent and can be
removed exactly. Each feature uses its own marker, so the two stack and unstack independently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from torch import nn

#: ``make(inner_forward) -> new_forward``
ForwardWrapper = Callable[[Callable], Callable]


def wrap_forwards(model: nn.Module, wrappers: Mapping[str, ForwardWrapper], marker: str) -> int:
    """Wrap ``forward`` of every submodule whose class name is a key of ``wrappers``; returns how many
    were newly wrapped (modules already carrying ``marker`` are left alone)."""
    count = 0
    for module in model.modules():
        make = wrappers.get(type(module).__name__)
        if make is None or hasattr(module, marker):
            continue
        setattr(module, marker, module.forward)
        module.forward = make(module.forward)
        count += 1
    return count


def restore_forwards(model: nn.Module, marker: str) -> int:
    """Undo :func:`wrap_forwards` for ``marker``; returns how many modules were restored."""
    count = 0
    for module in model.modules():
        if hasattr(module, marker):
            module.forward = getattr(module, marker)
            delattr(module, marker)
            count += 1
    return count
