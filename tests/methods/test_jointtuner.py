"""JointTuner: Table 3 switches, loss equations, targets, training, checkpoints and sampling (tiny, CPU)."""

from __future__ import annotations

import csv
import json
import math
import random

import pytest
import torch

from jtbench.errors import InputError, VideoError

pytestmark = pytest.mark.usefixtures("one_torch_thread")

VARIANT_ROWS = {
    "noise_frame": ("Noise-Frame", "frame", True, True, True),
    "noise_pixel": ("Noise-Pixel", "pixel", True, True, True),
    "noise_video": ("Noise-Video", "video", True, True, True),
    "no_offset_noise": ("-Offset Noise", "none", True, True, True),
    "no_lora_gating": ("-LoRA Gating", "none", False, True, True),
    "no_lora_union": ("-LoRA Union", "none", False, False, True),
    "no_joint_training": ("-Joint Training", "none", False, False, False),
}


@pytest.fixture(scope="module")
def jt():
    from jtbench.methods.base import get_method

    return get_method("jointtuner")


def test_seven_table3_configurations(jt):
    from baselines.jointtuner.adapter import Variant
    from jtbench.methods.base import RunSettings, get_method
    from jtbench.paths import manifests_dir

    with open(manifests_dir() / "paper_results" / "table3_ablation.csv") as fh:
        paper_rows = {row["method"] for row in csv.DictReader(fh)}
    cfg = jt.config()
    assert cfg["variant"] == "noise_frame" and set(cfg["variants"]) == set(VARIANT_ROWS)
    for name, (row, offset, gated, union, joint) in VARIANT_ROWS.items():
        method = get_method("jointtuner-" + name.replace("_", "-"))
        v = Variant.from_config(method.resolved_config())
        assert (v.paper_row, v.offset_noise, v.gated, v.union, v.joint) == (row, offset, gated, union, joint)
        assert v.paper_row in paper_rows
    with pytest.raises(InputError, match="noise_pixel"):
        get_method("jointtuner-noise-pixel").resolved_config(RunSettings(overrides={"variant": "noise_video"}))
    with pytest.raises(InputError, match="unknown override"):
        jt.resolved_config(RunSettings(overrides={"stesp": 3}))


def test_paper_hyperparameters(jt):
    cfg = jt.config()
    t, s = cfg["train"], cfg["sample"]
    assert (t["steps"], t["learning_rate"], t["weight_decay"], t["lora_rank"], t["lora_dropout"]) == (
        2000, 5e-4, 1e-4, 32, 0.1)
    assert (t["resolution"], t["frames"], t["fps"], t["ait_weight"], t["hflip_p"], cfg["seed"]) == (
        384, 16, 8, 10.0, 0.5, 42)
    assert (s["steps"], s["guidance_scale"], s["lora_dropout"], s["frames"], s["fps"]) == (30, 12.0, 0.0, 16, 8)
    assert s["negative_prompt"].startswith("bad anatomy, extra limbs") and "focus,  poorly" in s["negative_prompt"]


@pytest.mark.parametrize(
    ("kind", "shape"),
    [("frame", (2, 1, 1, 5, 6)), ("pixel", (2, 4, 16, 1, 1)), ("video", (2, 4, 16, 5, 6)), ("none", None)],
)
def test_offset_noise_shapes(kind, shape):
    from baselines.jointtuner.losses import offset_noise

    eps = offset_noise(kind, torch.zeros(2, 4, 16, 5, 6))
    assert (eps is None) if shape is None else tuple(eps.shape) == shape


def test_ait_and_ofs_equations_on_fixed_tensors():
    from baselines.jointtuner.losses import ait_loss, ofs_loss

    g = torch.Generator().manual_seed(0)
    pred, noise = torch.randn(1, 4, 3, 2, 2, generator=g), torch.randn(1, 4, 3, 2, 2, generator=g)
    offset = torch.randn(1, 1, 1, 2, 2, generator=g)
    # The offset is shared over channels and frames, added to the prediction, and λ scales the MSE.
    by_hand = sum(
        (pred[0, c, f, y, x] + offset[0, 0, 0, y, x] - noise[0, c, f, y, x]) ** 2
        for c in range(4) for f in range(3) for y in range(2) for x in range(2)
    ) / 48
    torch.testing.assert_close(ait_loss(pred, noise, offset, 10.0), 10 * by_hand)
    torch.testing.assert_close(ait_loss(pred, noise, None, 10.0), 10 * ((pred - noise) ** 2).mean())
    target = torch.randn(1, 4, 2, 2, generator=g)
    torch.testing.assert_close(ofs_loss(pred[:, :, :1], target), ((pred[:, :, 0] - target) ** 2).mean())


def test_injected_modules_per_variant(tiny_t2v):
    from baselines.jointtuner.adapter import Variant, _part_of_param, inject_lora
    from jtbench.methods.t2v.inject import adapter_parameters, count_by_part
    from jtbench.methods.t2v.lora import GatedLoRALinear, LoRALinear

    gated = Variant("noise_frame", "Noise-Frame", "frame", True, True, True)
    wrappers, parts = inject_lora(tiny_t2v.unet, gated, 32, 0.1)
    assert len(wrappers) == 74 and sum(p == "temporal" for p in parts.values()) == 50
    assert all(type(w) is GatedLoRALinear for w in wrappers.values())
    counts = count_by_part(adapter_parameters(wrappers), lambda n: _part_of_param(n, parts))
    assert sum(counts.values()) == 332_032
    assert counts["gate"] == sum(w.base.in_features for w in wrappers.values())
    plain = Variant("no_lora_gating", "-LoRA Gating", "none", False, True, True)
    fresh = type(tiny_t2v.unet).from_pretrained(tiny_t2v.source, subfolder="unet")
    wrappers, _ = inject_lora(fresh, plain, 32, 0.1)
    assert len(wrappers) == 74 and all(type(w) is LoRALinear for w in wrappers.values())


def test_official_cached_order():
    from baselines.jointtuner.adapter import cached_order

    assert cached_order(5) == [0, 1, 2, 3, 4]
    assert cached_order(13) == [0, 1, 10, 11, 12, 2, 3, 4, 5, 6, 7, 8, 9]


def test_units_one_per_combination(jt):
    from jtbench.benchmark import Benchmark

    combos = Benchmark.load().combinations()
    units = jt.units(combos)
    assert len(units) == len(combos) == 90
    assert {u.kind for u in units} == {"combination"}


def _fixed_batch_losses(setup, item, tcfg, variant, optimizer, steps: int) -> list[float]:
    from baselines.jointtuner.adapter import JointTuner

    losses = []
    for _ in range(steps):
        torch.manual_seed(3)  # the same noise, timestep, frame and offset every step
        random.seed(3)
        loss = JointTuner.loss(setup, item, tcfg, variant)
        setup.backward_step(loss, optimizer)
        losses.append(loss.item())
    return losses


def test_a_few_steps_reduce_both_losses(tiny_settings, tiny_training_data):
    """OFS on a real subject photo and AiT on the car-turn clip, both at 64 px, go down."""
    from baselines.jointtuner.adapter import Variant, inject_lora
    from jtbench.methods.t2v import training as T
    from jtbench.methods.t2v.inject import mark_trainable
    from jtbench.methods.t2v.latents import cache_latents

    tcfg = {"learning_rate": 2e-3, "weight_decay": 1e-4, "hflip_p": 0.0, "ait_weight": 10.0}
    variant = Variant("noise_frame", "Noise-Frame", "frame", True, True, True)
    items = T.load_items(tiny_training_data.subject_images[:1], "A backpack.", tiny_training_data.motion_clips,
                         "A train turning.", size=64, frames=4)
    setup = T.setup_training(tiny_settings, gradient_checkpointing=False)
    wrappers, _ = inject_lora(setup.components.unet, variant, 8, 0.0)
    optimizer = T.make_adamw(mark_trainable(wrappers), tcfg)
    image, clip = cache_latents(items, setup.components.vae, setup.components.latent_scale)
    assert (image.kind, clip.kind) == ("image", "video")
    ofs = _fixed_batch_losses(setup, image, tcfg, variant, optimizer, 3)
    ait = _fixed_batch_losses(setup, clip, tcfg, variant, optimizer, 3)
    assert ofs[-1] < ofs[0] and ait[-1] < ait[0], (ofs, ait)


def test_train_then_sample(jt, tiny_settings, tiny_training_data, tmp_path):
    from dataclasses import replace

    from jtbench.benchmark import Benchmark
    from jtbench.io.video import read_video
    from jtbench.methods.base import SampleRequest
    from jtbench.methods.t2v.inject import read_metadata

    overrides = {"steps": 2, "resolution": 64, "frames": 4, "sample_steps": 1, "train.checkpoint_every": 1}
    settings = replace(tiny_settings, overrides=overrides)
    combo = Benchmark.load().combinations(subject="backpack", motion="train_turning")[0]
    [unit] = jt.sampling_units(combo)
    ckpt = jt.train(unit, tiny_training_data, settings, tmp_path / "train")
    assert ckpt.path.name == "lora.safetensors" and ckpt.path.is_file()
    meta = read_metadata(ckpt.path)
    assert (meta["method"], meta["variant"], meta["step"], meta["unit"]) == ("jointtuner", "noise_frame", 2, unit.key)
    first_run = json.loads((tmp_path / "train" / "losses.json").read_text())
    assert len(first_run) == 2 and (tmp_path / "train" / "checkpoint-1" / "state.pt").is_file()
    assert jt.train(unit, tiny_training_data, settings, tmp_path / "train").metadata["step"] == 2  # done: reused
    # Asking for more steps resumes from the training state at step 1 (not from scratch).
    longer = replace(settings, overrides={**overrides, "steps": 3})
    ckpt = jt.train(unit, tiny_training_data, longer, tmp_path / "train")
    resumed = json.loads((tmp_path / "train" / "losses.json").read_text())
    assert ckpt.metadata["step"] == 3 and len(resumed) == 3 and resumed[0] == first_run[0]
    case = Benchmark.load().cases(subject="backpack", motion="train_turning", backgrounds="grass")[0]
    [a] = jt.sample([ckpt], [SampleRequest(case, 11)], settings, tmp_path / "a")
    clip = read_video(a)
    assert a.relative_to(tmp_path / "a").as_posix() == f"{case.case_id}/11.mp4"
    assert (clip.num_frames, clip.fps, clip.height, clip.width) == (16, 8.0, 64, 64)
    assert clip.frames.float().std() > 1  # decoded content, not a blank video


def test_gated_checkpoint_round_trip_is_bit_exact(tiny_t2v, tiny_t2v_path, tmp_path):
    from baselines.jointtuner.adapter import Variant, inject_lora
    from jtbench.methods.t2v.base_model import load_base_model
    from jtbench.methods.t2v.inject import load_adapters, save_adapters

    variant = Variant("noise_frame", "Noise-Frame", "frame", True, True, True)
    wrappers, _ = inject_lora(tiny_t2v.unet, variant, 32, 0.0)
    torch.manual_seed(1)
    for w in wrappers.values():
        torch.nn.init.normal_(w.lora_up.weight, std=0.2)
    save_adapters(tmp_path / "lora.safetensors", wrappers, {"method": "jointtuner", "step": 1})
    fresh = load_base_model(tiny_t2v_path)
    load_adapters(tmp_path / "lora.safetensors", inject_lora(fresh.unet, variant, 32, 0.0)[0])
    x, text = torch.randn(2, 4, 3, 8, 8), tiny_t2v.encode_prompt(["A clock.", ""])
    with torch.no_grad():
        assert torch.equal(fresh.unet(x, 99, encoder_hidden_states=text).sample,
                           tiny_t2v.unet(x, 99, encoder_hidden_states=text).sample)


def test_corrupt_reference_clip_is_named(jt, tiny_settings, tiny_training_data, tmp_path):
    from dataclasses import replace

    from jtbench.methods.base import TrainUnit

    bad = tmp_path / "00.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42 truncated")
    data = replace(tiny_training_data, motion_clips=(bad,))
    with pytest.raises(VideoError, match="00.mp4"):
        jt.train(TrainUnit("jointtuner", "combination", "backpack", "train_turning"), data, tiny_settings,
                 tmp_path / "w")


def _run_settings(precision: str, **overrides):
    from jtbench.methods.base import RunSettings

    base = {"resolution": 64, "frames": 4, "sample_steps": 1}
    return RunSettings(backbones="tiny", device="cpu", precision=precision, overrides={**base, **overrides})


def test_mixed_precision_resume_equals_an_uninterrupted_run_and_samples(jt, tiny_training_data, tmp_path):
    """The path every GPU run takes (fp16 autocast, GradScaler, fp16 VAE/text encoder and cached
    latents), on the CPU: a run stopped after 2 steps and resumed to 3 equals a 3-step run."""
    from safetensors.torch import load_file

    from jtbench.benchmark import Benchmark
    from jtbench.io.video import read_video
    from jtbench.methods.base import SampleRequest

    combo = Benchmark.load().combinations(subject="backpack", motion="train_turning")[0]
    [unit] = jt.sampling_units(combo)
    whole = jt.train(unit, tiny_training_data, _run_settings("fp16", steps=3), tmp_path / "whole")
    cut = _run_settings("fp16", steps=2, **{"train.checkpoint_every": 1})
    jt.train(unit, tiny_training_data, cut, tmp_path / "cut")
    state = torch.load(tmp_path / "cut" / "checkpoint-1" / "state.pt", weights_only=False)
    assert state["scaler"]["scale"] > 0  # the fp16 loss scaler is live on the CPU and saved
    assert torch.load(tmp_path / "cut" / "latents.pt", weights_only=False)[0].latents.dtype == torch.float16
    resumed = jt.train(unit, tiny_training_data, _run_settings("fp16", steps=3), tmp_path / "cut")
    losses = json.loads((tmp_path / "cut" / "losses.json").read_text())
    assert losses == json.loads((tmp_path / "whole" / "losses.json").read_text())
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses)
    a, b = load_file(str(whole.path)), load_file(str(resumed.path))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ups = [v for k, v in b.items() if k.endswith("lora_up.weight")]
    assert ups and all(v.abs().sum() > 0 for v in ups)  # zero-initialised: every step moved them
    case = Benchmark.load().cases(subject="backpack", motion="train_turning", backgrounds="grass")[0]
    [video] = jt.sample([resumed], [SampleRequest(case, 11)], _run_settings("fp16"), tmp_path / "v")
    assert read_video(video).frames.float().std() > 1  # an fp16 UNet decoded real content


def test_two_stage_row_trains_the_temporal_set_with_the_spatial_set_off(tiny_training_data, tmp_path, monkeypatch):
    """−Joint Training (paper Alg. 2): stage II never sees adapted spatial features."""
    from baselines.jointtuner.adapter import JointTuner
    from jtbench.benchmark import Benchmark
    from jtbench.methods.base import get_method
    from jtbench.methods.t2v.lora import LoRALinear

    seen, original = [], JointTuner.loss

    def spy(setup, item, tcfg, variant):
        spatial = [m for n, m in setup.components.unet.named_modules() if type(m).__name__ == "Transformer2DModel"]
        scales = {w.scale for t in spatial for w in t.modules() if isinstance(w, LoRALinear)}
        seen.append((item.kind, scales))
        return original(setup, item, tcfg, variant)

    monkeypatch.setattr(JointTuner, "loss", staticmethod(spy))
    method = get_method("jointtuner-no-joint-training")
    [unit] = method.sampling_units(Benchmark.load().combinations(subject="backpack", motion="train_turning")[0])
    method.train(unit, tiny_training_data, _run_settings("fp32", steps=4), tmp_path / "w")
    assert seen == [("image", {1.0}), ("image", {1.0}), ("video", {0.0}), ("video", {0.0})]
