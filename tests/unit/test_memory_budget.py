"""Batches sized by memory: parsing, sizing, OOM fallback, peak measurement, Dyn-Deg's early stop."""

from __future__ import annotations

import random

import pytest
import torch
from memory_helpers import FixedRoom

from jtbench.errors import JtbenchError
from jtbench.metrics.dynamic_degree import DynamicParams, decided_scores, is_dynamic
from jtbench.metrics.memory import (
    COSTS,
    GB,
    MB,
    CostModel,
    MemoryBudget,
    MemoryBudgetError,
    PeakMeter,
    parse_memory,
    run_batched,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8GB", 8 * GB), ("512MiB", 512 * MB), ("1.5g", int(1.5 * GB)), ("1024", 1024), (None, None), ("", None)],
)
def test_parse_memory(text, expected):
    assert parse_memory(text) == expected


@pytest.mark.parametrize("text", ["lots", "-1GB", "8 parsecs", "0"])
def test_parse_memory_rejects_nonsense(text):
    with pytest.raises(JtbenchError, match="memory size"):
        parse_memory(text)


def test_batches_follow_the_room_and_the_limit():
    calls: list[tuple[int, int]] = []

    def fn(start, stop):
        calls.append((start, stop))
        return stop - start

    assert run_batched(fn, 10, 100, limit=16, budget=FixedRoom(350), what="x") == [3, 3, 3, 1]
    calls.clear()
    assert run_batched(fn, 10, 100, limit=4, budget=FixedRoom(10_000), what="x") == [4, 4, 2]
    assert calls == [(0, 4), (4, 8), (8, 10)]


def test_one_item_that_does_not_fit_names_the_memory_it_needs():
    with pytest.raises(
        MemoryBudgetError, match=r"raft_large at 1088x1920 needs about \d+\.\d GB for one item, only 1\.0 GB is free"
    ):
        cost = COSTS["raft_large"].bytes_per_item(1088, 1920)
        run_batched(lambda a, b: None, 3, cost, limit=16, budget=FixedRoom(GB), what="raft_large at 1088x1920")


def test_out_of_memory_halves_the_batch_and_retries_the_same_items():
    seen: list[tuple[int, int]] = []

    def fn(start, stop):
        if stop - start > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        seen.append((start, stop))
        return list(range(start, stop))

    budget = FixedRoom(10**12)
    out = run_batched(fn, 8, 1, limit=8, budget=budget, what="amt_s at 720x1280")
    assert [i for chunk in out for i in chunk] == list(range(8))  # every item once, in order
    assert seen == [(0, 2), (2, 4), (4, 6), (6, 8)]
    assert budget.events == [
        "amt_s at 720x1280: out of memory at batch 8, retried at 4",
        "amt_s at 720x1280: out of memory at batch 4, retried at 2",
    ]


def test_out_of_memory_on_one_item_is_a_clear_error():
    def fn(start, stop):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")

    with pytest.raises(MemoryBudgetError, match="ran out of memory on a single item"):
        run_batched(fn, 3, 1, limit=4, budget=FixedRoom(10**12), what="x")


def test_other_errors_are_not_swallowed():
    def fn(start, stop):
        raise ValueError("a real bug")

    with pytest.raises(ValueError, match="a real bug"):
        run_batched(fn, 3, 1, limit=4, budget=FixedRoom(10**12), what="x")


def test_max_bytes_caps_the_room_below_what_the_process_holds():
    budget = MemoryBudget(max_bytes=1)  # far below this process's RSS
    assert budget.room() == 0
    with pytest.raises(MemoryBudgetError, match=r"--max-memory"):
        budget.batch_size(1, 4, "x")


def test_cost_models_grow_with_the_square_of_the_pixels_for_correlation_volumes():
    small, large = COSTS["raft_large"].bytes_per_item(256, 256), COSTS["raft_large"].bytes_per_item(1088, 1920)
    assert large > 20 * small
    assert CostModel(base=10).bytes_per_item(1, 1) >= 10


def test_peak_meter_sees_an_allocation():
    meter = PeakMeter(torch.device("cpu"))
    with meter.measure("alloc"):
        block = torch.ones(64 * MB // 4)  # 64 MB, touched (freed blocks the allocator kept may serve part)
    assert meter.peaks["alloc"] >= 0 and block.numel() == 16 * MB
    with meter.measure("alloc"):
        fresh = torch.ones(256 * MB // 4)  # above glibc's largest mmap threshold: new pages
    assert meter.peaks["alloc"] >= 200 * MB and fresh.numel() == 64 * MB


def test_dyn_deg_stops_where_the_decision_is_final_and_decides_the_same():
    rng = random.Random(0)
    for _ in range(2000):
        total = rng.randint(0, 14)
        scores = [rng.choice([1.0, 9.0, float("nan")]) for _ in range(total)]
        params = DynamicParams(threshold=6.0, count_num=rng.randint(0, 5))
        taken = decided_scores(iter(scores), total, params)
        assert taken == scores[: len(taken)] or all(a != a for a in taken)  # a prefix (NaN != NaN)
        assert is_dynamic(taken, params) == is_dynamic(scores, params)
    # dynamic after 2 of 10 pairs when count_num is 2 and the first two move
    assert len(decided_scores(iter([9.0] * 10), 10, DynamicParams(6.0, 2))) == 2
    # static as soon as too few pairs are left to reach count_num
    assert len(decided_scores(iter([1.0] * 10), 10, DynamicParams(6.0, 4))) == 7


@pytest.mark.parametrize(
    ("moving", "count_num_pairs"),
    [([True] * 15, 4), ([False] * 15, 12), ([False, True] * 7 + [True], None)],
)
def test_dyn_deg_runs_raft_only_on_the_pairs_its_decision_needs(monkeypatch, moving, count_num_pairs):
    """Batches are capped at the pairs still needed, so RAFT computes exactly the pairs taken
    (a whole-video batch of 15 would have flowed every pair), and the decision is the full run's."""
    from jtbench.io.video import VideoClip
    from jtbench.metrics import dynamic_degree as dd

    flowed: list[int] = []

    def fake_flows(model, chunk, iters, lookup=False):  # pair i moves by 20 px or 0 px (threshold at 128 px: 3 px)
        first = len(flowed)
        flowed.extend(range(first, first + chunk.shape[0] - 1))
        magnitude = [20.0 if moving[i] else 0.0 for i in range(first, first + chunk.shape[0] - 1)]
        return torch.stack([torch.full((2, *chunk.shape[-2:]), m) for m in magnitude])

    monkeypatch.setattr(dd, "raft_consecutive_flows", fake_flows)
    clip = VideoClip(torch.zeros(16, 128, 128, 3, dtype=torch.uint8), 8.0)
    model = torch.nn.Linear(1, 1)
    budget = MemoryBudget(device=torch.device("cpu"), max_bytes=64 * GB)
    early = dd.analyse(model, clip, 16, stop_early=True, budget=budget)
    assert len(flowed) == len(early.scores)  # nothing flowed that the decision did not use
    if count_num_pairs is not None:
        assert len(early.scores) == count_num_pairs
    assert len(early.scores) < 15
    flowed.clear()
    full = dd.analyse(model, clip, 16, stop_early=False, budget=budget)
    assert len(flowed) == 15 and full.dynamic == early.dynamic == any(moving[:15])


def test_memory_mapped_weights_are_made_resident_at_load(tmp_path):
    """Weights mapped from disk (transformers' safetensors on CPU) count in the budget from load on."""
    from jtbench.metrics.memory import rss_bytes
    from jtbench.models.base import make_resident

    path = tmp_path / "weights.pt"
    torch.save({"weight": torch.ones(4096, 4096)}, path)  # 64 MiB
    mapped = torch.load(path, mmap=True, weights_only=True)["weight"]
    model = torch.nn.Linear(4096, 4096, bias=False)
    model.weight = torch.nn.Parameter(mapped, requires_grad=False)
    before = rss_bytes()
    make_resident(model)
    assert rss_bytes() - before > 48 * MB
    assert torch.equal(model.weight[:2, :2], torch.ones(2, 2))  # nothing was changed
