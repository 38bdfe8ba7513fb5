"""CustomTTT on the tiny random pipeline: layer mapping, losses, Lion, training, TTT sampling, errors."""

from __future__ import annotations

import pytest
import torch

from jtbench.errors import VideoError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_layer_mapping_on_the_tiny_unet_and_zeroscope_counts(tiny_t2v):
    from baselines.customttt.adapter import CustomTTT
    from baselines.customttt.layers import auto_blocks, spatial_targets, temporal_targets
    from jtbench.methods.t2v.base_model import build_meta_unet

    unet = tiny_t2v.unet
    assert auto_blocks(unet) == ["down_blocks.0", "up_blocks.1"]
    spatial, temporal = spatial_targets(unet), temporal_targets(unet)
    assert spatial and all(t.name.startswith(("down_blocks.0.attentions.", "up_blocks.1.attentions."))
                           for t in spatial)
    assert temporal and all(t.name.startswith(("down_blocks.0.temp_attentions.", "up_blocks.1.temp_attentions."))
                            for t in temporal)
    assert any(".attn2." in t.name for t in spatial)  # unlike JT/MD, the text cross-attention is adapted
    assert not any(t.name.startswith(("transformer_in", "mid_block")) for t in spatial + temporal)
    assert not any("proj_in" in t.name or "proj_out" in t.name for t in spatial + temporal)
    # layers_per_block 1: 1 down + 2 up transformers, × 10 linears (attn1 4, attn2 4, ff 2)
    assert len(spatial) == 3 * 10 and len(temporal) == 3 * 10
    meta = build_meta_unet("zeroscope")
    assert auto_blocks(meta) == ["down_blocks.2", "up_blocks.1"]
    counts = CustomTTT().trainable_parameter_counts("zeroscope")
    assert counts == {"spatial": 6_062_080, "temporal": 6_144_000}  # 12.21 M vs CT-supp 12.12 M


def test_losses_match_their_equations():
    from baselines.customttt.losses import TTTDraw, diffusion_loss, ttt_loss

    z_app = torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).reshape(1, 2, 3, 2, 2) / 10
    z_mot = -z_app
    noise = torch.linspace(-1, 1, 24).reshape(1, 2, 3, 2, 2)
    draw = TTTDraw(torch.tensor([7]), noise, frame=2)
    text = torch.ones(1, 1, 1)

    def add_noise(x, n, t):
        return 0.6 * x + 0.8 * n

    def model(x, t, c):
        return 0.5 * x + c.sum()

    out = ttt_loss(model, add_noise, z_app, z_mot, text, draw, w_app=0.3, w_mot=2.0)
    l_mot = ((0.5 * (0.6 * z_mot + 0.8 * noise) + 1 - noise) ** 2).mean()
    fa, fn = z_app[:, :, 2:3], noise[:, :, 2:3]
    l_app = ((0.5 * (0.6 * fa + 0.8 * fn) + 1 - fn) ** 2).mean()
    torch.testing.assert_close(out.motion, l_mot)
    torch.testing.assert_close(out.appearance, l_app)
    torch.testing.assert_close(out.total, 0.3 * l_app + 2.0 * l_mot)
    assert diffusion_loss(torch.ones(2, 3), torch.zeros(2, 3)).item() == 1.0
    g1, g2 = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    a, b = TTTDraw.sample((1, 2, 5, 2, 2), 1000, g1), TTTDraw.sample((1, 2, 5, 2, 2), 1000, g2)
    assert torch.equal(a.noise, b.noise) and a.frame == b.frame and 0 <= a.frame < 5 and 0 <= int(a.t) < 1000


def test_lion_settings_follow_the_supplement():
    from baselines.customttt.adapter import CustomTTT, make_lion

    cfg = CustomTTT().resolved_config()
    assert (cfg["lora"]["rank"], cfg["lora"]["dropout"]) == (32, 0.1)
    assert (cfg["spatial_lora"]["steps"], cfg["temporal_lora"]["steps"], cfg["ttt"]["steps"]) == (500, 500, 30)
    opt = make_lion([torch.nn.Parameter(torch.ones(3))], 1e-5, cfg)
    group = opt.param_groups[0]
    assert type(opt).__name__ == "Lion" and group["betas"] == (0.9, 0.99) and group["weight_decay"] == 0.1


def test_spatial_lora_training_skips_temporal_layers_and_reduces_loss(tiny_t2v, tiny_training_data):
    from baselines.customttt.adapter import CustomTTT, inject_lora, make_lion
    from baselines.customttt.data import load_images
    from jtbench.methods.t2v.inject import mark_trainable
    from jtbench.methods.t2v.temporal_skip import enable_one_frame_temporal_skip

    method = CustomTTT()
    cfg = method.resolved_config()
    wrappers = inject_lora(tiny_t2v.unet, "spatial", cfg, 0.0)
    params = mark_trainable(wrappers)
    assert enable_one_frame_temporal_skip(tiny_t2v.unet) == 13  # 5 temporal transformers + 8 temporal convs
    images = load_images(tiny_training_data.subject_images, 64)
    text = tiny_t2v.encode_prompt(["A backpack."])

    def fixed_loss() -> float:
        torch.manual_seed(11)
        with torch.no_grad():
            return method.loss(tiny_t2v, images[0], text, "fp32").item()

    before = fixed_loss()
    opt = make_lion(params, 1e-3, cfg)
    for step in range(4):
        torch.manual_seed(11)  # the same noise and timestep: the loss must go down
        loss = method.loss(tiny_t2v, images[step % 1], text, "fp32")
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert fixed_loss() < before


def test_train_and_sample_with_test_time_training(tiny_t2v_path, train_backpack_train_turning, tmp_path):
    from baselines.customttt.adapter import CustomTTT
    from jtbench.io.video import read_video
    from jtbench.methods.base import RunSettings, SampleRequest

    method = CustomTTT()
    settings = RunSettings(backbones="tiny", precision="fp32", overrides={
        "steps": 1, "resolution": 64, "sample_steps": 2, "ttt_steps": 2, "reference_steps": 1})
    (sub, mot), case = train_backpack_train_turning(method, settings)
    assert sub.path.name == "spatial_lora.safetensors" and sub.metadata["step"] == 1
    assert mot.metadata["part"] == "temporal" and sub.path.with_suffix(".json").is_file()
    sampler = method.load_for_sampling([sub, mot], settings)  # what method.sample runs
    out = sampler.write(SampleRequest(case, seed=3), tmp_path / "videos")
    assert out == tmp_path / "videos" / case.case_id / "3.mp4"
    clip = read_video(out)
    assert (clip.num_frames, clip.fps, clip.height, clip.width) == (16, 8.0, 64, 64)
    # TTT ran (and moved the LoRAs) for this prompt ...
    assert len(sampler.last_ttt_losses) == 2
    assert any(not torch.equal(p, sampler.snapshot[k]) for k, p in sampler.params.items())
    # ... and starts again from the trained LoRAs for the next one: same prompt and seed, same latents
    assert torch.equal(sampler.latents(case.prompt, 3, 16, 64, 64), sampler.last_latents)
    # reloading the checkpoints is bit-exact
    again = method.load_for_sampling([sub, mot], settings)
    assert again.snapshot.keys() == sampler.snapshot.keys()
    assert all(torch.equal(again.snapshot[k], v) for k, v in sampler.snapshot.items())


def test_mixed_precision_train_and_sample_with_test_time_training(train_backpack_train_turning, tmp_path):
    """fp16 autocast + GradScaler around Lion in both LoRA phases and in the per-prompt TTT, on the CPU."""
    import math

    from safetensors.torch import load_file

    from baselines.customttt.adapter import CustomTTT
    from jtbench.io.video import read_video
    from jtbench.methods.base import RunSettings, SampleRequest

    method = CustomTTT()
    settings = RunSettings(backbones="tiny", device="cpu", precision="fp16", overrides={
        "steps": 2, "resolution": 64, "sample_steps": 1, "ttt_steps": 2, "reference_steps": 1})
    (sub, mot), case = train_backpack_train_turning(method, settings)
    for ckpt in (sub, mot):
        assert len(ckpt.metadata["losses"]) == 2 and all(math.isfinite(v) for v in ckpt.metadata["losses"])
        ups = [v for k, v in load_file(str(ckpt.path)).items() if k.endswith("lora_up.weight")]
        assert ups and all(v.abs().sum() > 0 for v in ups)  # zero-initialised: Lion stepped
    sampler = method.load_for_sampling([sub, mot], settings)
    out = sampler.write(SampleRequest(case, seed=3), tmp_path / "videos")
    assert len(sampler.last_ttt_losses) == 2 and all(math.isfinite(v) for v in sampler.last_ttt_losses)
    assert any(not torch.equal(p, sampler.snapshot[k]) for k, p in sampler.params.items())  # TTT stepped
    assert read_video(out).frames.float().std() > 1


def test_missing_checkpoint_and_corrupt_clip_are_named(tmp_path, tiny_training_data):
    from dataclasses import replace

    from baselines.customttt.adapter import CustomTTT
    from jtbench.errors import InputError
    from jtbench.methods.base import RunSettings, TrainUnit

    bad = tmp_path / "00.mp4"
    bad.write_bytes(b"\x00" * 64)
    settings = RunSettings(backbones="tiny", precision="fp32", overrides={"steps": 1, "resolution": 64})
    with pytest.raises(VideoError, match="00.mp4"):
        CustomTTT().train(TrainUnit("customttt", "motion", motion="train_turning"),
                          replace(tiny_training_data, motion_clips=(bad,)), settings, tmp_path / "w")
    with pytest.raises(InputError, match="motion"):
        CustomTTT().load_for_sampling([], settings)
