"""The shared text-to-video layer on the tiny random pipeline (built from configs, saved, reloaded)."""

from __future__ import annotations

import pytest
import torch

from jtbench.errors import VideoError, WeightsError


def _unet_out(components, frames: int = 2, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 4, frames, 8, 8, generator=g)
    text = components.encode_prompt(["A backpack."])
    with torch.no_grad():
        return components.unet(x, 500, encoder_hidden_states=text).sample


def test_tiny_pipeline_loads_through_the_real_loader(tiny_t2v_path, tiny_t2v):
    import open_clip

    assert {p.name for p in tiny_t2v_path.iterdir()} >= {"unet", "vae", "text_encoder", "tokenizer", "scheduler"}
    assert type(tiny_t2v.unet).__name__ == "UNet3DConditionModel"
    assert tiny_t2v.vae_scale_factor == 8
    assert not any(p.requires_grad for p in tiny_t2v.unet.parameters())
    prompt = "A bear plushie playing the flute on the grass."
    ours = tiny_t2v.tokenizer([prompt]).input_ids[0]
    ref = open_clip.tokenize([prompt])[0]
    assert ours == ref[: len(ours)].tolist() and ours[0] == 49406 and ours[-1] == 49407
    assert tiny_t2v.encode_prompt([prompt]).shape == (1, 77, 32)


def test_offline_missing_base_names_the_fix(tmp_path):
    from jtbench.methods.t2v.base_model import load_base_model

    with pytest.raises(WeightsError, match="huggingface-cli download"):
        load_base_model(tmp_path, offline=True)


def test_official_target_rule_on_the_tiny_unet(tiny_t2v):
    from jtbench.methods.t2v.inject import SPATIAL_RULES, TEMPORAL_RULES, find_targets

    targets = find_targets(tiny_t2v.unet, {**SPATIAL_RULES, **TEMPORAL_RULES})
    spatial = [t.name for t in targets if t.part == "spatial"]
    temporal = [t.name for t in targets if t.part == "temporal"]
    assert (len(targets), len(spatial), len(temporal)) == (74, 24, 50)
    assert not any(".attn2." in n for n in spatial)  # text cross-attention is not adapted
    assert not any("proj_in" in n or "proj_out" in n for n in spatial + temporal)
    assert any(n.startswith("transformer_in.") for n in temporal)
    assert any(".attn2." in n for n in temporal)
    assert sum(n.endswith(("ff.net.0.proj", "ff.net.2")) for n in spatial) == 8


def test_injection_is_identity_at_init_and_never_rewraps(tiny_t2v):
    from jtbench.methods.t2v.inject import SPATIAL_RULES, TEMPORAL_RULES, adapter_parameters, find_targets, inject
    from jtbench.methods.t2v.lora import GatedLoRALinear

    before = _unet_out(tiny_t2v)
    rules = {**SPATIAL_RULES, **TEMPORAL_RULES}
    wrappers = inject(find_targets(tiny_t2v.unet, rules), lambda t: GatedLoRALinear(t.linear, 32, 0.1))
    assert sum(p.numel() for p in adapter_parameters(wrappers).values()) == 332_032  # methods.md §8
    assert find_targets(tiny_t2v.unet, rules) == []
    torch.testing.assert_close(_unet_out(tiny_t2v), before, rtol=0, atol=0)


def test_gated_lora_equation():
    from jtbench.methods.t2v.lora import GatedLoRALinear, LoRALinear

    torch.manual_seed(0)
    base = torch.nn.Linear(6, 5)
    lora = GatedLoRALinear(base, rank=3, dropout=0.0, scale=7.0).eval()
    torch.nn.init.normal_(lora.lora_up.weight)
    x = torch.randn(4, 9, 6)
    gate = torch.sigmoid(x @ lora.lora_gate.weight.T).mean()  # one scalar over batch and tokens
    expected = base(x) + (x @ lora.lora_down.weight.T @ lora.lora_up.weight.T) * gate  # scale ignored
    torch.testing.assert_close(lora(x), expected)
    assert lora.gate(x).numel() == 1
    assert lora.lora_down.weight.std().item() == pytest.approx(1 / 3, rel=0.6)
    plain = LoRALinear(base, rank=8, dropout=0.0, scale=0.5)
    assert plain.rank == 5  # clipped to min(in, out)
    torch.nn.init.normal_(plain.lora_up.weight)
    torch.testing.assert_close(plain(x), base(x) + 0.5 * (x @ plain.lora_down.weight.T @ plain.lora_up.weight.T))


def test_adapter_save_load_is_bit_exact(tiny_t2v, tiny_t2v_path, tmp_path):
    from jtbench.methods.t2v.base_model import load_base_model
    from jtbench.methods.t2v.inject import SPATIAL_RULES, find_targets, inject, load_adapters, save_adapters
    from jtbench.methods.t2v.lora import LoRALinear

    wrappers = inject(find_targets(tiny_t2v.unet, SPATIAL_RULES), lambda t: LoRALinear(t.linear, 4, 0.0))
    for w in wrappers.values():
        torch.nn.init.normal_(w.lora_up.weight, std=0.5)
    path = save_adapters(tmp_path / "lora.safetensors", wrappers, {"method": "test", "step": 3})
    assert path.with_suffix(".json").is_file()
    fresh = load_base_model(tiny_t2v_path)
    again = inject(find_targets(fresh.unet, SPATIAL_RULES), lambda t: LoRALinear(t.linear, 4, 0.0))
    meta = load_adapters(path, again)
    assert meta["step"] == 3 and meta["jtbench_version"]
    assert torch.equal(_unet_out(fresh), _unet_out(tiny_t2v))
    wrong_rank = inject(find_targets(load_base_model(tiny_t2v_path).unet, SPATIAL_RULES),
                        lambda t: LoRALinear(t.linear, 2, 0.0))
    with pytest.raises(WeightsError, match="lora.safetensors"):
        load_adapters(path, wrong_rank)


def test_gradient_checkpointing_matches_plain_backward(tiny_t2v):
    from jtbench.methods.t2v.checkpointing import disable_gradient_checkpointing, enable_gradient_checkpointing
    from jtbench.methods.t2v.inject import TEMPORAL_RULES, adapter_parameters, find_targets, inject, mark_trainable
    from jtbench.methods.t2v.lora import LoRALinear

    wrappers = inject(find_targets(tiny_t2v.unet, TEMPORAL_RULES), lambda t: LoRALinear(t.linear, 4, 0.0))
    for w in wrappers.values():
        torch.nn.init.normal_(w.lora_up.weight, std=0.1)
    params = mark_trainable(wrappers)
    x = torch.randn(1, 4, 3, 8, 8)
    text = tiny_t2v.encode_prompt(["A car."])

    def grads():
        for p in params:
            p.grad = None
        tiny_t2v.unet(x, 10, encoder_hidden_states=text).sample.square().mean().backward()
        return [p.grad.clone() for p in adapter_parameters(wrappers).values()]

    plain = grads()
    assert enable_gradient_checkpointing(tiny_t2v.unet) > 20
    checked = grads()
    assert disable_gradient_checkpointing(tiny_t2v.unet) > 20
    for a, b in zip(plain, checked, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize(
    ("size", "bucket"),
    [((320, 240), (384, 320)), ((640, 480), (384, 320)), ((854, 480), (384, 256)), ((720, 480), (384, 256)),
     ((500, 500), (384, 384)), ((480, 640), (320, 384)), ((380, 384), (320, 384)), ((2000, 300), (384, 256))],
)
def test_official_bucketing(size, bucket):
    from jtbench.methods.t2v.training import bucket_size, sensible_bucket

    assert sensible_bucket(384, 384, *size) == bucket == bucket_size(*size)


def test_training_items_follow_the_official_loader(shared_data, tmp_path):
    from jtbench.methods.t2v.training import load_clip_item, load_image_item

    first_photo = sorted((shared_data / "subjects" / "clock").glob("*.jpg"))[0]
    image = load_image_item(first_photo, "A clock.", size=64, frames=4)
    assert image.pixels.shape[0] == 4 and torch.equal(image.pixels[0], image.pixels[3])
    assert image.pixels.min() >= -1 and image.pixels.max() <= 1
    car = load_clip_item(shared_data / "motions" / "car_turn" / "car-turn.mp4", "A car.", size=64, frames=16)
    assert car.pixels.shape == (16, 3, 64, 64)  # 480x480 at 8 fps: stride 1, all 16 frames
    bike = load_clip_item(shared_data / "motions" / "riding_bicycle" / "clip_00.mp4", "A person.", size=64, frames=16)
    assert bike.pixels.shape == (16, 3, 40, 64)  # 596x336 → bucket 384x256, scaled to 64 px: 64x40
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all")
    with pytest.raises(VideoError, match="broken.mp4"):
        load_clip_item(broken, "A car.", size=64)


def test_sampler_writes_a_16_frame_8_fps_mp4(tiny_t2v, tmp_path):
    from jtbench.benchmark import Benchmark
    from jtbench.io.video import read_video
    from jtbench.methods.base import SampleRequest
    from jtbench.methods.t2v.sampling import SamplerConfig, initial_latents, sample_latents, sample_requests

    cfg = SamplerConfig(steps=1, guidance_scale=12.0, height=64, width=64)
    case = Benchmark.load().cases(subject="backpack", motion="train_turning", backgrounds="grass")[0]
    [path] = sample_requests(tiny_t2v, [SampleRequest(case=case, seed=7)], cfg, tmp_path)
    assert path == tmp_path / case.case_id / "7.mp4"
    clip = read_video(path)
    assert (clip.num_frames, clip.fps, clip.height, clip.width) == (16, 8.0, 64, 64)
    # The official scripts' initial noise: manual_seed(seed), then fp16 randn on the CPU.
    torch.manual_seed(7)
    expected = torch.randn((1, 4, 2, 8, 8), dtype=torch.float16)
    assert torch.equal(initial_latents(7, (1, 4, 2, 8, 8)), expected)
    small = SamplerConfig(steps=1, height=64, width=64, num_frames=2)
    a, b = sample_latents(tiny_t2v, case.prompt, 7, small), sample_latents(tiny_t2v, case.prompt, 7, small)
    assert torch.equal(a, b)
    assert not torch.equal(a, sample_latents(tiny_t2v, case.prompt, 8, small))


def test_training_state_limit_and_resume(tmp_path):
    from jtbench.methods.t2v.training import load_latest_training_state, save_training_state

    assert load_latest_training_state(tmp_path) is None
    for step in (10, 20, 30):
        torch.manual_seed(step)
        save_training_state(tmp_path, step, {"losses": [step]}, limit=2)
    assert sorted(p.name for p in tmp_path.glob("checkpoint-*")) == ["checkpoint-20", "checkpoint-30"]
    torch.manual_seed(30)
    expected = torch.rand(3)
    torch.manual_seed(0)
    state = load_latest_training_state(tmp_path)
    assert state["step"] == 30 and state["losses"] == [30]
    assert torch.equal(torch.rand(3), expected)  # RNG restored to the saved point


def test_training_state_keeps_the_loss_scaler_and_cuda_rng(tmp_path, monkeypatch):
    from jtbench.errors import InputError
    from jtbench.methods.t2v.training import grad_scaler, load_latest_training_state, save_training_state

    scaler = grad_scaler("cpu", "fp16")
    assert scaler.is_enabled() and not grad_scaler("cpu", "bf16").is_enabled()
    weight = torch.nn.Parameter(torch.ones(2))
    opt = torch.optim.SGD([weight], lr=0.1)
    for grad in (float("inf"), 1.0):  # one skipped (non-finite) step backs the scale off, one counts
        scaler.scale((weight * 0).sum())
        weight.grad = torch.full((2,), grad)
        scaler.step(opt)
        scaler.update()
    assert (scaler.get_scale(), scaler.state_dict()["_growth_tracker"]) == (2.0**15, 1)
    # CUDA RNG: saved and restored when CUDA is there (faked here: this runner has no GPU)
    cuda_state, restored = [torch.tensor([7], dtype=torch.uint8)], []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: cuda_state)
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", restored.append)
    save_training_state(tmp_path, 5, {"losses": []}, scaler=scaler)
    fresh = grad_scaler("cpu", "fp16")
    state = load_latest_training_state(tmp_path, scaler=fresh)
    assert state["rng"]["cuda"] == cuda_state and restored == [cuda_state]
    assert (fresh.get_scale(), fresh.state_dict()["_growth_tracker"]) == (2.0**15, 1)
    save_training_state(tmp_path, 6, {"losses": []}, scaler=grad_scaler("cpu", "bf16"))  # no scaler in bf16
    with pytest.raises(InputError, match="precision"):
        load_latest_training_state(tmp_path, scaler=grad_scaler("cpu", "fp16"))


def test_config_overrides():
    from jtbench.errors import InputError
    from jtbench.methods.t2v.config import apply_overrides

    cfg = {"seed": 1, "train": {"steps": 2000, "lr": 5e-4}, "sample": {"height": 384, "width": 384}}
    short = {"steps": ("train.steps",), "resolution": ("sample.height", "sample.width")}
    out = apply_overrides(cfg, {"steps": 3, "resolution": 64, "train.lr": 1e-3, "seed": 7, "base_path": "x"}, short)
    assert out == {"seed": 7, "train": {"steps": 3, "lr": 1e-3}, "sample": {"height": 64, "width": 64}}
    assert cfg["train"]["steps"] == 2000  # the original is untouched
    with pytest.raises(InputError, match="train.lrr"):
        apply_overrides(cfg, {"train.lrr": 1}, short)


def test_official_flat_list_round_trip(tiny_t2v, tiny_t2v_path, tmp_path):
    from jtbench.methods.t2v.base_model import load_base_model
    from jtbench.methods.t2v.inject import (
        SPATIAL_RULES,
        TEMPORAL_RULES,
        find_targets,
        inject,
        load_official_list,
        save_official_list,
    )
    from jtbench.methods.t2v.lora import GatedLoRALinear, LoRALinear

    rules = {**SPATIAL_RULES, **TEMPORAL_RULES}
    wrappers = inject(find_targets(tiny_t2v.unet, rules), lambda t: GatedLoRALinear(t.linear, 4, 0.0))
    path = save_official_list(tmp_path / "2000_unet.pt", wrappers)
    tensors = torch.load(path, weights_only=True)
    assert len(tensors) == 74 * 3
    first = next(iter(wrappers.values()))
    assert torch.equal(tensors[0], first.lora_up.weight) and torch.equal(tensors[2], first.lora_gate.weight)
    unet = load_base_model(tiny_t2v_path).unet
    fresh = inject(find_targets(unet, rules), lambda t: GatedLoRALinear(t.linear, 4, 0.0))
    load_official_list(path, fresh)
    pairs = zip(wrappers.values(), fresh.values(), strict=True)
    assert all(torch.equal(a.lora_gate.weight, b.lora_gate.weight) for a, b in pairs)
    plain = inject(find_targets(load_base_model(tiny_t2v_path).unet, rules), lambda t: LoRALinear(t.linear, 4, 0.0))
    with pytest.raises(WeightsError, match="2000_unet.pt"):
        load_official_list(path, plain)  # no gates: 148 slots for 222 tensors
