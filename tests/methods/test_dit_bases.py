"""The DiT bases (CogVideoX-2B/5B, Wan2.1-1.3B): registry, loader, JointTuner's CogVideoX recipe,
the cogvideox-lora baseline, precision, resume, and a train → sample → score run of each family.

Tiny random models are saved as diffusers folders once per session (``ensure_tiny_dit``) and loaded
back through the real loader; parameter counts use the real-size configs on the meta device.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from jtbench.errors import InputError


@pytest.fixture(scope="module")
def tiny_dits(_isolated_cache) -> dict[str, Path]:
    from jtbench.methods.t2v.dit.tiny import ensure_tiny_dit

    torch.set_num_threads(2)
    return {name: ensure_tiny_dit(name) for name in ("cogvideox", "cogvideox-5b", "wan")}


def _settings(base: str = "cogvideox-2b", precision: str = "fp32", **overrides):
    from jtbench.methods.base import RunSettings

    return RunSettings(base_model=base, backbones="tiny", device="cpu", precision=precision,
                       overrides={"steps": 2, "frames": 9, "resolution": 64, "sample_steps": 2, **overrides})


@pytest.fixture(scope="module")
def unit():
    from jtbench.methods.base import TrainUnit

    return TrainUnit("jointtuner", "combination", "backpack", "train_turning")


# -- registry, frame rules, loader ------------------------------------------------------------------
def test_bases_are_registry_entries_with_their_frame_rules():
    from jtbench.methods.t2v.bases import BASES, WAN_PORT_LABEL

    assert {"zeroscope", "modelscope", "cogvideox-2b", "cogvideox-5b", "wan2.1-1.3b"} <= set(BASES.names())
    cog, wan = BASES.get("cogvideox-2b"), BASES.get("wan2.1-1.3b")
    assert (cog.frames, cog.height, cog.width, cog.fps, cog.hub_id) == (49, 480, 720, 8.0, "THUDM/CogVideoX-2b")
    assert cog.check_frames(49) == 49 and wan.check_frames(45) == 45
    with pytest.raises(InputError, match="8N\\+1"):
        cog.check_frames(45)
    with pytest.raises(InputError, match="4N\\+1"):
        wan.check_frames(48)
    assert wan.label == WAN_PORT_LABEL and cog.label is None and not BASES.get("zeroscope").is_dit


def test_tiny_folders_load_through_the_real_loader_in_each_layout(tiny_dits):
    from jtbench.methods.t2v.base_model import load_for_settings

    for base, family in (("cogvideox-2b", "cogvideox"), ("wan2.1-1.3b", "wan")):
        folder = tiny_dits[family]
        assert {"transformer", "vae", "text_encoder", "tokenizer", "scheduler"} <= {p.name for p in folder.iterdir()}
        c = load_for_settings(_settings(base, base_path=str(folder)))
        assert c.source == str(folder) and not any(p.requires_grad for p in c.transformer.parameters())
        text = c.encode_prompt("A bear plushie.")
        assert text.shape == (1, c.text_length, 32)
        image = c.encode_video(torch.zeros(1, 3, 64, 96))
        clip = c.encode_video(torch.zeros(49, 3, 64, 96))
        assert image.shape[2] == 1 and clip.shape[2] == 13  # images: one latent frame; 49 frames → 13
        model_in = c.family.to_model(clip)
        assert model_in.shape[1:3] == ((13, clip.shape[1]) if family == "cogvideox" else (clip.shape[1], 13))


def test_a_missing_component_names_the_subfolder(tiny_dits, tmp_path):
    import shutil

    from jtbench.errors import WeightsError
    from jtbench.methods.t2v.base_model import load_for_settings

    broken = tmp_path / "cog"
    shutil.copytree(tiny_dits["cogvideox"], broken)
    shutil.rmtree(broken / "vae")
    with pytest.raises(WeightsError, match="vae"):
        load_for_settings(_settings(base_path=str(broken)))


# -- JointTuner's official targets and counts ---------------------------------------------------------
@pytest.mark.parametrize(("method", "base", "total", "gates"), [
    ("jointtuner", "cogvideox-2b", 133_228_800, 518_400),
    ("jointtuner", "cogvideox-5b", 298_432_512, 1_161_216),
    ("jointtuner", "wan2.1-1.3b", 128_294_400, 499_200),
    ("jointtuner-no-lora-gating", "cogvideox-2b", 132_710_400, 0),
    ("cogvideox-lora", "cogvideox-2b", 58_982_400, 0),
])
def test_trainable_parameters_on_the_real_size_transformers(method, base, total, gates):
    from jtbench.methods.base import get_method

    counts = get_method(method).trainable_parameter_counts(base)
    assert sum(counts.values()) == total and counts.get("gate", 0) == gates


def test_six_targets_per_block_and_the_cogvideox_gate(tiny_dits):
    from baselines.jointtuner.adapter import Variant
    from baselines.jointtuner.dit import dit_config, inject_dit
    from jtbench.methods.t2v.base_model import load_for_settings
    from jtbench.methods.t2v.bases import base_spec
    from jtbench.methods.t2v.lora import CogVideoXGatedLoRALinear

    c = load_for_settings(_settings())
    cfg = dit_config(base_spec("cogvideox-2b"), {})
    wrappers = inject_dit(c.transformer, c.family, Variant.from_config(cfg), cfg["train"], 0.0)
    inner = sorted({name.split(".", 2)[2] for name in wrappers})
    assert inner == ["attn1.to_k", "attn1.to_out.0", "attn1.to_q", "attn1.to_v", "ff.net.0.proj", "ff.net.2"]
    assert len(wrappers) == 6 * c.transformer.config.num_layers
    w = next(iter(wrappers.values()))
    assert isinstance(w, CogVideoXGatedLoRALinear) and w.rank == min(128, w.base.in_features) and w.scale == 1.0
    x = torch.randn(2, 5, w.base.in_features)
    assert torch.equal(w(x), w.base(x))  # lora_up starts at zero
    with torch.no_grad():
        w.lora_up.weight.normal_()
    gate = torch.sigmoid(w.lora_gate(x)).mean(0).mean(0)
    expected = w.base(x) + w.lora_up(w.lora_down(x)) * gate
    torch.testing.assert_close(w(x), expected)
    w.scale = 0.0  # lora_alpha multiplies the gate on CogVideoX
    torch.testing.assert_close(w(x), w.base(x))


# -- the loss ---------------------------------------------------------------------------------------
def test_loss_is_the_official_formula_and_equals_v_mse_with_the_offset(tiny_dits):
    """``compute_loss_fusion`` transcribed on a tiny model, against jtbench's ``step_loss`` with the
    same seed, and against MSE(v̂ + ε′, v) (algebraically the same)."""
    from jtbench.methods.t2v.base_model import load_for_settings
    from jtbench.methods.t2v.dit.data import DiTItem
    from jtbench.methods.t2v.dit.training import DiTRun, step_loss

    c = load_for_settings(_settings())
    sched, tr = c.scheduler, c.transformer
    latents = torch.randn(1, 4, 3, 8, 12)  # [B, C, F, H, W] as cached
    text = torch.randn(1, 16, 32)
    run = DiTRun(c, {}, [], torch.device("cpu"), "fp32")
    torch.manual_seed(5)
    ours = step_loss(run, DiTItem("video", latents, text, "p", Path("x")), "frame")

    torch.manual_seed(5)
    x0 = latents.permute(0, 2, 1, 3, 4)
    t = torch.randint(0, sched.config.num_train_timesteps, (1,)).long()
    noise = torch.randn_like(x0)
    noisy = sched.add_noise(x0, noise, t)
    with torch.no_grad():
        pred = tr(hidden_states=noisy, encoder_hidden_states=text, timestep=t, return_dict=False)[0]
    offset = torch.randn(1, 1, 1, 8, 12)
    pred = pred + offset
    x0_pred = sched.get_velocity(pred, noisy, t)
    a = sched.alphas_cumprod[t]
    official = torch.mean(((1 / (1 - a)).view(-1, 1, 1, 1, 1) * (x0_pred - x0) ** 2).reshape(1, -1), dim=1).mean()
    v = a.sqrt().view(-1, 1, 1, 1, 1) * noise - (1 - a).sqrt().view(-1, 1, 1, 1, 1) * x0
    v_mse = torch.mean((pred - v) ** 2)
    torch.testing.assert_close(ours.detach(), official, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(official, v_mse, rtol=1e-4, atol=1e-5)
    torch.manual_seed(5)
    image = step_loss(run, DiTItem("image", latents[:, :, :1], text, "p", Path("x")), "frame")
    assert torch.isfinite(image)  # one latent frame, no offset


def test_official_fp16_policy_never_unscales_or_skips_and_fixed_does():
    from jtbench.methods.t2v.dit.training import OFFICIAL_FP16_SCALE, Stepper

    tcfg = {"learning_rate": 0.1, "weight_decay": 0.0, "betas": [0.9, 0.95], "eps": 1e-8, "max_grad_norm": 1.0}
    seen = {}
    for policy in ("official", "fixed"):
        p = torch.nn.Parameter(torch.ones(3))
        stepper = Stepper([p], {**tcfg, "fp16_scaler": policy}, torch.device("cpu"), "fp16")
        p.register_hook(lambda g, k=policy: seen.setdefault(k, g.norm().item()) and g)
        stepper.step((p * 2.0).sum())
        assert torch.all(p < 1)
        q = torch.nn.Parameter(torch.ones(3))
        stepper = Stepper([q], {**tcfg, "fp16_scaler": policy}, torch.device("cpu"), "fp16")
        stepper.step((q * float("inf")).sum())
        assert (torch.isnan(q).all() if policy == "official" else torch.equal(q, torch.ones(3)))
    assert math.isclose(seen["official"], 2.0 * math.sqrt(3) * OFFICIAL_FP16_SCALE, rel_tol=1e-6)


# -- training, resume, precision, sampling --------------------------------------------------------
@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_fp16_and_bf16_training_on_tiny_cogvideox(tiny_dits, tiny_training_data, unit, tmp_path, precision):
    from jtbench.methods.base import get_method

    ckpt = get_method("jointtuner").train(unit, tiny_training_data, _settings(precision=precision), tmp_path)
    losses = json.loads((tmp_path / "losses.json").read_text())
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
    assert ckpt.metadata["precision"] == precision and ckpt.metadata["base_model"] == "cogvideox-2b"
    assert ckpt.metadata["provenance"]["quirks"]["fp16_scaler"].startswith("official")
    with pytest.raises(InputError, match="bf16"):
        get_method("jointtuner").train(unit, tiny_training_data, _settings("cogvideox-5b", "fp16"), tmp_path / "5b")


def test_5b_trains_in_bf16_with_rope_and_its_own_latent_scale(tiny_dits, tiny_training_data, unit, tmp_path):
    from jtbench.benchmark import Benchmark
    from jtbench.io.video import read_video
    from jtbench.methods.base import SampleRequest, get_method
    from jtbench.methods.t2v.base_model import load_for_settings

    settings = _settings("cogvideox-5b", "bf16", steps=1)
    c = load_for_settings(settings)
    assert c.transformer.config.use_rotary_positional_embeddings and c.vae.config.scaling_factor == 0.7
    jt = get_method("jointtuner")
    ckpt = jt.train(unit, tiny_training_data, settings, tmp_path)
    assert ckpt.metadata["precision"] == "bf16" and math.isfinite(ckpt.metadata["final_loss"])
    case = Benchmark.load().cases(subject="backpack", motion="train_turning", backgrounds="grass")[0]
    [video] = jt.sample([ckpt], [SampleRequest(case, 0, **jt.sample_defaults(settings))], settings, tmp_path / "v")
    assert read_video(video).num_frames == 9


def test_resume_is_bit_identical_and_sampling_gives_49_frames(tiny_dits, tiny_training_data, unit, tmp_path):
    from safetensors.torch import load_file

    from jtbench.benchmark import Benchmark
    from jtbench.io.video import read_video
    from jtbench.methods.base import SampleRequest, get_method
    from jtbench.methods.t2v.inject import load_any, save_official_list

    jt = get_method("jointtuner")
    whole = jt.train(unit, tiny_training_data, _settings(steps=3), tmp_path / "whole")
    jt.train(unit, tiny_training_data, _settings(steps=2, **{"train.checkpoint_every": 1}), tmp_path / "cut")
    assert (tmp_path / "cut" / "checkpoint-1" / "state.pt").is_file()
    resumed = jt.train(unit, tiny_training_data, _settings(steps=3), tmp_path / "cut")
    losses = json.loads((tmp_path / "cut" / "losses.json").read_text())
    assert losses == json.loads((tmp_path / "whole" / "losses.json").read_text()) and len(losses) == 3
    a, b = load_file(str(whole.path)), load_file(str(resumed.path))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert any(k.endswith("lora_gate.weight") for k in a)
    settings = replace(_settings(steps=3), overrides={"steps": 3, "sample_steps": 2})
    assert jt.sample_defaults(settings) == {"num_frames": 49, "fps": 8.0, "height": 128, "width": 192}
    case = Benchmark.load().cases(subject="backpack", motion="train_turning", backgrounds="grass")[0]
    defaults = jt.sample_defaults(_settings(steps=3))  # 9 frames at 64 x 64: a short video (fast)
    [video] = jt.sample([resumed], [SampleRequest(case, 3, **defaults)], _settings(steps=3), tmp_path / "v")
    clip = read_video(video)
    assert (clip.num_frames, clip.height, clip.width, clip.fps) == (9, 64, 64, 8.0)
    assert clip.frames.float().std() > 0  # decoded content, not a constant
    official = tmp_path / "official.pt"  # the upstream list format (up, down, gate per linear) round-trips
    save_official_list(official, _wrappers_of(resumed))
    fresh = _wrappers_of(None)
    load_any(official, fresh)
    got = {f"{path}.{n}": p for path, w in fresh.items() for n, p in w.named_parameters() if not n.startswith("base.")}
    assert got.keys() == b.keys() and all(torch.equal(got[k], b[k]) for k in b)
    [again] = jt.sample([replace(resumed, path=official)], [SampleRequest(case, 3, **defaults)], _settings(steps=3),
                        tmp_path / "v2")
    assert read_video(again).num_frames == 9


def _wrappers_of(ckpt):
    """Fresh wrappers on the tiny transformer, holding a checkpoint's tensors when given one."""
    from baselines.jointtuner.adapter import Variant
    from baselines.jointtuner.dit import dit_config, inject_dit
    from jtbench.methods.t2v.base_model import load_for_settings
    from jtbench.methods.t2v.bases import base_spec
    from jtbench.methods.t2v.inject import load_adapters

    c = load_for_settings(_settings())
    cfg = dit_config(base_spec("cogvideox-2b"), {})
    wrappers = inject_dit(c.transformer, c.family, Variant.from_config(cfg), cfg["train"], 0.0)
    if ckpt is not None:
        load_adapters(ckpt.path, wrappers)
    return wrappers


def test_table3_rows_on_a_dit(tiny_dits, tiny_training_data, unit, tmp_path):
    from baselines.jointtuner.losses import offset_noise
    from jtbench.methods.base import get_method

    pixel = get_method("jointtuner-noise-pixel")
    assert pixel.resolved_config(_settings())["variant"] == "noise_pixel"
    assert offset_noise("pixel", torch.zeros(1, 13, 16, 60, 90)).shape == (1, 13, 16, 1, 1)  # per frame, channel
    ckpt = pixel.train(unit, tiny_training_data, _settings(steps=1), tmp_path / "pixel")
    assert ckpt.metadata["variant"] == "noise_pixel"
    for name in ("jointtuner-no-lora-union", "jointtuner-no-joint-training"):
        with pytest.raises(InputError, match="no spatial/temporal modules"):
            get_method(name).check_base("cogvideox-2b")
        get_method(name).check_base("zeroscope")  # still fine on a UNet


@pytest.mark.parametrize("method", ["motiondirector", "dreamvideo", "customttt"])
def test_unet_only_methods_refuse_a_dit_base(method):
    from jtbench.methods.base import get_method

    with pytest.raises(InputError, match="no official recipe on the DiT base"):
        get_method(method).check_base("cogvideox-2b")
    with pytest.raises(InputError, match="cogvideox-lora"):
        get_method("cogvideox-lora").check_base("zeroscope")


def test_unet_sample_defaults_stay_16_frames_at_8_fps():
    from jtbench.methods.base import RunSettings, get_method

    assert get_method("jointtuner").sample_defaults(RunSettings()) == {"num_frames": 16, "fps": 8.0}


# -- the benchmark run, each family -------------------------------------------------------------------
@pytest.mark.parametrize(("methods", "base", "precision"), [("jointtuner,cogvideox-lora", "cogvideox-2b", ["fp32"]),
                                                            ("jointtuner", "wan2.1-1.3b", [])])  # Wan: its bf16
def test_run_trains_samples_49_frames_and_scores_against_motions_49f(tiny_dits, demo_data_root, tmp_path,
                                                                     methods, base, precision):
    import pandas as pd
    from typer.testing import CliRunner

    from jtbench.cli.app import app
    from jtbench.io.video import read_video

    out = tmp_path / "run"
    args = ["run", "--methods", methods, "--base", base, "--backbones", "tiny", "--device", "cpu",
            *(["--precision", *precision] if precision else []), "--data", str(demo_data_root), "--out", str(out),
            "--combinations", "bear_plushie__person_playing_flute", "--backgrounds", "grass",
            "--metrics", "clip_t,subject_consistency,motion_fidelity", "--report", "md",
            "--set", "steps=1", "--set", "sample_steps=1", "--set", "resolution=64"]  # small frames: fast
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    df = pd.read_parquet(out / "results.parquet")
    assert sorted(df["method"]) == sorted(methods.split(",")) and set(df["base_model"]) == {base}
    assert set(df["reference_video"]) == {"motions_49f/person_playing_flute/00.mp4"}
    assert not df["errors"].fillna("").str.contains("truncated").any()
    assert all(read_video(out / v).num_frames == 49 for v in df["video"])
    report = (out / "report.md").read_text()
    assert f"on {base}" in report
    assert ("jtbench port — no official JointTuner-Wan code" in report) == base.startswith("wan")
    store = json.loads(next(out.rglob("lora.json")).read_text())  # a checkpoint's metadata sidecar
    assert store["precision"] == (precision[0] if precision else "bf16") and store["base_model"] == base


def test_report_groups_rows_by_base_and_footnotes_the_wan_port():
    import pandas as pd

    from jtbench.report.build import _by_base, _port_notes
    from jtbench.report.inputs import LABEL, ReportInputs, label_rows

    rows = pd.DataFrame({"method": ["jointtuner", "cogvideox-lora", "jointtuner", "jointtuner"],
                         "base_model": ["wan2.1-1.3b", "cogvideox-2b", "zeroscope", "cogvideox-2b"],
                         "case_id": list("abcd"), "video_sha256": list("abcd"),
                         "subject": ["backpack"] * 4, "motion": ["train_turning"] * 4})
    ordered = _by_base(label_rows(rows))
    assert list(ordered[LABEL]) == ["jointtuner (zeroscope)", "cogvideox-lora (cogvideox-2b)",
                                    "jointtuner (cogvideox-2b)", "jointtuner (wan2.1-1.3b)"]
    notes = _port_notes(ReportInputs(results=label_rows(rows), references=[]))
    assert notes == ["wan2.1-1.3b: JointTuner on wan2.1-1.3b is a jtbench port — no official JointTuner-Wan code; "
                     "its rows are not a reproduction."]


def test_dry_run_projects_dit_sampling_from_published_figures_only(tmp_path):
    from jtbench.execution.estimate import estimate
    from jtbench.execution.jobs import Job
    from jtbench.execution.store import ArtifactStore

    videos = {"case": "video/key"}
    jobs = [Job("sample", f"sample/jointtuner/{b}/0", "jointtuner", b, {"videos": videos, "seed": 0})
            for b in ("cogvideox-2b", "wan2.1-1.3b")]
    store = ArtifactStore(tmp_path / "run")
    cog = estimate(jobs[:1], store, gpu_results=tmp_path / "none", base="cogvideox-2b")[0]
    wan = estimate(jobs[1:], store, gpu_results=tmp_path / "none", base="wan2.1-1.3b")[0]
    assert cog.seconds_each == 90 and "CogVideoX-2B" in cog.source
    assert wan.seconds_each == 240 and "Wan2.1" in wan.source


def test_5b_rope_in_training_equals_the_pipelines_at_the_native_size():
    """5B uses 3-D RoPE: the trainer's ``grid_type="slice"`` table (``CogVideoXFamily.rotary``) equals
    the pipeline's crop-region table at the transformer's native size, for a clip and an image."""
    from diffusers import CogVideoXPipeline, CogVideoXTransformer3DModel

    from jtbench.methods.t2v.dit.families import CogVideoXFamily
    from jtbench.methods.t2v.dit.tiny import TINY_COGVIDEOX

    torch.manual_seed(0)
    rope = {"use_rotary_positional_embeddings": True, "num_attention_heads": 2, "attention_head_dim": 16}  # even axes
    tr = CogVideoXTransformer3DModel(**{**TINY_COGVIDEOX, **rope})
    pipe = CogVideoXPipeline(tokenizer=None, text_encoder=None, vae=None, transformer=tr, scheduler=None)
    for frames in (13, 1):
        x = torch.randn(1, frames, 4, 8, 12)  # (B, F, C, H, W): the native 8 x 12 latent grid
        ours = CogVideoXFamily.rotary(tr, x)
        theirs = pipe._prepare_rotary_positional_embeddings(64, 96, frames, torch.device("cpu"))
        assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))
        out = CogVideoXFamily().forward(tr, x, torch.randn(1, 16, 32), torch.tensor([500]))
        assert out.shape == x.shape
