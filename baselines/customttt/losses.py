"""CustomTTT's losses: plain ε-MSE for the two LoRAs, and our test-time objective.

The LoRA phases are ordinary diffusion training (CT-supp gives no other loss): ``‖ε_θ(x_t) − ε‖²``.

The test-time training (TTT) losses are **not given** in any source we could read (CT-supp §1–2
describes only the schedule: 30 steps at 1e-6 against reference latents from 5-step DDIM runs of
an appearance-guided and an appearance-and-motion-guided U-Net). The objective below is **ours**
(jtbench's design), chosen so that each term has a clear job and needs no extra model:

- references: ``z_app`` — the appearance-only model (spatial LoRA, temporal layers skipped, i.e.
  "without motion modules") sampling the frames as independent images; ``z_mot`` — the combined
  model (both LoRAs, before TTT) sampling the video. Both with 5 DDIM steps from the request's
  initial noise, the prompt and CFG.
- one timestep ``t`` ~ U[0, 1000) and one noise ``ε`` (video-shaped) per step;
- motion-preserving term ``L_mot = ‖ε_θ(√ᾱ_t z_mot + √(1−ᾱ_t) ε, t, c) − ε‖²`` — the full
  16-frame forward of the model under training, denoising the joint reference;
- appearance-preserving term ``L_app = ‖ε_θ(√ᾱ_t z_app[k] + √(1−ᾱ_t) ε[k], t, c) − ε[k]‖²`` — a
  random frame k of the appearance reference, fed as a one-frame latent with the temporal layers
  *running* (as JointTuner's OFS loss), so the temporal LoRA's value/ff paths are also asked to
  keep the subject's look;
- ``L_TTT = λ_app · L_app + λ_mot · L_mot`` with λ_app = λ_mot = 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

#: ``model(noisy_latents [B, 4, F, h, w], timesteps [B], text) -> ε prediction`` (same shape).
EpsModel = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def diffusion_loss(pred: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Plain ε-prediction MSE, mean over all elements (the LoRA phases)."""
    return F.mse_loss(pred.float(), noise.float())


@dataclass(frozen=True)
class TTTDraw:
    """The random choices of one TTT step (drawn once, so the loss is a pure function of them)."""

    t: torch.Tensor  # [1] long
    noise: torch.Tensor  # [1, 4, F, h, w]
    frame: int  # k, the appearance reference frame

    @classmethod
    def sample(cls, shape: tuple[int, ...], num_train_timesteps: int, generator: torch.Generator,
               device: torch.device | str = "cpu") -> TTTDraw:
        t = torch.randint(0, num_train_timesteps, (1,), generator=generator)
        noise = torch.randn(shape, generator=generator)
        k = int(torch.randint(0, shape[2], (1,), generator=generator))
        return cls(t.to(device), noise.to(device), k)


@dataclass(frozen=True)
class TTTLoss:
    total: torch.Tensor
    appearance: torch.Tensor
    motion: torch.Tensor


def ttt_loss(model: EpsModel, add_noise: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
             z_app: torch.Tensor, z_mot: torch.Tensor, text: torch.Tensor, draw: TTTDraw,
             w_app: float = 1.0, w_mot: float = 1.0) -> TTTLoss:
    """Our TTT objective (module docstring); ``add_noise`` is the scheduler's ``add_noise``."""
    noisy_video = add_noise(z_mot, draw.noise, draw.t)
    l_mot = diffusion_loss(model(noisy_video, draw.t, text), draw.noise)
    k = draw.frame
    frame_noise = draw.noise[:, :, k : k + 1]
    noisy_frame = add_noise(z_app[:, :, k : k + 1], frame_noise, draw.t)
    l_app = diffusion_loss(model(noisy_frame, draw.t, text), frame_noise)
    return TTTLoss(w_app * l_app + w_mot * l_mot, l_app.detach(), l_mot.detach())
