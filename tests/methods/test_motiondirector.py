"""MotionDirector: units, appearance-debiased loss, one-frame skip, two-path training and sampling (tiny, CPU)."""

from __future__ import annotations

import math

import pytest
import torch

from jtbench.errors import InputError, VideoError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def md():
    from jtbench.methods.base import get_method

    return get_method("motiondirector")


def test_units_and_paper_hyperparameters(md):
    from jtbench.benchmark import Benchmark

    combos = Benchmark.load().combinations()
    units = md.units(combos)
    assert {u.kind for u in units} == {"subject", "motion"}
    assert len(units) == 15 + 12
    combo = combos[0]
    assert [(u.kind, u.subject, u.motion) for u in md.sampling_units(combo)] == [
        ("subject", combo.subject, None), ("motion", None, combo.motion)]
    cfg = md.config()
    assert (cfg["spatial"]["steps"], cfg["temporal"]["steps_multi_clip"], cfg["temporal"]["steps_single_clip"]) == (
        1000, 3000, 300)
    assert (cfg["lora"]["rank"], cfg["lora"]["dropout"], cfg["temporal"]["mask_spatial_p"]) == (32, 0.1, 0.2)
    sample = cfg["sample"]
    assert (sample["steps"], sample["guidance_scale"], sample["negative_prompt"]) == (30, 12.0, None)


def test_data_order_is_unshuffled_so_spatial_lora_i_sees_clip_i(md):
    from baselines.motiondirector.adapter import epoch_positions

    assert md.config()["data"]["shuffle"] is False  # MD HEAD: both DataLoaders shuffle=False
    assert epoch_positions(3, 7, shuffle=False) == [(0, 0), (1, 1), (2, 2), (0, 0), (1, 1), (2, 2), (0, 0)]
    torch.manual_seed(0)
    shuffled = epoch_positions(3, 30, shuffle=True)  # older MD revisions, on request
    assert any(idx != pos for idx, pos in shuffled) and sorted(i for i, _ in shuffled[:3]) == [0, 1, 2]


def test_appearance_debiased_loss_on_fixed_tensors():
    from baselines.motiondirector.losses import appearance_debiased_loss, temporal_loss

    g = torch.Generator().manual_seed(0)
    pred, eps = torch.randn(1, 2, 4, 3, 3, generator=g), torch.randn(1, 2, 4, 3, 3, generator=g)
    anchor, alpha = 2, math.sqrt(2)
    total = 0.0
    for c in range(2):
        for f in range(4):
            for y in range(3):
                for x in range(3):
                    p = alpha * pred[0, c, f, y, x] - pred[0, c, anchor, y, x]
                    t = alpha * eps[0, c, f, y, x] - eps[0, c, anchor, y, x]
                    total += (p - t) ** 2
    torch.testing.assert_close(appearance_debiased_loss(pred, eps, anchor), total / 72)
    torch.testing.assert_close(temporal_loss(pred, eps, anchor), ((pred - eps) ** 2).mean() + total / 72)
    # An error shared by all frames (appearance) is cut to (α − β)² of its square by the debiased
    # term, which is why it pushes the temporal LoRA towards what changes between frames.
    shared = eps + 0.5
    expected = ((alpha - 1) * 0.5) ** 2
    assert appearance_debiased_loss(shared, eps, 0).item() == pytest.approx(expected, rel=1e-5)


def test_one_frame_path_skips_temporal_layers(tiny_t2v):
    """MD's spatial loss runs on a UNet whose temporal layers vanish at F = 1 (and only then)."""
    from jtbench.methods.t2v.temporal_skip import enable_one_frame_temporal_skip

    x1, x16 = torch.randn(1, 4, 1, 8, 8), torch.randn(1, 4, 16, 8, 8)
    text = tiny_t2v.encode_prompt(["A dog."])
    with torch.no_grad():
        before1 = tiny_t2v.unet(x1, 400, encoder_hidden_states=text).sample
        before16 = tiny_t2v.unet(x16, 400, encoder_hidden_states=text).sample
        assert enable_one_frame_temporal_skip(tiny_t2v.unet) == 13
        after1 = tiny_t2v.unet(x1, 400, encoder_hidden_states=text).sample
        after16 = tiny_t2v.unet(x16, 400, encoder_hidden_states=text).sample
    assert (after1 - before1).abs().max() > 1e-3
    assert torch.equal(after16, before16)


def test_lora_targets_and_bank(tiny_t2v):
    from baselines.motiondirector.adapter import inject_spatial, inject_temporal, set_scale
    from jtbench.methods.t2v.inject import adapter_parameters

    temporal = inject_temporal(tiny_t2v.unet, 32, 0.0)
    spatial = inject_spatial(tiny_t2v.unet, 32, 0.0, count=3)
    assert (len(spatial), len(temporal)) == (24, 50)
    assert any(n.startswith("transformer_in.") for n in temporal)
    assert all(len(w.lora_down) == 3 for w in spatial.values())
    x, text = torch.randn(1, 4, 2, 8, 8), tiny_t2v.encode_prompt(["A dog."])
    for w in spatial.values():  # give each branch a different update
        for up in w.lora_up:
            torch.nn.init.normal_(up.weight, std=0.3)
    outs = []
    for active in range(3):
        set_scale(spatial, 1.0, active)
        with torch.no_grad():
            outs.append(tiny_t2v.unet(x, 10, encoder_hidden_states=text).sample)
    assert not torch.equal(outs[0], outs[1]) and not torch.equal(outs[1], outs[2])
    set_scale(spatial, 0.0)
    set_scale(temporal, 0.0)
    assert len(adapter_parameters(spatial)) == 24 * 6


def test_two_paths_train_and_sample(md, tiny_settings, tiny_training_data, tmp_path):
    from dataclasses import replace

    from jtbench.benchmark import Benchmark
    from jtbench.io.video import read_video
    from jtbench.methods.base import SampleRequest
    from jtbench.methods.t2v.inject import read_metadata

    settings = replace(tiny_settings, overrides={"steps": 2, "resolution": 64, "frames": 4, "sample_steps": 1})
    combo = Benchmark.load().combinations(subject="backpack", motion="train_turning")[0]
    subject_unit, motion_unit = md.sampling_units(combo)
    spatial = md.train(subject_unit, tiny_training_data, settings, tmp_path / "subject")
    temporal = md.train(motion_unit, tiny_training_data, settings, tmp_path / "motion")
    assert read_metadata(spatial.path)["path"] == "spatial" and spatial.path.name == "spatial_lora.safetensors"
    assert read_metadata(temporal.path)["path"] == "temporal" and read_metadata(temporal.path)["step"] == 2
    case = Benchmark.load().cases(subject="backpack", motion="train_turning", backgrounds="grass")[0]
    [video] = md.sample([temporal, spatial], [SampleRequest(case, 3)], settings, tmp_path / "out")
    clip = read_video(video)
    assert video == tmp_path / "out" / case.case_id / "3.mp4"
    assert (clip.num_frames, clip.fps, clip.height, clip.width) == (16, 8.0, 64, 64)
    with pytest.raises(InputError, match="one subject and one motion"):
        md.sample([spatial], [SampleRequest(case, 3)], settings, tmp_path / "bad")


def test_temporal_step_reduces_its_loss(md, tiny_settings, tiny_training_data):
    """Repeated steps on one fixed draw lower the temporal loss (plain + appearance-debiased)."""
    import random

    from baselines.motiondirector.adapter import inject_temporal
    from jtbench.methods.t2v import training as T
    from jtbench.methods.t2v.inject import mark_trainable
    from jtbench.methods.t2v.latents import cache_latents

    items = T.load_items((), None, tiny_training_data.motion_clips, "A train turning.", size=64, frames=4)
    setup = T.setup_training(tiny_settings, gradient_checkpointing=False)
    temporal = inject_temporal(setup.components.unet, 8, 0.0)
    optimizer = T.make_adamw(mark_trainable(temporal), {"learning_rate": 2e-3, "weight_decay": 1e-4})
    [clip] = cache_latents(items, setup.components.vae, setup.components.latent_scale)
    losses = []
    for _ in range(3):
        torch.manual_seed(5)
        random.seed(5)
        _, loss = md.losses(setup, clip, spatial=False, temporal=True, hflip_p=-1, temporal_wrappers=temporal)
        setup.backward_step(loss, optimizer)
        losses.append(loss.item())
    assert losses[-1] < losses[0], losses


def test_corrupt_clip_names_the_file(md, tiny_settings, tiny_training_data, tmp_path):
    from dataclasses import replace

    from jtbench.methods.base import TrainUnit

    bad = tmp_path / "01.mp4"
    bad.write_bytes(b"garbage")
    with pytest.raises(VideoError, match="01.mp4"):
        md.train(TrainUnit("motiondirector", "motion", motion="train_turning"),
                 replace(tiny_training_data, motion_clips=(bad,)), tiny_settings, tmp_path / "w")


@pytest.mark.parametrize(("precision", "dtype"), [("fp16", torch.float16), ("bf16", torch.bfloat16)])
def test_mixed_precision_two_paths_train_and_sample(md, train_backpack_train_turning, tmp_path, precision, dtype):
    """Autocast + (fp16) one GradScaler over the spatial and temporal AdamWs + low-precision cached
    latents, on the CPU; bf16 runs without a scaler, as accelerate does."""
    import json

    from safetensors.torch import load_file

    from jtbench.io.video import read_video
    from jtbench.methods.base import RunSettings, SampleRequest

    settings = RunSettings(backbones="tiny", device="cpu", precision=precision, overrides={
        "steps": 2, "resolution": 64, "frames": 4, "sample_steps": 1, "temporal.mask_spatial_p": 0.0})
    (spatial, temporal), case = train_backpack_train_turning(md, settings)
    for ckpt in (spatial, temporal):
        losses = json.loads(ckpt.path.with_name(f"{ckpt.path.stem}.losses.json").read_text())
        assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
        ups = [v for k, v in load_file(str(ckpt.path)).items() if k.endswith("lora_up.weight")]
        assert ups and all(v.abs().sum() > 0 for v in ups)  # zero-initialised: the steps were taken
    cached = torch.load(tmp_path / "motion" / "temporal_latents.pt", weights_only=False)
    assert cached[0].latents.dtype == dtype
    [video] = md.sample([spatial, temporal], [SampleRequest(case, 3)], settings, tmp_path / "out")
    assert read_video(video).frames.float().std() > 1
