"""DreamVideo's sampler: DDIM with classifier-free guidance over text *and* appearance guide.

Differences from the shared sampler (:mod:`jtbench.methods.t2v.sampling`), all from VGen's
``inference_dreamvideo_entrance``: the initial noise gets an offset ``0.1·randn(1, 4, F, 1, 1)``
(drawn right after the main noise from the same seeded generator); the unconditional half uses
the empty prompt and a zero image embedding, the conditional half the subject's reference-image
embedding, each with its ``appearance_guide_strength``; DDIM 50 steps, η 0, guidance 9. Both
halves run in one batch of 2, as the shared sampler does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from baselines.dreamvideo.modules import AppearanceCondition
from baselines.dreamvideo.prompts import replace_phrase
from jtbench.io.video import write_video
from jtbench.methods.t2v.base_model import T2VComponents
from jtbench.methods.t2v.latents import decode_latents, to_uint8_frames
from jtbench.methods.t2v.sampling import video_path
from jtbench.methods.t2v.training import autocast


def initial_noise(seed: int, shape: tuple[int, ...], offset: float) -> torch.Tensor:
    """``randn`` (fp16 on the CPU, the official scripts' draw) plus VGen's per-channel-and-frame offset."""
    gen = torch.Generator("cpu").manual_seed(seed)
    noise = torch.randn(shape, generator=gen, dtype=torch.float16).float()
    if offset:
        b, c, f = shape[:3]
        noise = noise + offset * torch.randn((b, c, f, 1, 1), generator=gen, dtype=torch.float16).float()
    return noise


@dataclass
class DreamVideoSampler:
    components: T2VComponents
    condition: AppearanceCondition
    guide: torch.Tensor  # [1, c] CLIP image embedding of the subject's reference image
    cfg: dict[str, Any]
    subject_phrase: str
    token: str
    precision: str = "fp32"  # UNet calls under autocast (VGen samples in fp16); latents stay fp32
    last_latents: torch.Tensor | None = None  # of the last write(), for tests and debugging

    def prompt_for(self, prompt: str) -> str:
        return replace_phrase(prompt, self.subject_phrase, self.token)

    @torch.no_grad()
    def latents(self, prompt: str, seed: int, num_frames: int, height: int, width: int) -> torch.Tensor:
        comps, cfg = self.components, self.cfg
        unet, scheduler, device = comps.unet, comps.scheduler, comps.device
        f = comps.vae_scale_factor
        shape = (1, unet.config.in_channels, num_frames, height // f, width // f)
        latents = initial_noise(seed, shape, float(cfg["noise_offset"])).to(device) * scheduler.init_noise_sigma
        guidance = float(cfg["guidance_scale"])
        text = comps.encode_prompt([str(cfg.get("negative_prompt") or ""), self.prompt_for(prompt)]).float()
        guide = torch.cat([torch.zeros_like(self.guide), self.guide])
        strength = torch.tensor([float(cfg["appearance_strength_uncond"]), float(cfg["appearance_strength_cond"])])
        self.condition.set(guide, strength.to(device))
        scheduler.set_timesteps(int(cfg["steps"]), device=device)
        for t in scheduler.timesteps:
            model_in = scheduler.scale_model_input(torch.cat([latents] * 2), t)
            with autocast(device, self.precision):
                out = unet(model_in, t, encoder_hidden_states=text).sample
            pred_uncond, pred_text = out.float().chunk(2)
            pred = pred_uncond + guidance * (pred_text - pred_uncond)
            latents = scheduler.step(pred, t, latents, eta=float(cfg["eta"])).prev_sample
        self.condition.set(None)
        return latents

    def write(self, request: Any, out_dir: Path) -> Path:
        """One request → ``out_dir/<case_id>/<seed>.mp4`` (size from the request, else the config)."""
        height = request.height or int(self.cfg["height"])
        width = request.width or int(self.cfg["width"])
        latents = self.latents(request.case.prompt, request.seed, request.num_frames, height, width)
        self.last_latents = latents
        video = decode_latents(self.components.vae, latents, self.components.latent_scale)
        frames = to_uint8_frames(video[0])
        return write_video(frames, video_path(out_dir, request.case.case_id, request.seed), fps=request.fps)
