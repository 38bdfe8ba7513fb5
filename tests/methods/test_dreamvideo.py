"""DreamVideo on the tiny random pipeline: injection rules, equations, training, checkpoints, sampling."""

from __future__ import annotations

import random

import pytest
import torch

from jtbench.errors import VideoError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _unet_out(components, frames: int = 2, embed: torch.Tensor | None = None, condition=None) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 4, frames, 8, 8, generator=g)
    if condition is not None:
        condition.set(embed, 1.0)
    text = components.encode_prompt(["A backpack."])
    with torch.no_grad():
        return components.unet(x, 500, encoder_hidden_states=text).sample


def test_adapters_follow_the_target_rules_and_start_as_identity(tiny_t2v):
    from baselines.dreamvideo.modules import (
        IDENTITY_SUBLAYERS,
        MOTION_SUBLAYERS,
        AppearanceCondition,
        adapter_state,
        inject_adapters,
    )

    before = _unet_out(tiny_t2v)
    unet = tiny_t2v.unet
    spatial = [n for n, m in unet.named_modules() if type(m).__name__ == "Transformer2DModel"]
    temporal = [n for n, m in unet.named_modules() if type(m).__name__ == "TransformerTemporalModel"]
    cond = AppearanceCondition()
    identity = inject_adapters(unet, "Transformer2DModel", IDENTITY_SUBLAYERS)
    motion = inject_adapters(unet, "TransformerTemporalModel", MOTION_SUBLAYERS, condition_dim=6, condition=cond)
    assert len(identity) == len(spatial) == 4 and all(k.endswith(".dreamvideo_adapters.attn2") for k in identity)
    assert len(motion) == 3 * len(temporal) == 15 and "transformer_in" in temporal
    assert {k.rsplit(".", 1)[1] for k in motion} == {"attn1", "attn2", "ff"}
    assert any(k.startswith("transformer_in.") for k in motion)
    assert all(a.condition_linear is None for a in identity.values())
    assert all(a.condition_linear.in_features == 6 for a in motion.values())
    for adapter in identity.values():  # hidden = dim / 2
        assert adapter.down.out_features == adapter.down.in_features // 2
    names = dict(unet.named_parameters())
    assert set(adapter_state({**identity, **motion})) <= set(names)
    assert all("adapter" in n for n in adapter_state({**identity, **motion}))
    # zero-initialised up projections: the injected UNet is the base UNet, with or without a condition
    torch.testing.assert_close(_unet_out(tiny_t2v, embed=torch.randn(1, 6), condition=cond), before, rtol=0, atol=0)
    # ... and the adapters are live once trained
    for a in motion.values():
        torch.nn.init.normal_(a.up.weight, std=0.1)
    assert not torch.allclose(_unet_out(tiny_t2v, embed=torch.randn(1, 6), condition=cond), before)


def test_adapter_and_parallel_block_equations():
    from diffusers.models.attention import BasicTransformerBlock

    from baselines.dreamvideo.modules import AppearanceCondition, inject_adapters

    torch.manual_seed(0)
    cond = AppearanceCondition()

    class Holder(torch.nn.Module):  # inject_adapters finds blocks below an ancestor class by name
        def __init__(self):
            super().__init__()
            self.block = BasicTransformerBlock(8, 2, 4, cross_attention_dim=None, double_self_attention=True)

    Holder.__name__ = "TransformerTemporalModel"
    root = Holder().eval()
    adapters = inject_adapters(root, "TransformerTemporalModel", ("attn1", "ff"), condition_dim=3, condition=cond)
    for a in adapters.values():
        torch.nn.init.normal_(a.up.weight)
    x, c = torch.randn(4, 5, 8), torch.randn(2, 3)  # adapter batch 4 = condition batch 2 × 2 rows each
    cond.set(c, torch.tensor([0.5, 2.0]))
    a1, ff = adapters["block.dreamvideo_adapters.attn1"], adapters["block.dreamvideo_adapters.ff"]
    lam = torch.tensor([0.5, 0.5, 2.0, 2.0])[:, None, None]
    cvec = a1.condition_linear(c).repeat_interleave(2, 0)[:, None, :]
    expected_a1 = x + a1.up(torch.nn.functional.gelu(a1.down(x + lam * cvec)))
    torch.testing.assert_close(a1(x), expected_a1)
    # parallel position: sublayer(norm(x)) + adapter(x), for attn1 and ff; attn2 keeps its plain residual
    b = root.block
    h = b.attn1(b.norm1(x)) + a1(x)
    h = b.attn2(b.norm2(h)) + h
    cvec_ff = ff.condition_linear(c).repeat_interleave(2, 0)[:, None, :]
    h = b.ff(b.norm3(h)) + h + ff.up(torch.nn.functional.gelu(ff.down(h + lam * cvec_ff)))
    torch.testing.assert_close(b(x), h)


def test_offset_noise_and_masked_loss_equations():
    from baselines.dreamvideo.training import masked_mse, offset_noise

    latents = torch.zeros(2, 4, 3, 5, 5)
    torch.manual_seed(1)
    noise = offset_noise(latents, 0.1)
    torch.manual_seed(1)
    eps = torch.randn_like(latents)
    expected = eps + 0.1 * torch.randn(2, 4, 3, 1, 1)
    torch.testing.assert_close(noise, expected)
    pred, target = torch.arange(8.0).reshape(1, 1, 1, 2, 4), torch.ones(1, 1, 1, 2, 4)
    mask = torch.tensor([[1.0, 0, 0, 1], [0, 0, 0, 0]]).reshape(1, 1, 1, 2, 4)
    assert masked_mse(pred, target, mask).item() == pytest.approx(((0 - 1) ** 2 + (3 - 1) ** 2) / 8)
    assert masked_mse(pred, target).item() == pytest.approx(((pred - target) ** 2).mean().item())


def test_textual_inversion_trains_only_the_token_and_identity_adapter_reduces_loss(tiny_t2v, tiny_training_data):
    from baselines.dreamvideo.adapter import DreamVideo
    from baselines.dreamvideo.data import load_subject_images
    from baselines.dreamvideo.modules import add_placeholder_token
    from baselines.dreamvideo.training import _subject_latents, masked_mse, train_identity_adapter
    from baselines.dreamvideo.training import train_textual_inversion as train_ti
    from jtbench.methods.base import RunSettings

    settings = RunSettings(backbones="tiny", precision="fp32", overrides={"steps": 2, "resolution": 64})
    cfg = DreamVideo().resolved_config(settings)
    cfg["textual_inversion"].update(learning_rate=1e-2, batch_size=2)
    images = load_subject_images(tiny_training_data.subject_images, 64)
    ti = add_placeholder_token(tiny_t2v.tokenizer, tiny_t2v.text_encoder, "<backpack>", "backpack")
    assert tiny_t2v.tokenizer("A <backpack>.", add_special_tokens=False).input_ids[1] == ti.token_id
    init = tiny_t2v.text_encoder.get_input_embeddings().weight.detach().clone()
    assert torch.equal(init[ti.token_id], init[tiny_t2v.tokenizer("backpack", add_special_tokens=False).input_ids[0]])
    torch.manual_seed(0)
    train_ti(tiny_t2v, ti, images, "A <backpack>.", cfg, "fp32", random.Random(0))
    after = tiny_t2v.text_encoder.get_input_embeddings().weight.detach()
    changed = (after != init).any(dim=1).nonzero().flatten().tolist()
    assert changed == [ti.token_id]

    def fixed_loss() -> float:  # one fixed batch, noise and timestep
        torch.manual_seed(5)
        latents, _ = _subject_latents(tiny_t2v, images, [0, 1])
        noise = torch.randn_like(latents)
        t = torch.tensor([400, 600])
        text = tiny_t2v.encode_prompt(["A <backpack>."] * 2)
        with torch.no_grad():
            pred = tiny_t2v.unet(tiny_t2v.scheduler.add_noise(latents, noise, t), t, encoder_hidden_states=text).sample
        return masked_mse(pred, noise).item()

    before = fixed_loss()
    cfg["identity_adapter"].update(learning_rate=3e-3, steps=4, batch_size=2)
    cfg["noise_offset"] = 0.0
    cfg["optimizer"]["warmup_steps"] = 0
    train_identity_adapter(tiny_t2v, images, "A <backpack>.", cfg, "fp32", random.Random(0))
    assert fixed_loss() < before


def test_train_and_sample_end_to_end(tiny_t2v_path, tiny_training_data, tmp_path):
    from baselines.dreamvideo.adapter import DreamVideo
    from jtbench.benchmark import Benchmark
    from jtbench.io.video import read_video
    from jtbench.methods.base import RunSettings, SampleRequest

    method = DreamVideo()
    settings = RunSettings(backbones="tiny", precision="fp32",
                           overrides={"steps": 1, "resolution": 64, "sample_steps": 2})
    bench = Benchmark.load()
    combo = next(c for c in bench.combinations() if c.subject == "backpack" and c.motion == "train_turning")
    units = method.sampling_units(combo)
    assert [u.kind for u in units] == ["subject", "motion"]
    sub = method.train(units[0], tiny_training_data, settings, tmp_path / "subject")
    mot = method.train(units[1], tiny_training_data, settings, tmp_path / "motion")
    assert sub.metadata["token"] == "<backpack>" and len(sub.metadata["losses"]["identity_adapter"]) == 1
    assert mot.metadata["steps"] == 1 and (tmp_path / "subject" / "textual_inversion.safetensors").is_file()
    assert (tmp_path / "subject" / "appearance.jpg").is_file()  # the sampling guide travels with the weights
    case = next(c for c in bench.cases() if c.subject == "backpack" and c.motion == "train_turning")
    sampler = method.load_for_sampling([sub, mot], settings)  # what method.sample runs
    out = sampler.write(SampleRequest(case, seed=7), tmp_path / "videos")
    assert out == tmp_path / "videos" / case.case_id / "7.mp4"
    clip = read_video(out)
    assert (clip.num_frames, clip.fps, clip.height, clip.width) == (16, 8.0, 64, 64)
    assert sampler.prompt_for(case.prompt).startswith("A <backpack> ")
    assert sampler.cfg["appearance_strength_uncond"] == 1.0  # one clip: VGen's carTurn recipe
    again = method.load_for_sampling([sub, mot], settings)  # reload from disk: bit-exact latents
    assert torch.equal(again.latents(case.prompt, 7, 16, 64, 64), sampler.last_latents)


def test_checkpoint_round_trip_is_bit_exact(tiny_t2v_path, tmp_path):
    from baselines.dreamvideo.adapter import _copy_into, _load
    from baselines.dreamvideo.modules import MOTION_SUBLAYERS, AppearanceCondition, adapter_state, inject_adapters
    from jtbench.methods.t2v.base_model import load_base_model
    from jtbench.methods.t2v.inject import save_tensors

    def build():
        comps, cond = load_base_model(tiny_t2v_path), AppearanceCondition()
        ads = inject_adapters(comps.unet, "TransformerTemporalModel", MOTION_SUBLAYERS, condition_dim=4,
                              condition=cond)
        return comps, cond, adapter_state(ads)

    a, cond_a, params = build()
    torch.manual_seed(3)
    with torch.no_grad():
        for p in params.values():
            p.normal_(std=0.2)
    path = save_tensors(tmp_path / "motion.safetensors", {f"unet.{k}": v for k, v in params.items()}, {"x": 1})
    b, cond_b, params_b = build()
    _copy_into(params_b, _load(path), path)
    embed = torch.randn(1, 4)
    assert torch.equal(_unet_out(a, embed=embed, condition=cond_a), _unet_out(b, embed=embed, condition=cond_b))


def test_corrupt_reference_clip_names_the_file(tmp_path, tiny_training_data):
    from dataclasses import replace

    from baselines.dreamvideo.adapter import DreamVideo
    from jtbench.methods.base import RunSettings, TrainUnit

    bad = tmp_path / "00.mp4"
    bad.write_bytes(b"not a video at all")
    data = replace(tiny_training_data, motion_clips=(bad,))
    settings = RunSettings(backbones="tiny", precision="fp32", overrides={"steps": 1, "resolution": 64})
    with pytest.raises(VideoError, match="00.mp4"):
        DreamVideo().train(TrainUnit("dreamvideo", "motion", motion="train_turning"), data, settings, tmp_path / "w")


def test_trainable_parameter_counts_on_zeroscope():
    from baselines.dreamvideo.adapter import DreamVideo

    counts = DreamVideo().trainable_parameter_counts("zeroscope")
    # identity: d² + 1.5d per spatial block (down d→d/2 + bias, up d/2→d + bias) over 16 blocks;
    # motion: 3 × (d² + 1.5d + 1024d + d) per temporal block, transformer_in (d = 512) included.
    identity = 5 * (320**2 + 480) + 5 * (640**2 + 960) + 6 * (1280**2 + 1920)
    motion = sum(n * 3 * (d * d + 1.5 * d + 1025 * d) for n, d in ((5, 320), (5, 640), (6, 1280), (1, 512)))
    assert counts == {"embedding": 1024, "identity_adapter": identity, "motion_adapter": int(motion)}


def test_multi_clip_motion_uses_batch_two_and_random_frame_guides(tiny_t2v, shared_data):
    from baselines.dreamvideo.adapter import DreamVideo
    from baselines.dreamvideo.data import load_motion_clips
    from baselines.dreamvideo.image_encoder import ensure_tiny_image_encoder, load_image_encoder
    from baselines.dreamvideo.training import motion_schedule, train_motion_adapter
    from jtbench.methods.base import RunSettings

    cfg = DreamVideo().resolved_config(RunSettings(overrides={"resolution": 64}))
    # VGen carTurn / playingGuitar: trained up to the joint-inference adapter (step 1500 of 3000, 600 of 1000)
    assert motion_schedule(cfg, 1) == (1500, 1, 0.5) and motion_schedule(cfg, 15) == (600, 2, 0.0)
    cfg["motion_adapter"]["steps_multi_clip"] = 1
    clips = load_motion_clips(sorted((shared_data / "motions" / "riding_bicycle").glob("clip_*.mp4")))
    assert len(clips) == 2 and all(c.frames.shape[0] > 16 for c in clips)  # 25/29.97 FPS → every 3rd/4th frame
    encoder = load_image_encoder(ensure_tiny_image_encoder())
    params, log = train_motion_adapter(tiny_t2v, encoder, clips, "A person riding a bicycle.", cfg, "fp32",
                                       random.Random(0))
    assert len(log.losses) == 1
    moved = [n for n, p in params.items() if n.endswith("up.weight") and p.abs().sum() > 0]
    assert moved  # one AdamW step moved the zero-initialised up projections


def test_sampled_steps_and_unconditional_guide_follow_vgens_joint_configs():
    from baselines.dreamvideo.adapter import DreamVideo, sampling_config
    from baselines.dreamvideo.training import steps_to_train

    cfg = DreamVideo().config()
    assert (cfg["identity_adapter"]["steps"], cfg["identity_adapter"]["sample_step"]) == (1000, 500)
    assert steps_to_train(1000, 500) == 500 and steps_to_train(1000, None) == 1000 and steps_to_train(2, 500) == 2
    single, multi = sampling_config(cfg, 1), sampling_config(cfg, 15)
    assert (single["appearance_strength_cond"], single["appearance_strength_uncond"]) == (1.0, 1.0)  # carTurn
    assert (multi["appearance_strength_cond"], multi["appearance_strength_uncond"]) == (1.0, 0.0)  # playingGuitar


def test_mixed_precision_train_and_sample(tiny_t2v_path, train_backpack_train_turning, tmp_path):
    """fp16 autocast + GradScaler (unscaled before the textual-inversion row mask), on the CPU."""
    import math

    from baselines.dreamvideo.adapter import TI_KEY, DreamVideo, _load
    from jtbench.io.video import read_video
    from jtbench.methods.base import RunSettings, SampleRequest
    from jtbench.methods.t2v.base_model import load_base_model

    method = DreamVideo()
    settings = RunSettings(backbones="tiny", device="cpu", precision="fp16",
                           overrides={"steps": 2, "resolution": 64, "sample_steps": 1})
    (sub, mot), case = train_backpack_train_turning(method, settings)
    losses = [*sub.metadata["losses"]["textual_inversion"], *sub.metadata["losses"]["identity_adapter"],
              *mot.metadata["losses"]]
    assert len(losses) == 6 and all(math.isfinite(v) for v in losses)
    base = load_base_model(tiny_t2v_path)
    init_id = base.tokenizer(sub.metadata["initializer"], add_special_tokens=False).input_ids[0]
    initial = base.text_encoder.get_input_embeddings().weight[init_id]
    assert not torch.equal(_load(sub.path)[TI_KEY][0], initial)  # the token's row moved
    for ckpt in (sub, mot):
        ups = [v for k, v in _load(ckpt.path).items() if k.endswith("up.weight")]
        assert ups and all(v.abs().sum() > 0 for v in ups)  # zero-initialised: the adapters trained
    out = method.sample([sub, mot], [SampleRequest(case, seed=7)], settings, tmp_path / "videos")[0]
    assert read_video(out).frames.float().std() > 1


def test_mask_folder_gives_vgens_masked_loss(tiny_t2v, tiny_training_data, tmp_path):
    import numpy as np
    from PIL import Image

    from baselines.dreamvideo.data import load_subject_images
    from baselines.dreamvideo.training import _subject_latents

    images = tiny_training_data.subject_images
    with pytest.raises(VideoError, match=r"00\.png"):
        load_subject_images(images, 64, tmp_path)  # a configured mask folder must hold every mask
    for path in images:
        mask = np.zeros((80, 80), np.uint8)
        mask[:, :40] = 255  # left half is the subject
        Image.fromarray(mask).convert("RGB").save(tmp_path / f"{path.stem}.png")
    loaded = load_subject_images(images, 64, tmp_path)
    latents, mask = _subject_latents(tiny_t2v, loaded, [0, 1])
    assert mask.shape == (2, 1, 1, 8, 8) and latents.shape == (2, 4, 1, 8, 8)
    assert mask[..., :4].eq(1).all() and mask[..., 4:].eq(0).all()
    _, none = _subject_latents(tiny_t2v, load_subject_images(images, 64), [0])
    assert none is None  # no mask folder: plain loss
