"""Point trackers for Mot-Fid: CoTracker3 offline (the paper's) and an OpenCV Lucas–Kanade stand-in.

Both answer the same question: where do the points of CoTracker's query grid at frame 0 go?
``Tracker.track(frames uint8 [T, H, W, 3], grid_size=55, segm_mask=None) -> float32 [N, T, 2]``
in original pixel coordinates (x, y), N = grid_size² (3025 for Mot-Fid), track ``i`` starting at
the same relative location in every video — the metric relies on that correspondence (its
identity subtraction is index-based). A ``segm_mask`` keeps only the grid points inside it, by
the predictor's own rule (:func:`grid_point_mask`); CoTracker then also tracks its 6×6 support
grid beside them (and drops it from the output), which changes every other track.

The grid is CoTracker's ``get_points_on_a_grid(55, (384, 512))``: a margin of W/64 = 8 px on the
384×512 canvas the predictor resizes every video to, row-major (y outer, x inner); the v3
predictor maps tracks back to the video by (W−1)/511 and (H−1)/383 (align_corners=True).

CoTracker3 is not on PyPI (CC-BY-NC 4.0, GitHub / torch.hub only), so jtbench loads it from a
local checkout named by ``JTBENCH_COTRACKER_DIR`` (or the usual places, see
:func:`find_cotracker_checkout`) and never clones at run time unless told to with
``JTBENCH_COTRACKER_DIR=github:facebookresearch/co-tracker``.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from jtbench.errors import InputError, WeightsError
from jtbench.models.base import BACKBONES, Backbone
from jtbench.paths import cache_dir
from jtbench.weights.catalog import WeightSpec, register_weights

GRID_SIZE = 55
#: CoTracker3's model_resolution (H, W): every video is resized to this canvas before tracking.
COTRACKER_CANVAS = (384, 512)
COTRACKER_REPO = "facebookresearch/co-tracker"
COTRACKER_DIR_ENV = "JTBENCH_COTRACKER_DIR"

COTRACKER3_OFFLINE = register_weights(
    WeightSpec(
        id="cotracker3-scaled-offline",
        filename="scaled_offline.pth",
        urls=("https://huggingface.co/facebook/cotracker3/resolve/main/scaled_offline.pth",),
        torch_hub=COTRACKER_REPO,
        licence="CC-BY-NC-4.0",
        used_by=("motion_fidelity",),
    )
)


# -- the query grid -----------------------------------------------------------------------------
def cotracker_grid(size: int = GRID_SIZE, canvas: tuple[int, int] = COTRACKER_CANVAS) -> torch.Tensor:
    """``[size², 2]`` (x, y) on the canvas: linspace over [m, W−m] × [m, H−m], m = W/64, row-major."""
    height, width = canvas
    margin = width / 64
    ys = torch.linspace(margin, height - margin, size, dtype=torch.float64)
    xs = torch.linspace(margin, width - margin, size, dtype=torch.float64)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x, grid_y], dim=-1).reshape(-1, 2).float()


def grid_in_pixels(height: int, width: int, size: int = GRID_SIZE) -> torch.Tensor:
    """The grid mapped back to a ``height × width`` video as the v3 predictor does: ×(W−1)/511, ×(H−1)/383."""
    canvas_h, canvas_w = COTRACKER_CANVAS
    scale = torch.tensor([(width - 1) / (canvas_w - 1), (height - 1) / (canvas_h - 1)], dtype=torch.float64)
    return (cotracker_grid(size).double() * scale).float()


def grid_point_mask(mask: torch.Tensor, size: int = GRID_SIZE) -> torch.Tensor:
    """Which of the ``size²`` grid points the v3 predictor keeps for ``segm_mask``: the mask resized
    (nearest) to the 384×512 canvas, read at each point's rounded (y, x); ``[size²]`` bool."""
    if mask.ndim != 2:
        raise InputError(f"a segmentation mask must be [H, W], got {tuple(mask.shape)}", fix="pass one mask image")
    canvas = torch.nn.functional.interpolate(mask[None, None].float(), COTRACKER_CANVAS, mode="nearest")[0, 0]
    grid = cotracker_grid(size)
    return canvas[grid[:, 1].round().long(), grid[:, 0].round().long()].bool()


def _check_frames(frames: torch.Tensor) -> torch.Tensor:
    if not isinstance(frames, torch.Tensor) or frames.dtype != torch.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        got = f"{frames.dtype} {tuple(frames.shape)}" if isinstance(frames, torch.Tensor) else type(frames).__name__
        raise InputError(f"a tracker expects uint8 frames [T, H, W, 3], got {got}", fix="pass VideoClip.frames")
    if frames.shape[0] < 2:
        raise InputError(f"tracking needs at least 2 frames, got {frames.shape[0]}", fix="pass a longer video")
    return frames


# -- the interface ------------------------------------------------------------------------------
class Tracker(ABC):
    """Tracks CoTracker's grid (55×55 by default) from frame 0 through a video."""

    name: ClassVar[str]
    #: True only for the tracker the paper used; results from others say so in their notes.
    paper_tracker: ClassVar[bool] = False
    description: ClassVar[str] = ""

    @abstractmethod
    def track(
        self, frames: torch.Tensor, grid_size: int = GRID_SIZE, segm_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``uint8 [T, H, W, 3]`` → ``float32 [N, T, 2]`` (x, y) in original pixels, on the CPU.

        ``segm_mask`` (``[H', W']``, any size, nonzero = inside) keeps the grid points inside it.
        """


# -- CoTracker3 offline -------------------------------------------------------------------------
class CoTrackerTracker(Tracker):
    """Calls a CoTracker predictor as JointTuner (``model(video, grid_size=55)``) and DeT
    (``model(video, grid_size=50, segm_mask=mask)``) do.

    The video goes in as float 0–255 ``[1, T, 3, H, W]`` at its original resolution (JT reads all
    frames with OpenCV); the predictor resizes, tracks with ``iters=6``, overwrites frame 0 with
    the query points and rescales. Visibility is returned by CoTracker and ignored, as in JT.
    """

    name = "cotracker3_offline"
    paper_tracker = True
    description = "CoTracker3 offline (scaled_offline.pth), the paper's tracker"

    def __init__(self, predictor: torch.nn.Module, device: torch.device, dtype: torch.dtype) -> None:
        self.predictor = predictor
        self.device = device
        self.dtype = dtype

    @torch.inference_mode()
    def track(
        self, frames: torch.Tensor, grid_size: int = GRID_SIZE, segm_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        frames = _check_frames(frames)
        video = frames.permute(0, 3, 1, 2)[None].to(self.device, self.dtype)
        if segm_mask is None:
            tracks, _visibility = self.predictor(video, grid_size=grid_size)
        else:
            mask = segm_mask[None, None].to(self.device, torch.float32)
            tracks, _visibility = self.predictor(video, grid_size=grid_size, segm_mask=mask)
        if tracks.ndim != 4 or tracks.shape[0] != 1 or tracks.shape[1] != frames.shape[0] or tracks.shape[-1] != 2:
            raise InputError(
                f"CoTracker returned tracks of shape {tuple(tracks.shape)}, expected [1, T, N, 2]",
                fix=f"use the cotracker3_offline entry point of {COTRACKER_REPO}",
            )
        return tracks[0].permute(1, 0, 2).float().cpu().contiguous()


def find_cotracker_checkout() -> Path | str | None:
    """The CoTracker code to load, first match wins.

    1. ``$JTBENCH_COTRACKER_DIR``: a local checkout, or ``github:owner/repo[:ref]`` to let
       torch.hub fetch it (network; explicit opt-in only);
    2. ``$JTBENCH_CACHE/code/co-tracker``;
    3. torch.hub's own clone (``<torch hub dir>/facebookresearch_co-tracker_main``), which exists
       wherever the official script has run once.
    """
    setting = os.environ.get(COTRACKER_DIR_ENV)
    if setting:
        if setting.startswith("github:"):
            return setting.removeprefix("github:")
        path = Path(setting).expanduser()
        if not (path / "hubconf.py").is_file():
            raise WeightsError(
                f"{COTRACKER_DIR_ENV} points to a folder without hubconf.py",
                file=path,
                fix=f"git clone https://github.com/{COTRACKER_REPO} {path}",
            )
        return path
    for candidate in (default_checkout(), Path(torch.hub.get_dir()) / "facebookresearch_co-tracker_main"):
        if (candidate / "hubconf.py").is_file():
            return candidate
    return None


def default_checkout() -> Path:
    return cache_dir() / "code" / "co-tracker"


def _missing_checkout_error() -> WeightsError:
    target = default_checkout()
    return WeightsError(
        "CoTracker3 code not found (it is not on PyPI, CC-BY-NC 4.0; jtbench does not clone it at run time)",
        file=target,
        fix=(
            f"git clone https://github.com/{COTRACKER_REPO} {target} (or clone it anywhere and set "
            f"{COTRACKER_DIR_ENV}=<that folder>), and download {COTRACKER3_OFFLINE.urls[0]} to "
            f"{cache_dir() / 'weights' / COTRACKER3_OFFLINE.id / COTRACKER3_OFFLINE.filename}; "
            "or score Mot-Fid with the Lucas–Kanade stand-in (tracker='lk_tracker', not the paper's numbers)"
        ),
    )


def _build_predictor(*, pretrained: bool = False) -> torch.nn.Module:
    """The hub entry point ``cotracker3_offline`` without its own download (weights come from us)."""
    checkout = find_cotracker_checkout()
    if checkout is None:
        raise _missing_checkout_error()
    if isinstance(checkout, Path):
        return torch.hub.load(str(checkout), "cotracker3_offline", source="local", pretrained=pretrained)
    return torch.hub.load(checkout, "cotracker3_offline", source="github", trust_repo=True, pretrained=pretrained)


def _state_dict_of(checkpoint: Path) -> dict[str, torch.Tensor]:
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    # hubconf feeds the file straight to load_state_dict; build_cotracker also accepts {"model": ...}.
    return state["model"] if isinstance(state, dict) and "model" in state else state


@BACKBONES.register("cotracker3_offline")
class CoTracker3Offline(Backbone):
    """CoTracker3 offline predictor from a local checkout + ``scaled_offline.pth``."""

    name = "cotracker3_offline"
    weights = (COTRACKER3_OFFLINE,)

    def load(self, files: dict[str, Path], device: torch.device, dtype: torch.dtype) -> CoTrackerTracker:
        checkpoint = files[COTRACKER3_OFFLINE.id]
        predictor = _build_predictor(pretrained=False)
        try:
            predictor.model.load_state_dict(_state_dict_of(checkpoint))
        except (RuntimeError, KeyError) as exc:
            raise WeightsError(
                f"checkpoint does not fit the cotracker3_offline model: {exc}",
                file=checkpoint,
                fix=f"download {COTRACKER3_OFFLINE.urls[0]} again; it must match the checked-out code",
            ) from exc
        predictor = predictor.to(device=device, dtype=dtype).eval()
        return CoTrackerTracker(predictor, device, dtype)

    def build_tiny(self, out_dir: Path, seed: int) -> dict[str, Path]:
        """Seeded random weights for the *real* architecture (CoTracker has no size knobs).

        Needs the checkout; without one there is no CoTracker to build, and tiny mode scores Mot-Fid
        with ``lk_tracker`` instead.
        """
        if find_cotracker_checkout() is None:
            raise _missing_checkout_error()
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            predictor = _build_predictor(pretrained=False)
        path = Path(out_dir) / COTRACKER3_OFFLINE.filename
        torch.save(predictor.model.state_dict(), path)
        return {COTRACKER3_OFFLINE.id: path}


# -- the offline stand-in: OpenCV pyramidal Lucas–Kanade ------------------------------------------
@dataclass(frozen=True)
class LKSettings:
    """cv2.calcOpticalFlowPyrLK parameters (OpenCV's usual sparse-tracking choices)."""

    win_size: int = 21
    max_level: int = 3
    max_iterations: int = 30
    epsilon: float = 0.01


class LucasKanadeTracker(Tracker):
    """NOT the paper's tracker: frame-to-frame pyramidal LK on the same grid, no weights needed.

    Runs on the original-resolution grey frames. A point LK loses (status 0 or a non-finite
    position) moves by the median displacement of the points it kept, rather than freezing:
    a frozen point would give zero-length steps, which the official score turns into NaN.

    Unlike CoTracker, whose tracks always carry sub-pixel noise, LK returns *exactly* zero
    motion where consecutive frames are pixel-identical (static backgrounds, h264 skip blocks:
    222 of 3025 tracks on the shared JointTuner CogVideoX sample). Under the official 0/0 → NaN
    rule those generated tracks score 0, and one such *reference* track zeroes the video, so
    official Mot-Fid values from LK are lower than CoTracker's would be; compare the nan-safe
    variant when that matters.
    """

    name = "lk_tracker"
    description = "OpenCV pyramidal Lucas–Kanade stand-in (not the paper's CoTracker3)"

    def __init__(self, settings: LKSettings | None = None) -> None:
        self.settings = settings or LKSettings()

    def track(
        self, frames: torch.Tensor, grid_size: int = GRID_SIZE, segm_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        import cv2

        frames = _check_frames(frames)
        array = frames.numpy()
        s = self.settings
        criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, s.max_iterations, s.epsilon)
        points = grid_in_pixels(array.shape[1], array.shape[2], grid_size)
        if segm_mask is not None:
            points = points[grid_point_mask(segm_mask, grid_size)]
        points = points.numpy().astype(np.float32)
        out = np.empty((points.shape[0], array.shape[0], 2), dtype=np.float32)
        out[:, 0] = points
        previous = cv2.cvtColor(array[0], cv2.COLOR_RGB2GRAY)
        for t in range(1, array.shape[0]):
            current = cv2.cvtColor(array[t], cv2.COLOR_RGB2GRAY)
            moved, status, _err = cv2.calcOpticalFlowPyrLK(
                previous,
                current,
                points.reshape(-1, 1, 2),
                None,
                winSize=(s.win_size, s.win_size),
                maxLevel=s.max_level,
                criteria=criteria,
            )
            moved = moved.reshape(-1, 2)
            ok = (status.reshape(-1) == 1) & np.isfinite(moved).all(axis=1)
            step = np.median(moved[ok] - points[ok], axis=0) if ok.any() else np.zeros(2, np.float32)
            points = np.where(ok[:, None], moved, points + step).astype(np.float32)
            out[:, t] = points
            previous = current
        return torch.from_numpy(out)


@BACKBONES.register("lk_tracker")
class LKTrackerBackbone(Backbone):
    """The LK stand-in as a backbone; its "weights" are a small JSON of LK settings."""

    name = "lk_tracker"
    weights = ()
    CONFIG_ID: ClassVar[str] = "lk-tracker-config"

    def load(self, files: dict[str, Path], device: torch.device, dtype: torch.dtype) -> LucasKanadeTracker:
        config = files.get(self.CONFIG_ID)
        if config is None:
            return LucasKanadeTracker()
        try:
            values: dict[str, Any] = json.loads(Path(config).read_text())
            return LucasKanadeTracker(LKSettings(**values))
        except (OSError, ValueError, TypeError) as exc:
            raise WeightsError(f"unreadable LK settings: {exc}", file=config, fix="delete it to rebuild") from exc

    def build_tiny(self, out_dir: Path, seed: int) -> dict[str, Path]:
        path = Path(out_dir) / "lk_tracker.json"
        path.write_text(json.dumps(asdict(LKSettings()), indent=2))
        return {self.CONFIG_ID: path}
