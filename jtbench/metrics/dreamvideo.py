"""The ``dreamvideo`` profile: CLIP-T, CLIP-I, DINO-I and Temporal Consistency as VGen's script computes them.

Re-expresses ``calculate_metric`` of ali-vilab/VGen ``metric/cal_metric_DreamVideo.py`` for one
video, on the 0–1 scale, with its quirks kept:

* **every frame**: no fps subsampling (the script reads all frames with OpenCV, BGR→RGB; the
  shared PyAV decode gives the same RGB frames, checked against OpenCV in the parity tests);
* **CLIP ViT-B/32** with openai-clip's own transform on each frame as a PIL image (the script's
  ``ToPILImage`` of the uint8 frame), the prompt through ``clip.tokenize`` *without* truncation
  (a prompt over 77 tokens fails there too);
* **DINO ViT-S/16** (``vit_small``) with ``Resize(256, bicubic)`` + ``CenterCrop(224)`` + ImageNet
  normalisation, on PIL images;
* features **L2-normalised per frame, then averaged over frames without re-normalising** (the
  mean vector is shorter than 1, so every score is a little below a cosine);
* CLIP-T = mean-frame · text; CLIP-I and DINO-I = the mean over **every ``.jpg``** of the subject's
  image folder of reference · mean-frame (``endswith('.jpg')``: ``.jpeg``/``.png``/``.JPG`` are not
  read); T-Cons = the mean cosine of consecutive frames' CLIP features;
* arithmetic in the model's dtype: on CUDA ``clip.load(..., device="cuda")`` leaves CLIP in fp16
  (jtbench's ``--precision anchor``), so normalising, averaging and the dot products run in fp16
  there, as in the script; DINO stays fp32.

One deliberate difference: a folder without any ``.jpg`` makes the script report CLIP-I = DINO-I = 0;
here it is an error naming the folder (a 0 would pass for a score).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import torch
import torch.nn.functional as F
from PIL import Image
from torchvision import transforms as T

from jtbench.errors import InputError
from jtbench.metrics.base import Metric, MetricSpec, MetricValue, Sample, ScoringContext
from jtbench.metrics.clip_preprocess import batched, pil_frames
from jtbench.models.clip import OpenAIClipViTB32
from jtbench.models.dino import DinoViTS16

CLIP = OpenAIClipViTB32.name
DINO = DinoViTS16.name
SOURCE = "ali-vilab/VGen metric/cal_metric_DreamVideo.py"
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def dino_transform() -> T.Compose:
    """The script's ``dino_preprocess``: Resize(256, bicubic) on PIL, CenterCrop(224), ImageNet mean/std."""
    return T.Compose(
        [
            T.Resize(256, interpolation=T.InterpolationMode.BICUBIC),
            T.CenterCrop(224),
            T.ToTensor(),
            T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )


def reference_jpgs(folder: Path) -> list[Path]:
    """Every file of ``folder`` whose name ends in ``.jpg`` (the script's filter), sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(
            "the reference image folder does not exist",
            file=folder,
            fix="give the row a reference_images folder, or prepare the data (subjects/<id>/)",
        )
    files = sorted(folder / name for name in os.listdir(folder) if name.endswith(".jpg"))
    if not files:
        raise InputError(
            "the reference image folder holds no .jpg file (DreamVideo's script would report 0 here)",
            file=folder,
            fix="put the subject's .jpg images in it (files ending in .jpg, lower case, as the script reads)",
        )
    return files


def _open_rgb(path: Path) -> Image.Image:
    """``Image.open`` then ``convert('RGB')`` unless already RGB, as the script does."""
    try:
        image = Image.open(path)
        return image if image.mode == "RGB" else image.convert("RGB")
    except OSError as exc:
        raise InputError(f"cannot read reference image: {exc}", file=path, fix="replace it with a valid JPEG") from exc


def _clip_encode(images: list[Image.Image], ctx: ScoringContext) -> torch.Tensor:
    """L2-normalised CLIP image features ``[N, D]`` in the model's dtype, in memory-sized batches."""
    model = ctx.hub.get(CLIP)
    side = model.input_resolution

    def encode(start: int, stop: int) -> torch.Tensor:
        pixels = torch.stack([model.preprocess(image) for image in images[start:stop]])
        return model.encode_images(pixels)

    return F.normalize(torch.cat(list(batched(ctx, encode, len(images), CLIP, side, side))), p=2, dim=1)


@torch.inference_mode()
def _dino_encode(images: list[Image.Image], ctx: ScoringContext) -> torch.Tensor:
    """L2-normalised DINO ViT-S/16 CLS features ``[N, 384]`` of PIL images."""
    model = ctx.hub.get(DINO)
    param = next(model.parameters())
    transform = dino_transform()

    def encode(start: int, stop: int) -> torch.Tensor:
        pixels = torch.stack([transform(image) for image in images[start:stop]])
        return model(pixels.to(device=param.device, dtype=param.dtype))

    return F.normalize(torch.cat(list(batched(ctx, encode, len(images), DINO, 224, 224))), p=2, dim=1)


#: Backbone name → the encoder of PIL images into normalised features, as the script runs each model.
_ENCODERS = {CLIP: _clip_encode, DINO: _dino_encode}


def frame_features(sample: Sample, ctx: ScoringContext, backbone: str) -> torch.Tensor:
    """Per-frame normalised features of every frame (cached per video, shared by the profile's columns)."""
    video = sample.video
    if video.num_frames < 1:
        raise InputError("the video has no frames", file=video.source, fix="pass the full generated video")

    def compute() -> torch.Tensor:
        frames = pil_frames(video.frames)
        return _ENCODERS[backbone](frames, ctx)

    return ctx.cached((backbone, "dreamvideo-frames", video.digest), compute)


def reference_features(sample: Sample, ctx: ScoringContext, backbone: str) -> torch.Tensor:
    """Normalised features of every ``.jpg`` of the sample's reference folder (cached per folder)."""
    if sample.reference_images is None:
        raise InputError(
            "DreamVideo's CLIP-I / DINO-I need the subject's reference image folder",
            file=sample.video.source,
            fix="give the video a case_id (with --data), a reference_images folder or a reference_image",
        )
    folder = Path(sample.reference_images).resolve()

    def compute() -> torch.Tensor:
        images = [_open_rgb(path) for path in reference_jpgs(folder)]
        return _ENCODERS[backbone](images, ctx)

    return ctx.cached((backbone, "dreamvideo-references", str(folder)), compute)


@torch.inference_mode()
def text_feature(prompt: str, ctx: ScoringContext) -> torch.Tensor:
    """``F.normalize(encode_text(clip.tokenize([prompt])))`` — no truncation, as the script."""
    import clip

    model = ctx.hub.get(CLIP)
    try:
        tokens = clip.tokenize([prompt])
    except RuntimeError as exc:  # openai-clip: "Input ... is too long for context length 77"
        raise InputError(
            f"the prompt is longer than CLIP's 77 tokens: {exc}",
            fix="DreamVideo's script fails on it as well; shorten the prompt or leave this profile out",
        ) from exc
    return F.normalize(model.model.encode_text(tokens.to(model.device)), p=2, dim=1)


# -- the four scores, as in calculate_metric ----------------------------------------------------
def mean_frame(features: torch.Tensor) -> torch.Tensor:
    """The frames' mean of normalised features, *not* normalised again (the script's quirk)."""
    return features.mean(dim=0)


def clip_t_score(frames: torch.Tensor, text: torch.Tensor) -> float:
    return float((text[0] * mean_frame(frames)).sum().cpu())


def reference_score(frames: torch.Tensor, references: torch.Tensor) -> float:
    """Mean over reference images of reference · mean-frame (CLIP-I, DINO-I)."""
    per_image = (references * mean_frame(frames)[None]).sum(dim=1).cpu()
    return float(per_image.mean())


def temporal_consistency_score(frames: torch.Tensor) -> float:
    """Mean cosine of consecutive frames (features already normalised)."""
    if frames.shape[0] < 2:
        raise InputError("Temporal Consistency needs at least 2 frames", fix="pass the full generated video")
    return float((frames[:-1] * frames[1:]).sum(dim=1).cpu().mean())


def _spec(name: str, column: str, description: str, backbones: tuple[str, ...], **needs: bool) -> MetricSpec:
    return MetricSpec(
        name=name,
        column=column,
        description=description + " (0–1)",
        source=SOURCE,
        version="1",
        backbones=backbones,
        paper=False,
        profile="dreamvideo",
        **needs,
    )


class ClipTDreamVideo(Metric):
    """DreamVideo's CLIP-T: the prompt's CLIP feature · the mean of every frame's."""

    spec = _spec("clip_t_dreamvideo", "CLIP-T@DreamVideo", "text · mean of all frames' CLIP ViT-B/32 features",
                 (CLIP,), needs_prompt=True)

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        if not sample.prompt:
            raise InputError("CLIP-T@DreamVideo needs the prompt", file=sample.video.source,
                             fix="give the video a case_id or a prompt")
        return MetricValue(clip_t_score(frame_features(sample, ctx, CLIP), text_feature(sample.prompt, ctx)))


class _ReferenceImageScore(Metric):
    """The mean over the subject's .jpg images of image · mean frame, in ``backbone``'s feature space."""

    backbone: ClassVar[str]

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        references = reference_features(sample, ctx, self.backbone)
        return MetricValue(reference_score(frame_features(sample, ctx, self.backbone), references))


class ClipIDreamVideo(_ReferenceImageScore):
    """DreamVideo's CLIP-I: the mean over the subject's .jpg images of image · mean frame (CLIP)."""

    spec = _spec("clip_i_dreamvideo", "CLIP-I@DreamVideo", "mean over every reference .jpg of its CLIP feature · "
                 "mean frame", (CLIP,), needs_reference_images=True)
    backbone = CLIP


class DinoIDreamVideo(_ReferenceImageScore):
    """DreamVideo's DINO-I: as CLIP-I with DINO ViT-S/16 features."""

    spec = _spec("dino_i_dreamvideo", "DINO-I@DreamVideo", "mean over every reference .jpg of its DINO ViT-S/16 "
                 "feature · mean frame", (DINO,), needs_reference_images=True)
    backbone = DINO


class TConsDreamVideo(Metric):
    """DreamVideo's Temporal Consistency: mean CLIP cosine of consecutive frames."""

    spec = _spec("t_cons_dreamvideo", "T-Cons@DreamVideo", "mean CLIP ViT-B/32 cosine of consecutive frames", (CLIP,))

    def score(self, sample: Sample, ctx: ScoringContext) -> MetricValue:
        return MetricValue(temporal_consistency_score(frame_features(sample, ctx, CLIP)))
