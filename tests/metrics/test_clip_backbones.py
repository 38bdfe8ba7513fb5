"""The openai-clip backbones: weight specs, tiny files in the published format, precision, errors."""

from __future__ import annotations

import zipfile

import pytest
import torch
from weights_helpers import offline_resolver, place

from jtbench.errors import WeightsError
from jtbench.models.base import resolve_dtype
from jtbench.models.clip import (
    LAION_AESTHETIC_LINEAR,
    OPENAI_CLIP_VIT_B_32,
    OPENAI_CLIP_VIT_L_14,
    TINY_VIT_B_32,
    LaionAestheticLinear,
    OpenAIClipViTB32,
    OpenAIClipViTL14,
    cast_openai_clip,
)
from jtbench.models.pickscore import PickScoreV1
from jtbench.weights import WEIGHTS


@pytest.mark.parametrize("spec", [OPENAI_CLIP_VIT_B_32, OPENAI_CLIP_VIT_L_14])
def test_openai_specs_carry_the_url_checksum(spec):
    url = spec.urls[0]
    assert url.startswith("https://openaipublic.azureedge.net/clip/models/")
    assert url.split("/")[-2] == spec.sha256 and url.endswith("/" + spec.filename)
    assert spec.vbench_path == f"clip_model/{spec.filename}"
    assert WEIGHTS.get(spec.id) is spec


def test_a_vbench_users_cache_is_found(tmp_path, monkeypatch):
    """Files laid out as VBench caches them are used, and checked against the published SHA-256."""
    vbench = tmp_path / "vbench"
    resolver = offline_resolver(tmp_path, monkeypatch)  # the user's own caches must not answer
    for spec in (OPENAI_CLIP_VIT_B_32, OPENAI_CLIP_VIT_L_14, LAION_AESTHETIC_LINEAR):
        assert resolver.find(spec) is None
        target = place(vbench / spec.vbench_path, b"not the real weights")
        assert resolver.find(spec) == target
    assert LAION_AESTHETIC_LINEAR.vbench_path == "aesthetic_model/emb_reader/sa_0_4_vit_l_14_linear.pth"
    assert resolver.verify(OPENAI_CLIP_VIT_B_32, vbench / OPENAI_CLIP_VIT_B_32.vbench_path) is False
    with pytest.raises(WeightsError, match="checksum"):
        resolver.resolve(OPENAI_CLIP_VIT_B_32)


def test_tiny_files_are_torchscript_archives_with_fp16_matmuls(tiny_hub):
    """Same format as OpenAI's ViT-B-32.pt: a TorchScript zip whose linear weights are fp16."""
    path = tiny_hub.files(OpenAIClipViTB32.name)[OPENAI_CLIP_VIT_B_32.id]
    assert path.name == "ViT-B-32.pt" and zipfile.is_zipfile(path)
    archive = torch.jit.load(str(path), map_location="cpu")
    state = archive.state_dict()
    assert state["visual.proj"].dtype == torch.float16
    assert state["visual.transformer.resblocks.0.attn.in_proj_weight"].dtype == torch.float16
    assert state["visual.ln_post.weight"].dtype == torch.float32


def test_tiny_models_load_through_clip_load(tiny_hub):
    from clip.model import CLIP

    for backbone, patch in ((OpenAIClipViTB32, 32), (OpenAIClipViTL14, 14)):
        loaded = tiny_hub.get(backbone.name)
        assert isinstance(loaded.model, CLIP) and not loaded.model.training
        assert loaded.model.visual.conv1.kernel_size == (patch, patch)
        assert loaded.input_resolution == 224
        assert loaded.dtype == torch.float32 and loaded.model.visual.proj.dtype == torch.float32
        # a random CLIP's logit scale is 1/0.07, never the released checkpoints' 100
        assert float(loaded.logit_scale) == pytest.approx(1 / 0.07, rel=1e-4)
    b32 = tiny_hub.get(OpenAIClipViTB32.name)
    assert b32.encode_texts(["a cat", "a dog"]).shape == (2, TINY_VIT_B_32["embed_dim"])


def test_fp16_cast_is_openai_clips_convert_weights():
    from clip.model import CLIP, convert_weights

    torch.manual_seed(0)
    ours, theirs = CLIP(**TINY_VIT_B_32), CLIP(**TINY_VIT_B_32)
    cast_openai_clip(ours, torch.float16)
    convert_weights(theirs)
    ours_dtypes = {k: v.dtype for k, v in ours.state_dict().items()}
    assert ours_dtypes == {k: v.dtype for k, v in theirs.state_dict().items()}
    assert torch.float16 in ours_dtypes.values() and torch.float32 in ours_dtypes.values()
    cast_openai_clip(ours, torch.float32)
    assert {v.dtype for v in ours.state_dict().values()} == {torch.float32}


def test_anchor_precision_is_fp16_on_cuda_only_for_openai_clip():
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert resolve_dtype("anchor", cuda, OpenAIClipViTB32) == torch.float16
    assert resolve_dtype("anchor", cuda, OpenAIClipViTL14) == torch.float16
    assert resolve_dtype("anchor", cuda, LaionAestheticLinear) == torch.float32  # VBench casts features to fp32
    assert resolve_dtype("anchor", cuda, PickScoreV1) == torch.float32
    assert resolve_dtype("anchor", cpu, OpenAIClipViTB32) == torch.float32


def test_corrupt_files_are_weights_errors_naming_the_file(tmp_path):
    bad_clip = tmp_path / "ViT-B-32.pt"
    bad_clip.write_bytes(b"<html>Access has been restricted</html>")
    with pytest.raises(WeightsError) as err:
        OpenAIClipViTB32().load({OPENAI_CLIP_VIT_B_32.id: bad_clip}, torch.device("cpu"), torch.float32)
    assert str(bad_clip) in str(err.value)

    bad_head = tmp_path / LAION_AESTHETIC_LINEAR.filename
    torch.save({"not": torch.zeros(1)}, bad_head)
    with pytest.raises(WeightsError, match="aesthetic head") as err:
        LaionAestheticLinear().load({LAION_AESTHETIC_LINEAR.id: bad_head}, torch.device("cpu"), torch.float32)
    assert str(bad_head) in str(err.value)
