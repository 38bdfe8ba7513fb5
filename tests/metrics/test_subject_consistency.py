"""Subj-Con: DINO's position-embedding quirks, the formula, and parity with VBench's own function."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from _vbench_dino_musiq_helpers import short_copy, synthetic_video, vbench_subject_consistency
from sample_media import BICYCLE_CLIPS, CAR_TURN, SAMPLE_VIDEO
from weights_helpers import load_saved, offline_resolver, place

from jtbench.errors import VideoError, WeightsError
from jtbench.io.video import VideoClip, read_video
from jtbench.metrics.base import Sample, ScoringContext, create_metric
from jtbench.metrics.subject_consistency import (
    SubjectConsistency,
    dino_features,
    dino_transform,
    subject_consistency_score,
)
from jtbench.models.dino import (
    DINO_VITB16_WEIGHTS,
    DinoViTB16,
    build_dino_vit,
    config_from_state_dict,
    dino_interpolate_pos_embed,
)
from jtbench.weights.resolve import WeightResolver

TOLERANCE = 1e-4  # on the 0–100 scale, fp32


def _dino_formula(pos_embed: torch.Tensor, h: int, w: int, patch: int = 16) -> torch.Tensor:
    """DINO ``interpolate_pos_encoding`` as its README-level description reads, step by step."""
    n = pos_embed.shape[1] - 1
    if (h // patch) * (w // patch) == n and h == w:
        return pos_embed
    side = int(math.sqrt(n))
    grid = pos_embed[:, 1:].reshape(1, side, side, -1).permute(0, 3, 1, 2)
    factor_h = (h // patch + 0.1) / math.sqrt(n)
    factor_w = (w // patch + 0.1) / math.sqrt(n)
    grid = torch.nn.functional.interpolate(grid, scale_factor=(factor_h, factor_w), mode="bicubic")
    grid = grid.permute(0, 2, 3, 1).reshape(1, -1, pos_embed.shape[-1])
    return torch.cat([pos_embed[:, :1], grid], dim=1)


@pytest.fixture(scope="module")
def dino(tiny_hub):
    return tiny_hub.get("dino_vitb16")


# -- the backbone ---------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(224, 224), (224, 336), (336, 224), (224, 329), (224, 231), (240, 240), (230, 230)])
def test_pos_embed_interpolation_is_dinos(size):
    torch.manual_seed(0)
    pos = torch.randn(1, 197, 8)
    ours = dino_interpolate_pos_embed(pos, *size, patch_size=16)
    assert ours.shape == (1, 1 + (size[0] // 16) * (size[1] // 16), 8)
    torch.testing.assert_close(ours, _dino_formula(pos, *size), rtol=0, atol=0)


def test_pos_embed_differs_from_timms_own_resampling():
    """Why the override exists: timm's antialiased exact-size resampling is not DINO's."""
    from timm.layers import resample_abs_pos_embed

    torch.manual_seed(0)
    pos = torch.randn(1, 197, 8)
    timm_pos = resample_abs_pos_embed(pos, new_size=(14, 21), old_size=(14, 14), num_prefix_tokens=1)
    gap = (dino_interpolate_pos_embed(pos, 224, 336, 16) - timm_pos).abs().max()
    assert gap > 1e-3
    # 224x231 keeps 14x14 patches, yet DINO still resamples (its shortcut needs h == w).
    assert not torch.equal(dino_interpolate_pos_embed(pos, 224, 231, 16), pos)


def _plain_dino_forward(model, x: torch.Tensor) -> torch.Tensor:
    """DINO's VisionTransformer.forward re-expressed with explicit attention, on the same weights."""
    b, _, h, w = x.shape
    tokens = F.conv2d(x, model.patch_embed.proj.weight, model.patch_embed.proj.bias, stride=16)
    tokens = tokens.flatten(2).transpose(1, 2)
    tokens = torch.cat([model.cls_token.expand(b, -1, -1), tokens], dim=1)
    tokens = tokens + _dino_formula(model.pos_embed, h, w)
    for blk in model.blocks:
        y = blk.norm1(tokens)
        n, c = y.shape[1:]
        heads = blk.attn.num_heads
        qkv = F.linear(y, blk.attn.qkv.weight, blk.attn.qkv.bias).reshape(b, n, 3, heads, c // heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        attn = ((q @ k.transpose(-2, -1)) * (c // heads) ** -0.5).softmax(dim=-1)
        y = F.linear((attn @ v).transpose(1, 2).reshape(b, n, c), blk.attn.proj.weight, blk.attn.proj.bias)
        tokens = tokens + y
        hidden = F.gelu(F.linear(blk.norm2(tokens), blk.mlp.fc1.weight, blk.mlp.fc1.bias))
        tokens = tokens + F.linear(hidden, blk.mlp.fc2.weight, blk.mlp.fc2.bias)
    return model.norm(tokens)[:, 0]


@pytest.mark.parametrize("size", [(224, 329), (224, 224), (224, 231)])
def test_forward_matches_plain_dino(dino, size):
    torch.manual_seed(1)
    x = torch.randn(2, 3, *size)
    with torch.no_grad():
        torch.testing.assert_close(dino(x), _plain_dino_forward(dino, x), rtol=1e-5, atol=1e-5)


def test_architecture_is_timms_dino_vitb16():
    import timm

    with torch.device("meta"):
        reference = timm.create_model("vit_base_patch16_224.dino", pretrained=False, num_classes=0)
        ours = build_dino_vit(embed_dim=768, depth=12, num_heads=12)
    shapes = {k: v.shape for k, v in ours.state_dict().items()}
    assert shapes == {k: v.shape for k, v in reference.state_dict().items()}
    config = config_from_state_dict(ours.state_dict(), DINO_VITB16_WEIGHTS.filename)
    vit_b = {"embed_dim": 768, "depth": 12, "num_heads": 12, "patch_size": 16, "img_size": 224, "mlp_ratio": 4.0}
    assert config == vit_b


def test_load_rejects_a_foreign_checkpoint(tmp_path):
    with pytest.raises(WeightsError, match="not a DINO ViT state dict"):
        load_saved(DinoViTB16(), {"conv.weight": torch.zeros(3)}, tmp_path)


def test_weights_found_where_vbench_and_torch_hub_keep_them(tmp_path, monkeypatch):
    resolver = offline_resolver(tmp_path, monkeypatch)
    assert resolver.find(DINO_VITB16_WEIGHTS) is None
    hub_file = place(tmp_path / "torch" / "hub" / "checkpoints" / "dino_vitbase16_pretrain.pth")
    assert resolver.find(DINO_VITB16_WEIGHTS) == hub_file
    vbench_file = place(tmp_path / "vbench" / "dino_model" / "dino_vitbase16_pretrain.pth")
    assert resolver.find(DINO_VITB16_WEIGHTS) == vbench_file


# -- preprocessing and formula ----------------------------------------------------------------
def test_dino_transform_keeps_aspect_without_crop():
    frames = torch.zeros(1, 480, 720, 3, dtype=torch.uint8)
    assert dino_transform(frames).shape == (1, 3, 224, 336)
    assert dino_transform(torch.zeros(1, 320, 576, 3, dtype=torch.uint8)).shape == (1, 3, 224, 403)


def test_dino_transform_matches_vbench():
    from vbench.utils import dino_transform as vbench_dino_transform

    frames = torch.randint(0, 256, (2, 170, 250, 3), dtype=torch.uint8)
    expected = vbench_dino_transform(224)(frames.permute(0, 3, 1, 2).float())
    torch.testing.assert_close(dino_transform(frames), expected, rtol=0, atol=0)


def test_formula_by_hand():
    # f0=(1,0), f1=(.6,.8), f2=(-.6,.8); unnormalised on purpose.
    features = torch.tensor([[3.0, 0.0], [0.6, 0.8], [-1.2, 1.6]])
    # c1 = (0.6 + 0.6) / 2 = 0.6; c2 = (max(0, 0.28) + max(0, -0.6)) / 2 = 0.14
    assert subject_consistency_score(features) == pytest.approx((0.6 + 0.14) / 2, abs=1e-7)
    assert subject_consistency_score(torch.ones(2, 4)) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        subject_consistency_score(torch.ones(1, 4))


def test_one_frame_video_is_an_error(tiny_hub):
    clip = VideoClip(torch.zeros(1, 32, 32, 3, dtype=torch.uint8), 8.0)
    with pytest.raises(VideoError, match="at least 2 frames"):
        SubjectConsistency().score(Sample(clip), ScoringContext(hub=tiny_hub))


def test_batch_of_n_equals_per_frame(shared_data, dino):
    frames = read_video(CAR_TURN).frames[:5]
    one_by_one = dino_features(dino, frames, batch_size=1)
    batched = dino_features(dino, frames, batch_size=5)
    torch.testing.assert_close(batched, one_by_one, rtol=1e-5, atol=1e-5)


# -- parity with VBench's own function ------------------------------------------------------
def _parity(path, hub, batch_size=4):
    ours = create_metric("Subj-Con").score(Sample(read_video(path)), ScoringContext(hub=hub, batch_size=batch_size))
    reference = 100 * vbench_subject_consistency(hub.get("dino_vitb16"), path)
    assert ours.value == pytest.approx(reference, abs=TOLERANCE)
    return ours.value


@pytest.mark.parametrize(
    ("source", "frames"),
    [(SAMPLE_VIDEO, 4), (CAR_TURN, 3), (BICYCLE_CLIPS[0] if BICYCLE_CLIPS else None, 3)],
    ids=["sample-720x480", "car-480x480", "bicycle-596x336"],
)
def test_parity_with_vbench_on_real_videos(shared_data, tiny_hub, tmp_path, source, frames):
    value = _parity(short_copy(source, tmp_path / "clip.mp4", frames), tiny_hub)
    assert 0.0 <= value <= 100.0


@pytest.mark.parametrize(
    ("height", "width"),
    [(170, 250), (300, 310), (96, 128)],
    ids=["224x329-remainder", "224x231-same-grid-not-square", "224x298"],
)
def test_parity_with_vbench_on_two_frame_edge_cases(tiny_hub, tmp_path, height, width):
    path = synthetic_video(tmp_path / "edge.mp4", frames=2, height=height, width=width)
    _parity(path, tiny_hub, batch_size=1)


@pytest.mark.slow
def test_real_size_checkpoint_through_paper_mode(shared_data, tmp_path):
    """A ViT-B/16 state dict in the published layout, resolved and loaded as ``--backbones paper`` does."""
    from jtbench.models.base import ModelHub

    weights = tmp_path / DINO_VITB16_WEIGHTS.filename
    torch.save(build_dino_vit(embed_dim=768, depth=12, num_heads=12).state_dict(), weights)
    resolver = WeightResolver(offline=True, overrides={DINO_VITB16_WEIGHTS.id: weights})
    hub = ModelHub(backbones="paper", precision="fp32", resolver=resolver)
    model = hub.get("dino_vitb16")
    assert (len(model.blocks), model.blocks[0].attn.num_heads, model.embed_dim) == (12, 12, 768)
    _parity(short_copy(SAMPLE_VIDEO, tmp_path / "clip.mp4", 3), hub)
