"""What differs between the DiT families: classes, latent layout, VAE scaling, sampler, objective.

A family is a registry entry (``FAMILIES``); :mod:`jtbench.methods.t2v.dit.components` and the
training/sampling code call its methods instead of branching on names.

- **CogVideoX** (official JointTuner code, brief §1): T5 + ``AutoencoderKLCogVideoX`` (latent ×
  ``scaling_factor``) + ``CogVideoXTransformer3DModel`` fed ``(B, F, C, H, W)``; v-prediction;
  trained from ``CogVideoXDPMScheduler.from_pretrained(subfolder="scheduler")`` and sampled with it
  re-configured ``timestep_spacing="trailing"`` (``cli_demo.py``).
- **Wan2.1** (jtbench port, no official code): UMT5 + ``AutoencoderKLWan`` (per-channel
  ``(z − mean) / std``) + ``WanTransformer3DModel`` fed ``(B, C, F, H, W)``; flow matching; sampled with
  ``UniPCMultistepScheduler`` (flow prediction, flow shift 3.0) as diffusers' converted pipelines.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from jtbench.registry import Registry


class DiTFamily:
    """Defaults shared by the families; subclasses name their classes and layouts."""

    name: ClassVar[str]
    #: ancestor class → keywords of the linears JointTuner wraps (the official ``_find_modules`` rule).
    jointtuner_rules: ClassVar[dict[str, tuple[str, ...]]]
    #: what the LoRA baseline wraps (PEFT ``target_modules`` suffixes, matched on the full path).
    peft_targets: ClassVar[tuple[str, ...]] = ("to_q", "to_k", "to_v", "to_out.0")
    #: True: the transformer wants ``(B, F, C, H, W)``; False: ``(B, C, F, H, W)``.
    frames_first: ClassVar[bool]
    #: the pipeline runs the CFG halves as one batch (the batch-mean gate is shared by both).
    cfg_in_one_batch: ClassVar[bool]

    # -- classes ------------------------------------------------------------------------------------
    def transformer_class(self) -> type:
        raise NotImplementedError

    def component_classes(self) -> dict[str, tuple[type, str]]:
        """``{component: (class, subfolder)}`` for :func:`~jtbench.methods.t2v.dit.components.load_dit_base`."""
        raise NotImplementedError

    def pipeline_class(self) -> type:
        raise NotImplementedError

    def load_scheduler(self, ref: str, **kwargs: Any) -> Any:
        raise NotImplementedError

    def sampling_scheduler(self, scheduler: Any) -> Any:
        """The scheduler sampling uses, built from the training scheduler's config."""
        raise NotImplementedError

    def text_length(self, transformer: Any, tokenizer: Any) -> int:
        raise NotImplementedError

    # -- latents ------------------------------------------------------------------------------------
    def encode(self, vae: Any, video: torch.Tensor) -> torch.Tensor:
        """Pixels ``[B, C, F, H, W]`` in [-1, 1] → scaled latents ``[B, C', f, h, w]`` (one posterior sample)."""
        raise NotImplementedError

    def to_model(self, latents: torch.Tensor) -> torch.Tensor:
        """VAE layout ``(B, C, F, H, W)`` → the transformer's layout."""
        return latents.permute(0, 2, 1, 3, 4) if self.frames_first else latents

    def forward(self, transformer: Any, x: torch.Tensor, text: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The transformer's prediction for ``x`` in the model layout."""
        raise NotImplementedError

    # -- training objective -------------------------------------------------------------------------
    def noised(self, scheduler: Any, x0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(noise, timesteps, model input)`` for latents in the model layout."""
        raise NotImplementedError

    def loss(self, scheduler: Any, pred: torch.Tensor, x0: torch.Tensor, noise: torch.Tensor,
             noisy: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class CogVideoXFamily(DiTFamily):
    name = "cogvideox"
    jointtuner_rules = {"CogVideoXBlock": ("attn1", "ff")}
    frames_first = True
    cfg_in_one_batch = True

    def transformer_class(self) -> type:
        from diffusers import CogVideoXTransformer3DModel

        return CogVideoXTransformer3DModel

    def component_classes(self) -> dict[str, tuple[type, str]]:
        from diffusers import AutoencoderKLCogVideoX
        from transformers import AutoTokenizer, T5EncoderModel

        return {"transformer": (self.transformer_class(), "transformer"), "vae": (AutoencoderKLCogVideoX, "vae"),
                "text_encoder": (T5EncoderModel, "text_encoder"), "tokenizer": (AutoTokenizer, "tokenizer")}

    def pipeline_class(self) -> type:
        from diffusers import CogVideoXPipeline

        return CogVideoXPipeline

    def load_scheduler(self, ref: str, **kwargs: Any) -> Any:
        # The trainer's choice: the DPM class from the hub's DDIM config (same __init__).
        from diffusers import CogVideoXDPMScheduler

        return CogVideoXDPMScheduler.from_pretrained(ref, subfolder="scheduler", **kwargs)

    def sampling_scheduler(self, scheduler: Any) -> Any:
        from diffusers import CogVideoXDPMScheduler

        return CogVideoXDPMScheduler.from_config(scheduler.config, timestep_spacing="trailing")

    def text_length(self, transformer: Any, tokenizer: Any) -> int:
        # The sin-cos position table has exactly this many text slots (226 on the real models).
        return int(transformer.config.max_text_seq_length)

    def forward(self, transformer: Any, x: torch.Tensor, text: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return transformer(hidden_states=x, encoder_hidden_states=text.to(x.dtype), timestep=t,
                           image_rotary_emb=self.rotary(transformer, x), return_dict=False)[0]

    @staticmethod
    def rotary(transformer: Any, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """3-D RoPE for the 5B layout (official ``prepare_rotary_positional_embeddings``: grid_type
        "slice", max_size = the latent grid); None for the sin-cos 2B."""
        cfg = transformer.config
        if not cfg.use_rotary_positional_embeddings:
            return None
        from diffusers.models.embeddings import get_3d_rotary_pos_embed

        frames, _, h, w = x.shape[1:]
        grid = (h // cfg.patch_size, w // cfg.patch_size)
        if cfg.patch_size_t is not None:
            frames = (frames + cfg.patch_size_t - 1) // cfg.patch_size_t
        return get_3d_rotary_pos_embed(embed_dim=cfg.attention_head_dim, crops_coords=None, grid_size=grid,
                                       temporal_size=frames, grid_type="slice", max_size=grid, device=x.device)

    def encode(self, vae: Any, video: torch.Tensor) -> torch.Tensor:
        posterior = vae.encode(video.to(device=vae.device, dtype=vae.dtype)).latent_dist
        return posterior.sample() * float(vae.config.scaling_factor)

    def noised(self, scheduler: Any, x0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Official order: timesteps ``randint(0, 1000)``, then ``noise = randn_like``, then ``add_noise``."""
        t = torch.randint(0, scheduler.config.num_train_timesteps, (x0.shape[0],), device=x0.device).long()
        noise = torch.randn_like(x0)
        return noise, t, scheduler.add_noise(x0, noise, t)

    def loss(self, scheduler: Any, pred: torch.Tensor, x0: torch.Tensor, noise: torch.Tensor,
             noisy: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The official ``compute_loss_fusion``: x̂0 = get_velocity(v̂, x_t, t); mean(w·(x̂0 − x0)²),
        w = 1/(1 − ᾱ_t), per sample then over the batch (algebraically the v-MSE)."""
        x0_pred = scheduler.get_velocity(pred, noisy, t)
        alphas = scheduler.alphas_cumprod.to(device=x0.device)[t]
        weights = 1 / (1 - alphas)
        while weights.ndim < x0_pred.ndim:
            weights = weights.unsqueeze(-1)
        per_sample = torch.mean((weights * (x0_pred - x0) ** 2).reshape(x0.shape[0], -1), dim=1)
        return per_sample.mean()


class WanFamily(DiTFamily):
    name = "wan"
    # attn1 = self-attention over video tokens, "ff" matches ffn.net.0.proj / ffn.net.2 (brief §5.1.8).
    jointtuner_rules = {"WanTransformerBlock": ("attn1", "ff")}
    frames_first = False
    cfg_in_one_batch = False  # WanPipeline runs cond and uncond as two forward passes

    def transformer_class(self) -> type:
        from diffusers import WanTransformer3DModel

        return WanTransformer3DModel

    def component_classes(self) -> dict[str, tuple[type, str]]:
        from diffusers import AutoencoderKLWan
        from transformers import AutoTokenizer, UMT5EncoderModel

        return {"transformer": (self.transformer_class(), "transformer"), "vae": (AutoencoderKLWan, "vae"),
                "text_encoder": (UMT5EncoderModel, "text_encoder"), "tokenizer": (AutoTokenizer, "tokenizer")}

    def pipeline_class(self) -> type:
        from diffusers import WanPipeline

        return WanPipeline

    def load_scheduler(self, ref: str, **kwargs: Any) -> Any:
        from diffusers import UniPCMultistepScheduler

        return UniPCMultistepScheduler.from_pretrained(ref, subfolder="scheduler", **kwargs)

    def sampling_scheduler(self, scheduler: Any) -> Any:
        return scheduler  # the hub's own UniPC flow-prediction config

    def text_length(self, transformer: Any, tokenizer: Any) -> int:
        # WanPipeline's max_sequence_length (embeddings zero-padded to it); a tiny tokenizer may cap it.
        return min(512, int(getattr(tokenizer, "model_max_length", 512) or 512))

    def forward(self, transformer: Any, x: torch.Tensor, text: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return transformer(hidden_states=x, timestep=t, encoder_hidden_states=text.to(x.dtype), return_dict=False)[0]

    def encode(self, vae: Any, video: torch.Tensor) -> torch.Tensor:
        z = vae.encode(video.to(device=vae.device, dtype=vae.dtype)).latent_dist.sample()
        mean = torch.tensor(vae.config.latents_mean, device=z.device, dtype=z.dtype).view(1, -1, 1, 1, 1)
        std = torch.tensor(vae.config.latents_std, device=z.device, dtype=z.dtype).view(1, -1, 1, 1, 1)
        return (z - mean) / std

    def noised(self, scheduler: Any, x0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Flow matching (port): σ = t/1000 with t uniform in [0, 1000), x_t = (1−σ)·x0 + σ·n."""
        t = torch.randint(0, 1000, (x0.shape[0],), device=x0.device).long()
        noise = torch.randn_like(x0)
        sigma = (t.float() / 1000).view(-1, *([1] * (x0.ndim - 1)))
        return noise, t, ((1 - sigma) * x0 + sigma * noise).to(x0.dtype)

    def loss(self, scheduler: Any, pred: torch.Tensor, x0: torch.Tensor, noise: torch.Tensor,
             noisy: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """MSE between the predicted velocity and the flow target ``n − x0`` (uniform weighting)."""
        return torch.mean((pred.float() - (noise - x0).float()) ** 2)


FAMILIES: Registry[DiTFamily] = Registry("DiT family")
FAMILIES.add("cogvideox", CogVideoXFamily())
FAMILIES.add("wan", WanFamily())


def family_of(spec: Any) -> DiTFamily:
    """The family of a :class:`~jtbench.methods.t2v.bases.BaseSpec`."""
    return FAMILIES.get(spec.family)
