"""The two ways the anchors feed video frames to the same CLIP model, and the cached embeddings of each.

* **JointTuner path** (CLIP-T, CLIP-I; PickScore uses the same frames): every
  ``max(1, int(fps / 8))``-th frame (``int`` truncation: 29.97 fps → every 3rd), each frame a PIL
  image through openai-clip's transform — PIL bicubic resize of the short side (antialiased),
  centre crop, ``ToTensor``, CLIP mean/std.
* **VBench path** (Bkgd-Con, Aesth-Q): all frames as a float32 0–255 tensor, torchvision
  ``Resize(224, bicubic, antialias=False)`` on that float data (overshoot not clamped),
  ``CenterCrop(224)``, ``/255``, CLIP mean/std.

The same model therefore sees slightly different pixels in CLIP-T/I and in Bkgd-Con. Embeddings
are cached in the scoring context per (backbone, path, video digest), so CLIP-T and CLIP-I
share one encoding of a video, and reference images are encoded once per path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

from jtbench.errors import InputError
from jtbench.io.video import VideoClip, read_image, sample_every, stride_int
from jtbench.metrics.base import ScoringContext
from jtbench.metrics.memory import model_batches

T = TypeVar("T")

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def jt_frame_indices(video: VideoClip, target_fps: float = 8.0) -> list[int]:
    """JointTuner's ``split_video_to_rgb_images``: keep frame ``i`` when ``i % max(1, int(fps/8)) == 0``."""
    return sample_every(video.num_frames, stride_int(video.fps, target_fps))


def pil_frames(frames: torch.Tensor) -> list[Image.Image]:
    """``uint8 [T, H, W, 3]`` → PIL RGB images (what JT builds with ``Image.fromarray``)."""
    return [Image.fromarray(np.ascontiguousarray(frame)) for frame in frames.numpy()]


def vbench_clip_pixels(frames: torch.Tensor, n_px: int = 224, *, uint8: bool = False) -> torch.Tensor:
    """VBench's ``clip_transform(n_px)`` on ``uint8 [T, H, W, 3]`` frames → ``float32 [T, 3, n, n]``.

    ``uint8=False``: on ``load_video``'s float 0–255 tensor (Bkgd-Con, Aesth-Q); ``uint8=True``: on
    decord's uint8 frames as ``read_frames_decord_by_fps`` gives them (overall_consistency), where
    torchvision rounds and clamps the resized pixels back to uint8.
    """
    x = frames.permute(0, 3, 1, 2)
    x = x if uint8 else x.to(torch.float32)
    x = TF.resize(x, n_px, interpolation=InterpolationMode.BICUBIC, antialias=False)
    x = TF.center_crop(x, [n_px, n_px])
    return TF.normalize(x.to(torch.float32) / 255.0, CLIP_MEAN, CLIP_STD)


def _require_frames(video: VideoClip, minimum: int, metric: str) -> None:
    if video.num_frames < minimum:
        raise InputError(
            f"{metric} needs at least {minimum} frame(s), the video has {video.num_frames}",
            file=video.source,
            fix="pass the full generated video",
        )


def batched(
    ctx: ScoringContext, fn: Callable[[int, int], T], count: int, backbone: str, height: int, width: int
) -> Iterator[T]:
    """``fn(start, stop)`` over ``count`` items in batches sized by the context's memory budget."""
    return model_batches(
        fn, count, backbone, height, width, limit=ctx.batch_size, budget=ctx.memory, device=ctx.hub.device
    )


def jt_frame_embeddings(video: VideoClip, ctx: ScoringContext, backbone: str) -> torch.Tensor:
    """Raw CLIP image embeddings (model dtype) of the JT-sampled, PIL-preprocessed frames ``[N, D]``."""

    def compute() -> torch.Tensor:
        _require_frames(video, 1, "CLIP scoring")
        clip_model = ctx.hub.get(backbone)
        frames = video.frames[jt_frame_indices(video)]

        def encode(start: int, stop: int) -> torch.Tensor:
            pixels = torch.stack([clip_model.preprocess(image) for image in pil_frames(frames[start:stop])])
            return clip_model.encode_images(pixels)

        side = clip_model.input_resolution
        return torch.cat(list(batched(ctx, encode, len(frames), backbone, side, side)))

    return ctx.cached((backbone, "jt-pil-frames", video.digest), compute)


def jt_image_embedding(path: Path, ctx: ScoringContext, backbone: str) -> torch.Tensor:
    """Raw CLIP embedding ``[1, D]`` of a reference image (``Image.open(path).convert('RGB')``, PIL path)."""

    def compute() -> torch.Tensor:
        clip_model = ctx.hub.get(backbone)
        image = Image.fromarray(read_image(path).numpy())
        return clip_model.encode_images(clip_model.preprocess(image).unsqueeze(0))

    return ctx.cached((backbone, "jt-pil-image", str(Path(path).resolve())), compute)


def vbench_frame_embeddings(video: VideoClip, ctx: ScoringContext, backbone: str) -> torch.Tensor:
    """Raw CLIP image embeddings (model dtype) of all frames through VBench's tensor transform ``[T, D]``.

    VBench encodes all frames in one batch (Bkgd-Con) or in batches of 32 (Aesth-Q); here batches
    are sized by the memory budget (at most ``ctx.batch_size``), which changes results only at
    float round-off level.
    """

    def compute() -> torch.Tensor:
        _require_frames(video, 1, "CLIP scoring")
        clip_model = ctx.hub.get(backbone)
        side = clip_model.input_resolution

        def encode(start: int, stop: int) -> torch.Tensor:
            return clip_model.encode_images(vbench_clip_pixels(video.frames[start:stop], side))

        return torch.cat(list(batched(ctx, encode, video.num_frames, backbone, side, side)))

    return ctx.cached((backbone, "vbench-tensor-frames", video.digest), compute)
