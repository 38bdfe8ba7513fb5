"""RAFT-large optical flow (Dyn-Deg), as torchvision's ``raft_large`` loading the official ``raft-things.pth``.

VBench runs its vendored copy of the original RAFT (``vbench/third_party/RAFT/core/raft.py`` with
``small=False, mixed_precision=False, alternate_corr=False``). torchvision's ``raft_large`` is the
same network under other parameter names; :func:`to_torchvision_keys` renames the original
checkpoint, and on shared seeded weights both give the same flow within 1e-5 px (tested; the two
implementations order some float operations differently, so not bit for bit), so the well-kept
implementation runs here and VBench's copy stays the test reference.

One difference is kept explicit: torchvision refuses frames whose padded side is under 128 px (its
4-level correlation pyramid would reach a 1-pixel level), where the original code silently returns
an all-NaN flow. :func:`pyramid_degenerate` names that case so the metric can reproduce the
official outcome without running the model.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from jtbench.errors import WeightsError
from jtbench.models.base import BACKBONES, Backbone, load_strict, read_state_dict
from jtbench.models.correlation import PartialVolumePyramid, build_volume_pyramid
from jtbench.weights.catalog import WeightSpec, register_weights

RAFT_THINGS = register_weights(
    WeightSpec(
        id="raft-things",
        filename="raft-things.pth",
        # Published only inside princeton-vl/RAFT's models.zip (the address VBench downloads too):
        # `jtbench weights download` fetches the zip and keeps models/raft-things.pth alone.
        urls=("https://dl.dropboxusercontent.com/s/4j4z58wuv8o0mfz/models.zip",),
        archive_member="models/raft-things.pth",
        licence="BSD-3-Clause (princeton-vl/RAFT)",
        used_by=("dynamic_degree",),
        vbench_path="raft_model/models/raft-things.pth",
    )
)

#: RAFT's correlation pyramid has 4 levels over 1/8-resolution features: below 128 px a level is 1 px wide.
MIN_PADDED_SIDE = 128

# Original RAFT parameter names → torchvision's, applied in order (anchored regexes).
_ORIGINAL_TO_TORCHVISION: tuple[tuple[str, str], ...] = (
    (r"^fnet\.", "feature_encoder."),
    (r"^cnet\.", "context_encoder."),
    (r"^(\w+_encoder)\.conv1\.", r"\1.convnormrelu.0."),
    (r"^(\w+_encoder)\.norm1\.", r"\1.convnormrelu.1."),
    (r"^(\w+_encoder)\.conv2\.", r"\1.conv."),
    (r"\.(layer\d\.\d)\.conv([12])\.", r".\1.convnormrelu\2.0."),
    (r"\.(layer\d\.\d)\.norm([12])\.", r".\1.convnormrelu\2.1."),
    (r"^update_block\.encoder\.convc([12])\.", r"update_block.motion_encoder.convcorr\1.0."),
    (r"^update_block\.encoder\.convf([12])\.", r"update_block.motion_encoder.convflow\1.0."),
    (r"^update_block\.encoder\.conv\.", "update_block.motion_encoder.conv.0."),
    (r"^update_block\.gru\.conv([zrq])([12])\.", r"update_block.recurrent_block.convgru\2.conv\1."),
    (r"^update_block\.mask\.0\.", "mask_predictor.convrelu.0."),
    (r"^update_block\.mask\.2\.", "mask_predictor.conv."),
)
_TORCHVISION_TO_ORIGINAL: tuple[tuple[str, str], ...] = (
    (r"^feature_encoder\.", "fnet."),
    (r"^context_encoder\.", "cnet."),
    (r"^(fnet|cnet)\.convnormrelu\.0\.", r"\1.conv1."),
    (r"^(fnet|cnet)\.convnormrelu\.1\.", r"\1.norm1."),
    (r"^(fnet|cnet)\.conv\.", r"\1.conv2."),
    (r"\.(layer\d\.\d)\.convnormrelu([12])\.0\.", r".\1.conv\2."),
    (r"\.(layer\d\.\d)\.convnormrelu([12])\.1\.", r".\1.norm\2."),
    (r"^update_block\.motion_encoder\.convcorr([12])\.0\.", r"update_block.encoder.convc\1."),
    (r"^update_block\.motion_encoder\.convflow([12])\.0\.", r"update_block.encoder.convf\1."),
    (r"^update_block\.motion_encoder\.conv\.0\.", "update_block.encoder.conv."),
    (r"^update_block\.recurrent_block\.convgru([12])\.conv([zrq])\.", r"update_block.gru.conv\2\1."),
    (r"^mask_predictor\.convrelu\.0\.", "update_block.mask.0."),
    (r"^mask_predictor\.conv\.", "update_block.mask.2."),
)
# The original registers each strided block's downsample norm twice (as ``norm3`` and ``downsample.1``).
_DUPLICATE_NORM3 = re.compile(r"^(.*\.layer\d\.\d)\.norm3\.(.*)$")
_DOWNSAMPLE_NORM = re.compile(r"^(.*\.layer\d\.\d)\.downsample\.1\.(.*)$")


def _rename(key: str, rules: tuple[tuple[str, str], ...]) -> str:
    for pattern, replacement in rules:
        key = re.sub(pattern, replacement, key)
    return key


def to_torchvision_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """An original RAFT state dict (``module.`` prefixes allowed) under torchvision's names."""
    out = {}
    for key, value in state.items():
        key = key.replace("module.", "")  # as VBench strips DataParallel prefixes
        if _DUPLICATE_NORM3.match(key):
            continue
        out[_rename(key, _ORIGINAL_TO_TORCHVISION)] = value
    return out


def to_original_keys(state: dict[str, torch.Tensor], *, prefix: str = "module.") -> dict[str, torch.Tensor]:
    """A torchvision ``raft_large`` state dict in the layout of the published ``raft-things.pth``."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        original = _rename(key, _TORCHVISION_TO_ORIGINAL)
        out[prefix + original] = value
        if original.startswith("cnet.") and (match := _DOWNSAMPLE_NORM.match(original)):
            out[f"{prefix}{match.group(1)}.norm3.{match.group(2)}"] = value
    return out


def build_raft_large() -> torch.nn.Module:
    from torchvision.models.optical_flow import raft_large

    return raft_large(weights=None, progress=False)


def pad_to_multiple(frames: torch.Tensor, divisor: int) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
    """Replicate-pad ``[..., H, W]`` to multiples of ``divisor``, centred (RAFT's ``InputPadder``, 'sintel').

    Returns the padded tensor and ``(left, right, top, bottom)``. AMT's padder is the same rule
    with ``divisor=16``.
    """
    h, w = frames.shape[-2:]
    pad_h = (((h // divisor) + 1) * divisor - h) % divisor
    pad_w = (((w // divisor) + 1) * divisor - w) % divisor
    pad = (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)
    if not any(pad):
        return frames, pad
    return F.pad(frames, pad, mode="replicate"), pad


def unpad(frames: torch.Tensor, pad: tuple[int, int, int, int]) -> torch.Tensor:
    left, right, top, bottom = pad
    h, w = frames.shape[-2:]
    return frames[..., top : h - bottom, left : w - right]


def pyramid_degenerate(padded_height: int, padded_width: int) -> bool:
    """True where RAFT's correlation pyramid reaches a 1-pixel level (the original then yields NaN flow)."""
    return min(padded_height, padded_width) < MIN_PADDED_SIDE


def precision_context(model: torch.nn.Module) -> contextlib.AbstractContextManager:
    """Autocast for fp16/bf16 weights (RAFT's and AMT's coordinate grids stay fp32); nothing for fp32.

    The anchors ran both networks in fp32; reduced precision is an explicit ``--precision`` choice.
    """
    param = next(model.parameters())
    if param.dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(param.device.type, dtype=param.dtype)


@torch.no_grad()
def raft_flow(model: torch.nn.Module, image1: torch.Tensor, image2: torch.Tensor, iters: int = 20) -> torch.Tensor:
    """Upsampled flow ``[B, 2, H, W]`` after ``iters`` updates, from 0–255 float frames ``[B, 3, H, W]``.

    Normalises to [−1, 1] with the original's arithmetic (``2 * (x / 255) - 1``) so the inputs are
    bit-identical to VBench's.
    """
    image1 = 2 * (image1 / 255.0) - 1.0
    image2 = 2 * (image2 / 255.0) - 1.0
    with precision_context(model):
        return model(image1.contiguous(), image2.contiguous(), num_flow_updates=iters)[-1].float()


@torch.no_grad()
def raft_consecutive_flows(
    model: torch.nn.Module, frames: torch.Tensor, iters: int = 20, *, lookup: bool = False
) -> torch.Tensor:
    """Upsampled flow ``[N-1, 2, H, W]`` of each consecutive pair of 0–255 float frames ``[N, 3, H, W]``.

    The same numbers as ``raft_flow(model, frames[:-1], frames[1:], iters)`` (torchvision's
    ``RAFT.forward``, last prediction) without the work whose result is thrown away: each frame's
    features are encoded once, not once per pair it belongs to (the feature encoder normalises per
    image, so a frame's features do not depend on its batch), and only the last update is
    upsampled (``forward`` upsamples all ``iters`` of them, VBench's ``test_mode`` keeps the last).
    The correlation pyramid is built without torchvision's second copy of the volume
    (:func:`~jtbench.models.correlation.build_volume_pyramid`, same bits) and released after the
    call (``forward`` leaves it on the module, so the next batch's peak held two pyramids).
    ``lookup=True`` stores only the pooled levels and computes level 0's windows on demand
    (:class:`~jtbench.models.correlation.PartialVolumePyramid`): a quarter of the memory, the same
    flow up to float rounding, slower — for frames whose volume does not fit.
    """
    from torchvision.models.optical_flow._utils import make_coords_grid, upsample_flow

    images = (2 * (frames / 255.0) - 1.0).contiguous()
    count, _, height, width = images.shape
    with precision_context(model):
        features = model.feature_encoder(images)
        corr_block = model.corr_block
        try:
            if lookup:
                index = PartialVolumePyramid(
                    features[:-1], features[1:], levels=corr_block.num_levels, radius=corr_block.radius
                )
            else:
                build_volume_pyramid(corr_block, features[:-1], features[1:])
                index = corr_block.index_pyramid
            del features
            context_out = model.context_encoder(images[:-1])
            hidden_size = model.update_block.hidden_state_size
            hidden, context = torch.split(context_out, [hidden_size, context_out.shape[1] - hidden_size], dim=1)
            hidden, context = torch.tanh(hidden), F.relu(context)
            coords0 = make_coords_grid(count - 1, height // 8, width // 8).to(images.device)
            coords1 = make_coords_grid(count - 1, height // 8, width // 8).to(images.device)
            for _ in range(iters):
                corr = index(coords1)
                hidden, delta = model.update_block(hidden, context, corr, coords1 - coords0)
                coords1 = coords1 + delta
        finally:
            # torchvision keeps the pyramid on the module after the call: ~1.3x the correlation volume
            # (829 MB per 720p pair) held until the next call builds its own beside it
            corr_block.corr_pyramid = [torch.tensor(0)]
            index = None
        up_mask = None if model.mask_predictor is None else model.mask_predictor(hidden)
        return upsample_flow(flow=coords1 - coords0, up_mask=up_mask).float()


@BACKBONES.register("raft_large")
class RaftLarge(Backbone):
    """torchvision ``raft_large`` with the official ``raft-things.pth`` (Chairs + Things) weights."""

    name = "raft_large"
    weights = (RAFT_THINGS,)

    def load(self, files: dict[str, Path], device: torch.device, dtype: torch.dtype) -> Any:
        path = files[RAFT_THINGS.id]
        state = read_state_dict(path, fix="re-download raft-things.pth")
        if not state:
            raise WeightsError(
                "not a RAFT state dict", file=path, fix="use models/raft-things.pth from RAFT's models.zip"
            )
        model = build_raft_large()
        load_strict(model, to_torchvision_keys(state), path=path, network="RAFT-large",
                    fix="use raft-things.pth (RAFT large), not raft-small or another network")
        return model.to(device=device, dtype=dtype).eval()

    def build_tiny(self, out_dir: Path, seed: int) -> dict[str, Path]:
        """The real RAFT-large architecture (5.26 M params; no smaller config fits the file) with seeded
        random weights, batch-norm statistics and affine terms included so a wrong key map shows."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = build_raft_large()
            for module in model.modules():
                if isinstance(module, torch.nn.BatchNorm2d):
                    module.running_mean.normal_(0.0, 0.1)
                    module.running_var.uniform_(0.5, 1.5)
                    module.weight.data.uniform_(0.8, 1.2)
                    module.bias.data.normal_(0.0, 0.1)
        path = Path(out_dir) / RAFT_THINGS.filename
        torch.save(to_original_keys(model.state_dict()), path)
        return {RAFT_THINGS.id: path}
