"""CustomTTT's per-prompt test-time training and sampling.

For each request (one prompt, one seed), starting from the trained LoRAs every time:
1. initial noise as the official JT/MD scripts draw it (``manual_seed(seed)``, fp16 ``randn`` on
   the CPU) — shared by the references and the final video;
2. reference latents with ``ttt.reference_steps`` (5) DDIM steps and CFG: ``z_app`` from the
   appearance model (temporal layers skipped, the frames sampled as independent images, so the
   temporal LoRA plays no part) and ``z_mot`` from the combined model before TTT;
3. ``ttt.steps`` (30) Lion steps at 1e-6 on both LoRAs with our objective (``losses.py``);
4. DDIM 25 with CFG 9 from the same initial noise → mp4.

Cost per prompt (our count of UNet calls, CFG halves batched): 5 + 5 reference steps, 30 × (one
16-frame and one 1-frame forward + backward), then 25 sampling steps — about 3–4× the UNet
work of plain 25-step sampling, and it is repeated for every prompt and seed (CT-supp reports
3 min of TTT on an A6000). The trained LoRAs are restored before the next request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from baselines.customttt.losses import TTTDraw, ttt_loss
from baselines.customttt.optim import make_lion
from jtbench.io.video import write_video
from jtbench.methods.t2v.base_model import T2VComponents
from jtbench.methods.t2v.latents import decode_latents, to_uint8_frames
from jtbench.methods.t2v.sampling import initial_latents, video_path
from jtbench.methods.t2v.temporal_skip import disable_one_frame_temporal_skip, enable_one_frame_temporal_skip
from jtbench.methods.t2v.training import autocast, grad_scaler


@torch.no_grad()
def ddim(components: T2VComponents, latents: torch.Tensor, cond: torch.Tensor, uncond: torch.Tensor, steps: int,
         guidance: float, precision: str = "fp32") -> torch.Tensor:
    """DDIM (η 0) with CFG, both halves in one batch; ``latents`` already scaled by ``init_noise_sigma``.
    UNet calls run under autocast for fp16/bf16 (CT-supp: fp16); latents stay fp32."""
    unet, scheduler = components.unet, components.scheduler
    b = latents.shape[0]
    text = torch.cat([uncond.expand(b, -1, -1), cond.expand(b, -1, -1)])
    scheduler.set_timesteps(steps, device=latents.device)
    for t in scheduler.timesteps:
        model_in = scheduler.scale_model_input(torch.cat([latents] * 2), t)
        with autocast(latents.device, precision):
            out = unet(model_in, t, encoder_hidden_states=text).sample
        pred_uncond, pred_text = out.float().chunk(2)
        latents = scheduler.step(pred_uncond + guidance * (pred_text - pred_uncond), t, latents, eta=0.0).prev_sample
    return latents


@dataclass
class CustomTTTSampler:
    components: T2VComponents
    wrappers: dict[str, nn.Module]
    cfg: dict[str, Any]
    precision: str = "fp32"
    snapshot: dict[str, torch.Tensor] = field(default_factory=dict)
    last_ttt_losses: list[float] = field(default_factory=list)
    last_latents: torch.Tensor | None = None  # of the last write(), for tests and debugging

    def __post_init__(self) -> None:
        from jtbench.methods.t2v.inject import adapter_parameters

        self.params = adapter_parameters(self.wrappers)
        self.snapshot = {k: p.detach().clone() for k, p in self.params.items()}

    def restore(self) -> None:
        """Back to the trained LoRAs (TTT is per prompt)."""
        with torch.no_grad():
            for k, p in self.params.items():
                p.copy_(self.snapshot[k])

    def references(self, init: torch.Tensor, cond: torch.Tensor, uncond: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(z_app, z_mot), each ``[1, 4, F, h, w]``."""
        ttt, guidance = self.cfg["ttt"], float(self.cfg["sampling"]["guidance_scale"])
        steps = int(ttt["reference_steps"])
        unet = self.components.unet
        frames = init[0].permute(1, 0, 2, 3)[:, :, None]  # [F, 4, 1, h, w]: frames as independent images
        enable_one_frame_temporal_skip(unet)
        try:
            z_app = ddim(self.components, frames, cond, uncond, steps, guidance, self.precision)
        finally:
            disable_one_frame_temporal_skip(unet)
        z_app = z_app[:, :, 0].permute(1, 0, 2, 3)[None]
        z_mot = ddim(self.components, init, cond, uncond, steps, guidance, self.precision)
        return z_app, z_mot

    def test_time_train(self, z_app: torch.Tensor, z_mot: torch.Tensor, cond: torch.Tensor, seed: int) -> list[float]:
        ttt = self.cfg["ttt"]
        comps = self.components
        params = list(self.params.values())
        for p in params:
            p.requires_grad_(True)
        opt = make_lion(params, float(ttt["learning_rate"]), self.cfg)
        gen = torch.Generator("cpu").manual_seed(seed)
        device = comps.device
        scaler = grad_scaler(device, self.precision)

        def model(x: torch.Tensor, t: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
            with autocast(device, self.precision):
                return comps.unet(x, t.expand(x.shape[0]), encoder_hidden_states=text).sample

        losses = []
        try:
            for _ in range(int(ttt["steps"])):
                draw = TTTDraw.sample(tuple(z_mot.shape), comps.scheduler.config.num_train_timesteps, gen, device)
                loss = ttt_loss(model, comps.scheduler.add_noise, z_app, z_mot, cond, draw,
                                float(ttt["appearance_weight"]), float(ttt["motion_weight"]))
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss.total).backward()
                scaler.step(opt)
                scaler.update()
                losses.append(float(loss.total.detach()))
        finally:
            for p in params:
                p.requires_grad_(False)
        return losses

    def latents(self, prompt: str, seed: int, num_frames: int, height: int, width: int) -> torch.Tensor:
        comps, scfg = self.components, self.cfg["sampling"]
        f = comps.vae_scale_factor
        shape = (1, comps.unet.config.in_channels, num_frames, height // f, width // f)
        init = initial_latents(seed, shape).float().to(comps.device) * comps.scheduler.init_noise_sigma
        cond = comps.encode_prompt([prompt]).float()
        uncond = comps.encode_prompt([str(scfg.get("negative_prompt") or "")]).float()
        self.restore()
        z_app, z_mot = self.references(init, cond, uncond)
        self.last_ttt_losses = self.test_time_train(z_app, z_mot, cond, seed)
        return ddim(comps, init, cond, uncond, int(scfg["steps"]), float(scfg["guidance_scale"]), self.precision)

    def write(self, request: Any, out_dir: Path) -> Path:
        height = request.height or int(self.cfg["sampling"]["height"])
        width = request.width or int(self.cfg["sampling"]["width"])
        latents = self.latents(request.case.prompt, request.seed, request.num_frames, height, width)
        self.last_latents = latents
        video = decode_latents(self.components.vae, latents, self.components.latent_scale)
        return write_video(to_uint8_frames(video[0]), video_path(out_dir, request.case.case_id, request.seed),
                           fps=request.fps)
