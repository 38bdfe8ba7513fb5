"""Our own DDIM sampling loop with classifier-free guidance, one seed per video, mp4 at 8 FPS.

Why not diffusers' ``TextToVideoSDPipeline``: it is deprecated (no fixes after 0.33.1), its
output format changed across versions (a list of uint8 frames in 0.18, float arrays in 0.42),
and the 30-line loop below makes every choice that matters for reproducing the official
videos explicit and tested:

- Initial noise as the official scripts draw it: ``torch.manual_seed(seed)`` then
  ``torch.randn(shape, dtype=float16)`` on the CPU, whatever the compute precision, so a seed
  gives the same starting latent as ``infer.py``.
- Classifier-free guidance with the unconditional and conditional halves in **one batch of 2**
  (as the pipeline does): JointTuner's gate averages over the batch, so both halves share one
  gate per layer; running them separately would change the videos.
- No negative prompt means the empty string "" for the unconditional half (pipeline default).
- DDIM (η = 0) from the base model's scheduler config, ``steps`` inference steps.
- Decoding as diffusers 0.18 (see :mod:`jtbench.methods.t2v.latents`), written with
  :func:`jtbench.io.video.write_video` as ``out_dir/<case_id>/<seed>.mp4``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from jtbench.io.video import write_video
from jtbench.methods.t2v.base_model import T2VComponents
from jtbench.methods.t2v.latents import decode_latents, to_uint8_frames


@dataclass(frozen=True)
class SamplerConfig:
    steps: int = 30
    guidance_scale: float = 12.0
    negative_prompt: str | None = None
    height: int = 384
    width: int = 384
    num_frames: int = 16
    fps: float = 8.0
    noise_dtype: torch.dtype = torch.float16  # the official scripts draw fp16 noise on the CPU

    @classmethod
    def from_section(cls, section: Mapping) -> SamplerConfig:
        """From a method config's ``sample`` section (keys steps, guidance_scale, negative_prompt,
        height, width, frames, fps)."""
        return cls(steps=int(section["steps"]), guidance_scale=float(section["guidance_scale"]),
                   negative_prompt=section["negative_prompt"], height=int(section["height"]),
                   width=int(section["width"]), num_frames=int(section["frames"]), fps=float(section["fps"]))


def initial_latents(seed: int, shape: tuple[int, ...], noise_dtype: torch.dtype = torch.float16) -> torch.Tensor:
    torch.manual_seed(seed)
    return torch.randn(shape, dtype=noise_dtype)


@torch.no_grad()
def sample_latents(components: T2VComponents, prompt: str, seed: int, cfg: SamplerConfig,
                   dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """One video's final latents ``[1, 4, F, h, w]``."""
    unet, scheduler = components.unet, components.scheduler
    device = components.device
    factor = components.vae_scale_factor
    shape = (1, unet.config.in_channels, cfg.num_frames, cfg.height // factor, cfg.width // factor)
    latents = initial_latents(seed, shape, cfg.noise_dtype).to(device=device, dtype=dtype)
    latents = latents * scheduler.init_noise_sigma
    use_cfg = cfg.guidance_scale > 1.0
    text = components.encode_prompt([prompt]).to(dtype)
    if use_cfg:
        uncond = components.encode_prompt([cfg.negative_prompt or ""]).to(dtype)
        text = torch.cat([uncond, text])
    scheduler.set_timesteps(cfg.steps, device=device)
    for t in scheduler.timesteps:
        model_in = torch.cat([latents] * 2) if use_cfg else latents
        model_in = scheduler.scale_model_input(model_in, t)
        pred = unet(model_in, t, encoder_hidden_states=text).sample
        if use_cfg:
            pred_uncond, pred_text = pred.chunk(2)
            pred = pred_uncond + cfg.guidance_scale * (pred_text - pred_uncond)
        latents = scheduler.step(pred, t, latents, eta=0.0).prev_sample
    return latents


def sample_video(components: T2VComponents, prompt: str, seed: int, cfg: SamplerConfig,
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """One video as ``uint8 [F, H, W, 3]``."""
    latents = sample_latents(components, prompt, seed, cfg, dtype)
    video = decode_latents(components.vae, latents, components.latent_scale)
    return to_uint8_frames(video[0])


def video_path(out_dir: Path, case_id: str, seed: int) -> Path:
    """The naming rule of SPEC §6 for several seeds: ``<case_id>/<seed>.mp4``."""
    return Path(out_dir) / case_id / f"{seed}.mp4"


def sample_requests(components: T2VComponents, requests: Sequence, cfg: SamplerConfig, out_dir: Path,
                    dtype: torch.dtype = torch.float32) -> list[Path]:
    """Write one mp4 per :class:`~jtbench.methods.base.SampleRequest`; size/frames from the request
    when it sets them."""
    written = []
    for req in requests:
        this = replace(cfg, height=req.height or cfg.height, width=req.width or cfg.width,
                       num_frames=req.num_frames, fps=req.fps)
        frames = sample_video(components, req.case.prompt, req.seed, this, dtype)
        written.append(write_video(frames, video_path(out_dir, req.case.case_id, req.seed), fps=this.fps))
    return written
