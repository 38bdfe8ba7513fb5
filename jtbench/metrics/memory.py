"""Batches sized by what they cost: per-backbone memory models, the device's room, OOM fallback.

A fixed batch of 16 RAFT or AMT pairs is harmless at 256x256 and fatal at 720p (RAFT's all-pairs
correlation volume grows with the *square* of the pixel count). Every model call in the metrics
therefore goes through :func:`iter_batched`, which takes as many items per call as fit in the
room left on the device (CUDA: free memory; CPU: available RAM), capped by ``--max-memory`` and
by ``--batch-size``. When one item does not fit, the metric fails for that video with a
:class:`MemoryBudgetError` naming the memory it needs; an out-of-memory error during a call frees
the cache, halves the batch and retries (recorded in :attr:`MemoryBudget.events`, which the
scorer writes to ``provenance.json``). Batching never changes what is computed, only how many
items go through the model at once.

Where even one item of the official computation does not fit, a backbone may have leaner
:data:`VARIANTS`: RAFT and AMT can compute the correlation windows they read on demand instead of
storing the all-pairs volume (``models/correlation.py``; the same values up to float rounding).
:func:`choose_variant` keeps the official one wherever it fits.

Cost models (:data:`COSTS`): ``bytes_per_item(H, W) = base + per_pixel·P + per_pixel_sq·P²`` with
``P`` the pixels one item feeds the model (after padding / resizing). They were measured with
``benchmarks/fit_memory_costs.py``: each real-size architecture (random weights) run on CPU,
float32, batch 1 and batch 2, at three input sizes, in a fresh child process per point (no
warm-up: blocks the allocator keeps would hide the growth); the peak RSS growth over the call
(``VmHWM`` after resetting it through ``/proc/self/clear_refs``) at batch 1 is the per-item cost
(conservative: it includes the call's fixed overhead; batch 2 checks it scales linearly), fitted
by least squares, and every estimate is multiplied by :data:`HEADROOM` — except a stored
correlation pyramid, whose size is known exactly (``volume_sq``). CUDA activations of the same float32
graph take about the same bytes, so the same models size CUDA batches.
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import torch

from jtbench.errors import JtbenchError

T = TypeVar("T")
GB = 1024**3
MB = 1024**2
#: Multiplier on every fitted cost: allocator fragmentation and transient copies.
HEADROOM = 1.25
#: Share of the available RAM / free CUDA memory a batch may take (other processes move too).
ROOM_SHARE = 0.8


@dataclass(frozen=True)
class CostModel:
    """Peak memory one item adds to a model call, as a function of the pixels it feeds the model."""

    base: float  # bytes per item at any size
    per_pixel: float = 0.0  # bytes per input pixel
    per_pixel_sq: float = 0.0  # bytes per (input pixel)² — all-pairs correlation volumes (fitted)
    cpu_batch: int | None = None  # largest batch worth running on a CPU (measured), None: no limit
    volume_sq: float = 0.0  # bytes per (input pixel)² known exactly (a stored pyramid): no headroom

    def bytes_per_item(self, height: int, width: int) -> int:
        pixels = float(height) * float(width)
        fitted = self.base + self.per_pixel * pixels + self.per_pixel_sq * pixels * pixels
        return int(HEADROOM * fitted + self.volume_sq * pixels * pixels)


def pyramid_sq(levels: int = 4, first: int = 0) -> float:
    """Bytes per (input pixel)² of a float32 correlation pyramid over 1/8-resolution features.

    Level ``k`` holds ``(P/64) · (P/64/4^k)`` values; ``first=1`` counts only the pooled levels.
    """
    return 4.0 / 64**2 * sum(0.25**k for k in range(first, levels))


#: Measured per-item costs by backbone (see the module docstring; fp32 on CPU).
COSTS: dict[str, CostModel] = {
    # one pair at the padded size: its 4-level correlation pyramid (exact, 4 B · (P/64)² · 1.33;
    # built without torchvision's second copy) plus the activations alive beside it, fitted on
    # 480x720, 720x1280, 1080x1920 (growth 0.35, 1.50, 6.17 GB)
    "raft_large": CostModel(base=90 * MB, per_pixel=320.0, volume_sq=pyramid_sq()),
    # the same pair with level 0 computed on demand (models/correlation.PartialVolumePyramid): only
    # the pooled levels stored; measured 0.33, 0.74, 2.20 GB on the same sizes (1.7-2.3x the time)
    "raft_large_lookup": CostModel(base=180 * MB, per_pixel=320.0, volume_sq=pyramid_sq(first=1)),
    # one input pair at the padded size; bidirectional 1/8-resolution correlation, both volumes kept
    # fitted on 256x256, 480x720, 720x1280 (131, 727, 3004 MiB). A CPU runs one pair per call:
    # 8 pairs at 480x720 took 13.8-14.8 s at batch 1 and 18.0-20.2 s at batch 8 (equal at 256x256),
    # and score_memory's 1280x720x16 clip 59.7 s at batch 1 vs 92.0 s at batch 4
    "amt_s": CostModel(base=40 * MB, per_pixel=1312.0, per_pixel_sq=2.24e-3, cpu_batch=1),
    # the same pair with every window computed on demand (models/correlation.LocalBidirCorrelation);
    # 480x720, 720x1280, 1088x1920 measured 0.37, 0.99, 1.89 GB, at the volume's speed
    "amt_s_lookup": CostModel(base=70 * MB, per_pixel=900.0, cpu_batch=1),
    # one frame after VBench's resize (long side ≤ 512) plus pyiqa's 224/384 pyramid;
    # fitted on 256x256, 384x512, 512x512 (103, 121, 173 MiB)
    # On CPU, batches are slower: 16 frames at 256x256 took 6.6-8.2 CPU-s at batch 1 and 9.7 at
    # batch 4 or 16 (benchmarks/score_speed.py showed the same), so a CPU runs MUSIQ a frame at a time
    "musiq_spaq": CostModel(base=80 * MB, per_pixel=340.0, cpu_batch=1),
    # one frame at the short-side-224 size; attention over (P/256) tokens;
    # 224x224, 224x336, 224x398 measured 35, 42, 49 MiB (bounded above by this)
    "dino_vitb16": CostModel(base=40 * MB, per_pixel=150.0),
    # DreamVideo's ViT-S/16 sees 224x224 crops only; not measured: ViT-B/16's model bounds it
    # above (half the width, same tokens)
    "dino_vits16": CostModel(base=40 * MB, per_pixel=150.0),
    # one 224x224 crop: ViT-B/32 measured 12 MiB (fit_memory_costs.py); ViT-L/14 (Aesth-Q) and
    # PickScore's ViT-H/14 from benchmarks/score_memory.py: one batch of 16 frames grew the process
    # by 0.37 GB and 0.40 GB, decode included (real-size random weights made resident at load, CPU
    # fp32, 256x256x16)
    "clip_vit_b_32": CostModel(base=16 * MB),
    "clip_vit_l_14": CostModel(base=24 * MB),
    "pickscore": CostModel(base=26 * MB),
    # DeT's Hugging Face models (det profile), one 224x224 input each (cropped / squashed by their
    # processors whatever the video size); fit_memory_costs.py, real-size random weights: batch 1
    # grew 36 MiB (CLIP ViT-B/32) and 51 MiB (DINO ViT-B/16), batch 2 43 and 71 MiB
    "hf_clip_vit_b_32": CostModel(base=36 * MB),
    "hf_dino_vitb16": CostModel(base=51 * MB),
    # a whole clip per call (the tracker needs every frame at once): per frame at the input size
    "cotracker3_offline": CostModel(base=60 * MB, per_pixel=40.0),
    "lk_tracker": CostModel(base=1 * MB, per_pixel=16.0),
    # the profiles' backbones, from benchmarks/bench_profile_backbones.py (real size, random weights made
    # resident at load, CPU fp32, a fresh process): ViCLIP takes one 8-frame 224x224 clip per item (2,049
    # joint tokens through 24 ViT-L layers): its first call grew the process by 0.29 GB
    "viclip": CostModel(base=300 * MB),
    # HF CLIP ViT-L/14 (OpenS2V's Aesthetics), one 224x224 frame: 0.07 GB for the first frame, 0.65 GB
    # for a batch of 32 (about 20 MB a frame once the first call's buffers exist)
    "hf_clip_vit_l_14": CostModel(base=72 * MB),
}


#: Ways to run a backbone in less memory, preferred first (the first is the official computation):
#: :func:`choose_variant` takes the first whose one item fits the room left.
VARIANTS: dict[str, tuple[str, ...]] = {
    "raft_large": ("raft_large", "raft_large_lookup"),
    "amt_s": ("amt_s", "amt_s_lookup"),
}


#: The default ``--max-memory`` (also reaches `jtbench run`'s scoring workers, which inherit JTBENCH_*).
MAX_MEMORY_ENV = "JTBENCH_MAX_MEMORY"


def default_max_memory() -> int | None:
    """``JTBENCH_MAX_MEMORY`` parsed, or None."""
    return parse_memory(os.environ.get(MAX_MEMORY_ENV))


def parse_memory(text: str | None) -> int | None:
    """``"8GB"``, ``"512MiB"``, ``"1.5g"`` or a plain number of bytes → bytes; None/"" → None."""
    if text is None or str(text).strip() == "":
        return None
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kmgt]?)(i?b?)\s*", str(text).lower())
    if not match:
        raise JtbenchError(f"cannot read the memory size {text!r}", fix="write it like 8GB, 512MB or 1.5GiB")
    value = float(match.group(1)) * 1024 ** "bkmgt".index(match.group(2) or "b")
    if value <= 0:
        raise JtbenchError(f"the memory size must be positive, got {text!r}", fix="write it like 8GB")
    return int(value)


def rss_bytes() -> int:
    """This process's resident set size."""
    import psutil

    return int(psutil.Process().memory_info().rss)


def available_bytes(device: torch.device) -> int:
    """Room on ``device`` now: CUDA free memory plus what the caching allocator holds unused; else available RAM."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device))
    import psutil

    return int(psutil.virtual_memory().available)


def _is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("can't allocate memory" in text or "out of memory" in text.lower())


class MemoryBudgetError(JtbenchError):
    """One item of a model call needs more memory than the budget allows."""


def format_bytes(value: float) -> str:
    return f"{value / GB:.1f} GB" if value >= GB / 10 else f"{value / MB:.0f} MB"


@dataclass
class MemoryBudget:
    """The room a batch may take: the device's, capped by ``max_bytes`` (``--max-memory``) for the process."""

    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    max_bytes: int | None = None
    events: list[str] = field(default_factory=list)  # OOM retries, for provenance

    def in_use(self) -> int:
        """What the process already holds on the device (counted against ``max_bytes``)."""
        if self.device.type == "cuda":
            return int(torch.cuda.memory_allocated(self.device))
        return rss_bytes()

    def room(self) -> int:
        room = int(available_bytes(self.device) * ROOM_SHARE)
        if self.max_bytes is not None:
            room = min(room, self.max_bytes - self.in_use())
        return max(room, 0)

    def batch_size(self, cost: int, limit: int, what: str) -> int:
        """Items per call: as many as fit in :meth:`room`, at most ``limit``; raise when not even one fits."""
        room = self.room()
        if cost > room:
            cap = f" (--max-memory {format_bytes(self.max_bytes)})" if self.max_bytes is not None else ""
            held = self.in_use()
            if self.max_bytes is not None and held >= self.max_bytes:
                cap += f"; the process already holds {format_bytes(held)} (loaded weights, decoded video)"
            raise MemoryBudgetError(
                f"{what} needs about {format_bytes(cost)} for one item, only {format_bytes(room)} is free{cap}",
                fix=f"raise --max-memory, free memory or use a machine with {format_bytes(held + cost)} "
                "or more, or leave this metric out with --metrics",
            )
        return max(1, min(limit, room // max(cost, 1)))


def choose_variant(backbone: str, height: int, width: int, budget: MemoryBudget) -> str:
    """The first variant of ``backbone`` whose one item at ``height`` x ``width`` fits ``budget``'s room.

    When none fits, the one needing least: its batch sizing then raises the per-video error naming
    the memory it needs.
    """
    options = VARIANTS.get(backbone, (backbone,))
    room = budget.room()
    for name in options:
        if COSTS[name].bytes_per_item(height, width) <= room:
            return name
    return min(options, key=lambda name: COSTS[name].bytes_per_item(height, width))


def iter_batched(
    fn: Callable[[int, int], T],
    count: int,
    cost: int,
    *,
    limit: int,
    budget: MemoryBudget,
    what: str,
    cap: Callable[[], int] | None = None,
) -> Iterator[T]:
    """``fn(start, stop)`` over ``0..count`` in order, in batches sized by ``cost`` bytes per item.

    Lazy, so a caller can stop once its result is decided; ``cap()`` (asked before each batch)
    bounds the next batch to the items the caller needs before its answer could be final, so an
    early stop wastes no item. An out-of-memory error halves the batch and retries the same items
    (down to one item, then a :class:`MemoryBudgetError`).
    """
    start, size = 0, None
    while start < count:
        if size is None:
            size = budget.batch_size(cost, limit, what)
        stop = min(start + (min(size, max(1, cap())) if cap is not None else size), count)
        try:
            result = fn(start, stop)
        except Exception as exc:
            if not _is_out_of_memory(exc):
                raise
            del exc
            gc.collect()
            if budget.device.type == "cuda":
                torch.cuda.empty_cache()
            if stop - start == 1:
                raise MemoryBudgetError(
                    f"{what} ran out of memory on a single item (estimated {format_bytes(cost)})",
                    fix="raise --max-memory, free memory or use a larger device, or leave the metric out (--metrics)",
                ) from None
            size = max(1, (stop - start) // 2)
            budget.events.append(f"{what}: out of memory at batch {stop - start}, retried at {size}")
            continue
        yield result
        start = stop


def run_batched(
    fn: Callable[[int, int], T], count: int, cost: int, *, limit: int, budget: MemoryBudget, what: str
) -> list[T]:
    """Every batch of :func:`iter_batched`, in order."""
    return list(iter_batched(fn, count, cost, limit=limit, budget=budget, what=what))


def model_batches(
    fn: Callable[[int, int], T],
    count: int,
    backbone: str,
    height: int,
    width: int,
    *,
    limit: int,
    budget: MemoryBudget | None = None,
    device: torch.device | str = "cpu",
    cap: Callable[[], int] | None = None,
) -> Iterator[T]:
    """:func:`iter_batched` for ``count`` items fed to ``backbone`` at ``height`` x ``width`` (cost: :data:`COSTS`)."""
    budget = budget if budget is not None else MemoryBudget(device=torch.device(device))
    model = COSTS[backbone]
    cost = model.bytes_per_item(height, width)
    if model.cpu_batch is not None and torch.device(device).type == "cpu":
        limit = min(limit, model.cpu_batch)
    what = f"{backbone} at {height}x{width}"
    return iter_batched(fn, count, cost, limit=max(1, limit), budget=budget, what=what, cap=cap)


# -- measuring ----------------------------------------------------------------------------------
_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


def _vm_hwm() -> int | None:
    try:
        text = _STATUS.read_text()
    except OSError:
        return None
    match = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) * 1024 if match else None


def _reset_hwm() -> bool:
    try:
        _CLEAR_REFS.write_text("5")  # Linux ≥ 4.0: reset the peak RSS to the current RSS
        return True
    except OSError:
        return False


@dataclass
class PeakMeter:
    """Peak memory growth over a block: CPU RSS high-water mark growth, or CUDA max allocated growth."""

    device: torch.device
    peaks: dict[str, int] = field(default_factory=dict)

    @contextmanager
    def measure(self, name: str) -> Iterator[None]:
        cuda = self.device.type == "cuda"
        if cuda:
            torch.cuda.reset_peak_memory_stats(self.device)
            before = torch.cuda.memory_allocated(self.device)
        else:
            exact = _reset_hwm()
            before = rss_bytes()
        try:
            yield
        finally:
            if cuda:
                peak = torch.cuda.max_memory_allocated(self.device) - before
            else:
                hwm = _vm_hwm() if exact else None
                peak = max(hwm or 0, rss_bytes()) - before
            self.peaks[name] = max(self.peaks.get(name, 0), int(peak))


def peak_rss_bytes() -> int:
    """The process's peak RSS so far (``ru_maxrss``; since the last reset where the kernel allows one)."""
    hwm = _vm_hwm()
    if hwm is not None:
        return hwm
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
