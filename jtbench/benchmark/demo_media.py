"""Procedural demo media: textured shapes for subject photos, the same shapes moving for motion clips.

The offline demo needs subject photos and motion clips that anyone may redistribute and that
need no download, so jtbench draws them: a subject is a textured shape on a plain backdrop
(seen from three slightly different "views"), a motion clip is a textured shape moving along a
path over a soft background. Everything is a pure function of the recipe in
``data_manifests/demo.yaml`` (numpy arithmetic only, no randomness without a fixed seed), so the
same recipe gives the same pixels on every machine. They resemble no real benchmark media.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

Grid = tuple[np.ndarray, np.ndarray]  # (y, x) coordinates relative to the shape's centre, in radii


def _hex(colour: str) -> np.ndarray:
    colour = colour.lstrip("#")
    return np.array([int(colour[i : i + 2], 16) for i in (0, 2, 4)], np.float64)


# -- shapes: masks on a centred grid (radius 1 = the shape's half-size) ------------------------
def _ellipse(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    return (x / 1.0) ** 2 + (y / 0.75) ** 2 <= 1.0


def _box(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    return (np.abs(x) ** 4 + np.abs(y / 0.9) ** 4) <= 0.85  # a rounded square


def _star(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    r, theta = np.hypot(x, y), np.arctan2(y, x)
    return r <= 0.7 + 0.3 * np.cos(5 * theta)


def _figure(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A body, a head and two ears: the humanoid plushies' silhouette."""
    body = (x / 0.6) ** 2 + ((y - 0.3) / 0.65) ** 2 <= 1.0
    head = x**2 + (y + 0.55) ** 2 <= 0.4**2
    ears = ((np.abs(x) - 0.3) ** 2 + (y + 0.9) ** 2) <= 0.15**2
    return body | head | ears


SHAPES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "ellipse": _ellipse,
    "box": _box,
    "star": _star,
    "figure": _figure,
}


# -- textures: 0..1 blend between the recipe's two colours, in the shape's own coordinates -----
TEXTURES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "stripes": lambda y, x: (np.sin(9.0 * (x + 0.5 * y)) > 0).astype(np.float64),
    "checker": lambda y, x: ((np.floor(4 * x) + np.floor(4 * y)) % 2).astype(np.float64),
    "spots": lambda y, x: (np.cos(8.0 * x) * np.cos(8.0 * y) > 0.35).astype(np.float64),
    "rings": lambda y, x: (np.sin(12.0 * np.hypot(x, y)) > 0).astype(np.float64),
}


def _paint(canvas: np.ndarray, recipe: Mapping[str, Any], cy: float, cx: float, radius: float, angle: float) -> None:
    """Draw the recipe's textured, softly shaded shape onto ``canvas`` (float [H, W, 3]) in place."""
    h, w = canvas.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    dy, dx = (yy - cy) / radius, (xx - cx) / radius
    cos, sin = math.cos(angle), math.sin(angle)
    y, x = cos * dy - sin * dx, sin * dy + cos * dx  # rotate the shape, texture and all
    mask = SHAPES[recipe["shape"]](y, x)
    blend = TEXTURES[recipe["texture"]](y, x)[..., None]
    first, second = (_hex(c) for c in recipe["colours"])
    shade = np.clip(1.05 - 0.35 * np.hypot(x + 0.3, y + 0.3), 0.55, 1.0)[..., None]
    colour = (first * (1 - blend) + second * blend) * shade
    canvas[mask] = colour[mask]


def subject_photo(recipe: Mapping[str, Any], view: int, size: int = 256) -> np.ndarray:
    """uint8 [size, size, 3]: the subject on a plain backdrop; ``view`` turns and shifts it a little."""
    backdrop = _hex(recipe.get("backdrop", "#e8e4dc"))
    t = np.linspace(0.0, 1.0, size)[:, None, None]
    canvas = np.broadcast_to(backdrop * (1.0 - 0.15 * t), (size, size, 3)).copy()
    offset = (view - 1) * 0.06 * size
    _paint(canvas, recipe, size / 2 + offset / 2, size / 2 + offset, 0.34 * size, angle=0.25 * (view - 1))
    return np.clip(canvas, 0, 255).round().astype(np.uint8)


# -- motion paths: t in [0, 1] -> (centre y, centre x, radius, angle), as fractions of the frame ----
PATHS: dict[str, Callable[[float], tuple[float, float, float, float]]] = {
    # a wide turn: left to right along an arc, nearing the camera (growing) and rotating
    "arc": lambda t: (0.62 - 0.22 * math.sin(math.pi * t), 0.22 + 0.56 * t, 0.16 + 0.06 * t, 0.6 * t - 0.3),
    # small sways and bobs on the spot, like a player moving with the music
    "sway": lambda t: (
        0.5 + 0.05 * math.sin(6 * math.pi * t),
        0.5 + 0.12 * math.sin(4 * math.pi * t),
        0.22,
        0.2 * math.sin(4 * math.pi * t),
    ),
    # a steady walk across the frame with a step bob
    "walk": lambda t: (0.55 + 0.03 * abs(math.sin(8 * math.pi * t)), 0.2 + 0.6 * t, 0.18, 0.0),
}


def motion_clip(recipe: Mapping[str, Any], frames: int, height: int, width: int) -> np.ndarray:
    """uint8 [frames, height, width, 3]: the recipe's actor moving along its path over a soft ground."""
    sky, ground = _hex(recipe.get("sky", "#9ec5e8")), _hex(recipe.get("ground", "#6b8e4e"))
    t = np.linspace(0.0, 1.0, height)[:, None, None]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    ripple = (4.0 * np.sin(xx / 9.0) * np.sin(yy / 7.0))[..., None]  # faint static texture
    background = sky * (1 - t) + ground * t + ripple
    path = PATHS[recipe["path"]]
    # Camera grain, as every real clip has: no pixel is identical in consecutive frames, so point
    # tracks never have exactly zero-length steps (which the official Mot-Fid turns into a 0 score).
    grain = np.random.default_rng(int(recipe.get("grain_seed", 0)))
    clip = np.empty((frames, height, width, 3), np.uint8)
    for i in range(frames):
        cy, cx, radius, angle = path(i / max(1, frames - 1))
        canvas = background.copy()
        _paint(canvas, recipe, cy * height, cx * width, radius * min(height, width), angle)
        canvas += grain.normal(0.0, float(recipe.get("grain", 4.0)), canvas.shape)
        clip[i] = np.clip(canvas, 0, 255).round().astype(np.uint8)
    return clip
