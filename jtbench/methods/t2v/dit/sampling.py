"""Sampling a DiT base through its diffusers pipeline, as the official ``cli_demo.py`` does.

CogVideoX (``cli_demo.py`` + ``run_infer.sh``): ``CogVideoXDPMScheduler.from_config(...,
timestep_spacing="trailing")``, 50 steps, guidance 6 with ``use_dynamic_cfg=True``, no negative
prompt, ``torch.Generator().manual_seed(seed)``, 49 frames at 480×720 passed explicitly, VAE
slicing + tiling, export at 8 fps. The pipeline batches [uncond, cond], so JointTuner's batch-mean
gate is shared by both CFG halves, as upstream. Wan (port): ``WanPipeline`` with the UniPC flow
scheduler; its CFG halves are two forward passes, so each half gets its own gate value.
Frames are the pipeline's float output in [0, 1], rounded to uint8 as its PIL output is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from jtbench.io.video import write_video
from jtbench.methods.t2v.sampling import video_path


@dataclass(frozen=True)
class DiTSamplerConfig:
    steps: int = 50
    guidance_scale: float = 6.0
    use_dynamic_cfg: bool = True
    negative_prompt: str | None = None
    frames: int = 49
    height: int = 480
    width: int = 720
    fps: float = 8.0

    @classmethod
    def from_section(cls, section: Mapping[str, Any], spec: Any, backbones: str) -> DiTSamplerConfig:
        """A method's ``sample`` section; null frames/height/width/fps mean the base's own."""
        height, width = spec.size(backbones)
        frames = spec.check_frames(int(section.get("frames") or spec.frames), "sampled frame count")
        return cls(steps=int(section["steps"]), guidance_scale=float(section["guidance_scale"]),
                   use_dynamic_cfg=bool(section.get("use_dynamic_cfg", False)),
                   negative_prompt=section.get("negative_prompt"), frames=frames,
                   height=int(section.get("height") or height), width=int(section.get("width") or width),
                   fps=float(section.get("fps") or spec.fps))


def pipeline_kwargs(components: Any, cfg: DiTSamplerConfig) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"height": cfg.height, "width": cfg.width, "num_frames": cfg.frames,
                              "num_inference_steps": cfg.steps, "guidance_scale": cfg.guidance_scale,
                              "negative_prompt": cfg.negative_prompt, "output_type": "np",
                              "max_sequence_length": components.text_length}
    if components.family.name == "cogvideox":  # WanPipeline has no dynamic CFG
        kwargs["use_dynamic_cfg"] = cfg.use_dynamic_cfg
    return kwargs


@torch.no_grad()
def sample_video(pipe: Any, components: Any, prompt: str, seed: int, cfg: DiTSamplerConfig) -> np.ndarray:
    """One video as ``uint8 [F, H, W, 3]``."""
    out = pipe(prompt=prompt, generator=torch.Generator().manual_seed(seed), **pipeline_kwargs(components, cfg))
    frames = np.asarray(out.frames[0], dtype=np.float32)
    return (np.clip(frames, 0, 1) * 255).round().astype(np.uint8)


def sample_requests(components: Any, requests: Sequence, cfg: DiTSamplerConfig, out_dir: Path) -> list[Path]:
    """One mp4 per request, ``out_dir/<case_id>/<seed>.mp4``; a request's own frames/size win."""
    from diffusers.utils import logging as diffusers_logging

    components.vae.enable_slicing()
    components.vae.enable_tiling()
    pipe = components.pipeline(sampling=True)
    pipe.set_progress_bar_config(disable=True)
    written = []
    previous = diffusers_logging.get_verbosity()
    diffusers_logging.set_verbosity_error()
    try:
        for req in requests:
            frames = req.num_frames or cfg.frames
            components.spec.check_frames(frames, "requested frame count")
            this = DiTSamplerConfig(cfg.steps, cfg.guidance_scale, cfg.use_dynamic_cfg, cfg.negative_prompt,
                                    frames, req.height or cfg.height, req.width or cfg.width, req.fps or cfg.fps)
            video = sample_video(pipe, components, req.case.prompt, req.seed, this)
            written.append(write_video(video, video_path(out_dir, req.case.case_id, req.seed), fps=this.fps))
    finally:
        diffusers_logging.set_verbosity(previous)
    return written
