"""Shared by the memory tests: a budget with a room the test chooses."""

from __future__ import annotations

import torch

from jtbench.metrics.memory import MemoryBudget


class FixedRoom(MemoryBudget):
    """A budget whose room is a given number of bytes (the machine's is not predictable)."""

    def __init__(self, room: int) -> None:
        super().__init__(device=torch.device("cpu"))
        self._room = room

    def room(self) -> int:
        return self._room
