"""The scorer's prefetch: same order, errors where a sequential loop raises them, bounded look-ahead."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from jtbench.io.video import VideoClip
from jtbench.metrics.prefetch import DEFAULT_AHEAD, depth_for, pin_for, prefetched


@pytest.mark.parametrize("ahead", [0, 1, 2])
def test_order_and_values_are_those_of_a_plain_loop(ahead: int) -> None:
    items = list(range(7))
    assert list(prefetched(items, lambda x: x * x, ahead=ahead)) == [x * x for x in items]


def test_prepares_on_another_thread_while_the_consumer_works() -> None:
    threads: list[str] = []

    def prepare(x: int) -> int:
        threads.append(threading.current_thread().name)
        return x

    for _ in prefetched(range(3), prepare, ahead=1):
        time.sleep(0.01)
    assert threads and all(name.startswith("jtbench-prefetch") for name in threads)


@pytest.mark.parametrize("ahead", [1, 2])
def test_never_more_than_ahead_items_prepared_beyond_the_consumed_one(ahead: int) -> None:
    prepared: list[int] = []
    consumed: list[int] = []

    def prepare(x: int) -> int:
        prepared.append(x)
        return x

    for x in prefetched(range(10), prepare, ahead=ahead):
        time.sleep(0.02)  # let the worker run as far as it is allowed to
        assert len(prepared) - len(consumed) <= ahead + 1
        consumed.append(x)
    assert consumed == list(range(10))


def test_an_error_surfaces_at_its_own_position_and_stops_there() -> None:
    prepared: list[int] = []

    def prepare(x: int) -> int:
        prepared.append(x)
        if x == 3:
            raise ValueError("bad item 3")
        return x

    got: list[int] = []
    with pytest.raises(ValueError, match="bad item 3"):
        for x in prefetched(range(100), prepare, ahead=1):
            got.append(x)
    assert got == [0, 1, 2]
    assert max(prepared) <= 4  # at most one item beyond the failing one was started


def test_pin_for_leaves_cpu_clips_alone() -> None:
    clip = VideoClip(torch.zeros(2, 4, 4, 3, dtype=torch.uint8), 8.0)
    assert pin_for(clip, "cpu") is clip


def test_overlap_only_where_the_scoring_thread_waits_on_a_gpu() -> None:
    assert depth_for("cpu") == 0 and depth_for(torch.device("cuda:1")) == DEFAULT_AHEAD >= 1
