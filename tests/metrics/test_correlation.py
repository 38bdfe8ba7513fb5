"""Correlation without the full volume: the lean build is torchvision's bit for bit, the on-demand
windows are the volume's up to float rounding (RAFT's and AMT's conventions, out-of-frame points
included), and the metrics pick the on-demand path only where the volume does not fit."""

from __future__ import annotations

import pytest
import torch
from _amt_raft_helpers import moving_pattern
from memory_helpers import FixedRoom
from torchvision.models.optical_flow.raft import CorrBlock

from jtbench.metrics.memory import COSTS, GB, CostModel, choose_variant
from jtbench.models.correlation import (
    LocalBidirCorrelation,
    LocalCorrelation,
    PartialVolumePyramid,
    build_volume_pyramid,
)
from jtbench.models.raft import raft_consecutive_flows

WINDOW_TOLERANCE = 1e-5  # relative to the largest correlation value


def _features(batch: int, channels: int, h: int, w: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, channels, h, w, generator=gen), torch.randn(batch, channels, h, w, generator=gen)


def _coords(batch: int, h: int, w: int, seed: int, spread: float) -> torch.Tensor:
    """Pixel grids displaced by up to ``spread`` px: many windows reach outside the frame."""
    gen = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.arange(h).float(), torch.arange(w).float(), indexing="ij")
    grid = torch.stack([xs, ys]).expand(batch, 2, h, w)
    return grid + spread * (2 * torch.rand(batch, 2, h, w, generator=gen) - 1)


def test_lean_volume_build_is_torchvisions_bit_for_bit():
    f1, f2 = _features(2, 32, 20, 24, seed=0)
    ours, theirs = CorrBlock(num_levels=4, radius=4), CorrBlock(num_levels=4, radius=4)
    build_volume_pyramid(ours, f1, f2)
    theirs.build_pyramid(f1, f2)
    assert len(ours.corr_pyramid) == 4
    for mine, official in zip(ours.corr_pyramid, theirs.corr_pyramid, strict=True):
        assert torch.equal(mine, official)


@pytest.mark.parametrize(("h", "w", "spread"), [(16, 16, 0.0), (20, 27, 3.5), (17, 23, 12.0)])
def test_on_demand_windows_equal_torchvisions_index_pyramid(h, w, spread):
    f1, f2 = _features(2, 48, h, w, seed=1)
    coords = _coords(2, h, w, seed=2, spread=spread)
    block = CorrBlock(num_levels=4, radius=4)
    block.build_pyramid(f1, f2)
    official = block.index_pyramid(coords)
    scale = official.abs().max()
    for lean in (LocalCorrelation(f1, f2, levels=4, radius=4), PartialVolumePyramid(f1, f2, levels=4, radius=4)):
        ours = lean(coords)
        assert ours.shape == official.shape == (2, 4 * 81, h, w)
        assert (ours - official).abs().max() <= WINDOW_TOLERANCE * scale


def test_partial_pyramid_stores_the_official_pooled_levels():
    f1, f2 = _features(1, 32, 19, 22, seed=3)
    block = CorrBlock(num_levels=4, radius=4)
    block.build_pyramid(f1, f2)
    partial = PartialVolumePyramid(f1, f2, levels=4, radius=4)
    for stored, official in zip(partial.stored, block.corr_pyramid[1:], strict=True):
        assert stored.shape == official.shape
        torch.testing.assert_close(stored, official, rtol=0, atol=1e-6)


def test_on_demand_bidirectional_windows_equal_amts_block():
    from jtbench.models.amt import amt_s_module

    official_block = amt_s_module().BidirCorrBlock.official  # AMT's own class, kept behind the switch
    f1, f2 = _features(1, 84, 18, 21, seed=4)
    c0, c1 = _coords(1, 18, 21, seed=5, spread=4.0), _coords(1, 18, 21, seed=6, spread=4.0)
    theirs = official_block(f1, f2, num_levels=4, radius=3)(c0, c1)
    ours = LocalBidirCorrelation(f1, f2, num_levels=4, radius=3)(c0, c1)
    for mine, official in zip(ours, theirs, strict=True):
        assert mine.shape == official.shape == (1, 4 * 49, 18, 21)
        assert (mine - official).abs().max() <= WINDOW_TOLERANCE * official.abs().max()


def test_raft_flows_on_demand_match_the_volume(tiny_hub):
    raft = tiny_hub.get("raft_large")
    frames = torch.from_numpy(moving_pattern(3, 128, 136, speed=4)).permute(0, 3, 1, 2).float()
    volume = raft_consecutive_flows(raft, frames)
    on_demand = raft_consecutive_flows(raft, frames, lookup=True)
    assert (volume - on_demand).abs().max() <= 1e-3, "flow in px"
    assert raft.corr_block.corr_pyramid[0].numel() == 1, "the pyramid is released after the call"


@pytest.mark.parametrize("backbone", ["raft_large", "amt_s"])
def test_the_official_volume_is_used_wherever_it_fits(backbone):
    lean = f"{backbone}_lookup"
    volume_1080p = COSTS[backbone].bytes_per_item(1088, 1920)
    lean_1080p = COSTS[lean].bytes_per_item(1088, 1920)
    assert lean_1080p < volume_1080p / 2
    assert choose_variant(backbone, 1088, 1920, FixedRoom(volume_1080p)) == backbone
    assert choose_variant(backbone, 1088, 1920, FixedRoom(volume_1080p - 1)) == lean
    # nothing fits: the one needing least, whose batch sizing names what it needs
    assert choose_variant(backbone, 1088, 1920, FixedRoom(1)) == lean
    assert choose_variant("dino_vitb16", 224, 224, FixedRoom(1)) == "dino_vitb16"


def test_pyramid_cost_is_its_exact_size():
    """The stored pyramid is counted at its real size (no headroom): at 1080p, 5.6 GB of the pair's cost."""
    model = COSTS["raft_large"]
    pixels = 1088 * 1920
    h8, w8 = 1088 // 8, 1920 // 8
    levels = sum((h8 >> k) * (w8 >> k) for k in range(4))
    assert model.volume_sq * pixels**2 == pytest.approx(4 * h8 * w8 * levels, rel=0.01)
    assert CostModel(base=0, volume_sq=1e-3).bytes_per_item(100, 100) == 100_000
    assert 5.5 * GB < model.bytes_per_item(1088, 1920) < 7 * GB
