"""Prepare the next videos on a CPU thread while the current one is scored.

Scoring a video is model compute (on the GPU, or on torch's own CPU threads); preparing one is
hashing and decoding (PyAV), which release the GIL. Overlapping the two takes the decode off
the critical path without changing anything the scorer computes: items come back in input
order, an exception raised while preparing an item is raised when that item is consumed (as
a sequential loop would raise it), and at most ``ahead`` prepared items wait beside the one being
consumed, so memory holds ``ahead + 1`` decoded videos at most (a 49-frame 1080p clip is ~300 MB).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import torch

from jtbench.io.video import VideoClip

Item = TypeVar("Item")
Prepared = TypeVar("Prepared")

#: Decoded videos prepared beyond the one being scored (1: decode of video n+1 overlaps scoring of n).
DEFAULT_AHEAD = 1


def depth_for(device: torch.device | str) -> int:
    """Videos to prepare ahead when scoring on ``device``: :data:`DEFAULT_AHEAD` on CUDA, where the
    scoring thread mostly waits on the GPU with the GIL released; 0 on a CPU, where the decode
    thread competes with the metrics for the same cores and the GIL (measured on a shared 2-core
    machine, one torch thread, 6 videos of 49×480×720, three tiny-backbone metrics: 15.9 s with
    one ahead, 14.6 s without)."""
    return DEFAULT_AHEAD if torch.device(device).type == "cuda" else 0


def prefetched(
    items: Iterable[Item], prepare: Callable[[Item], Prepared], *, ahead: int = DEFAULT_AHEAD
) -> Iterator[Prepared]:
    """``prepare(item)`` for each item, in order, computed up to ``ahead`` items early on one thread.

    ``ahead=0`` prepares each item on the calling thread when it is asked for (no overlap).
    """
    source = iter(items)
    if ahead <= 0:
        yield from map(prepare, source)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="jtbench-prefetch") as pool:
        waiting: deque[Future[Prepared]] = deque()
        try:
            for item in source:
                waiting.append(pool.submit(prepare, item))
                if len(waiting) > ahead:
                    yield waiting.popleft().result()
            while waiting:
                yield waiting.popleft().result()
        finally:  # the consumer stopped early (error, interrupt): drop what was not started
            for future in waiting:
                future.cancel()


def pin_for(clip: VideoClip, device: torch.device | str) -> VideoClip:
    """The clip with its frames in page-locked host memory when they will be copied to CUDA.

    Pinned pages copy to the GPU by DMA (about twice the bandwidth of pageable memory) and are
    pinned here, on the prefetch thread, rather than by the metric that copies them. Elsewhere
    (CPU scoring, or no CUDA) the clip is returned unchanged.
    """
    if torch.device(device).type != "cuda" or not torch.cuda.is_available() or clip.frames.is_pinned():
        return clip
    return dataclasses.replace(clip, frames=clip.frames.pin_memory())


__all__ = ["DEFAULT_AHEAD", "depth_for", "pin_for", "prefetched"]
