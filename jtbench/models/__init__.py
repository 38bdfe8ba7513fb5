"""Backbones (CLIP, DINO, RAFT, AMT, MUSIQ, PickScore, trackers): loaded once per process."""

from jtbench.models.base import BACKBONES, Backbone, ModelHub

__all__ = ["BACKBONES", "Backbone", "ModelHub"]
