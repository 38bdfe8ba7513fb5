"""A DiT base model loaded component by component (text encoder + tokenizer, VAE, transformer, scheduler).

The same seam as :func:`jtbench.methods.t2v.base_model.load_base_model`: a ``--base`` name, a Hub
id or a local diffusers folder, ``local_files_only`` when offline, and a :class:`WeightsError`
naming the missing subfolder. The official trainer loads the same five parts separately
(``jointtuner_trainer.py`` ``load_components``) and passes no ``torch_dtype`` (fp32 weights).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from jtbench.errors import WeightsError
from jtbench.methods.t2v.bases import BaseSpec
from jtbench.methods.t2v.dit.families import DiTFamily, family_of
from jtbench.methods.t2v.parts import freeze_parts, move_parts


@dataclass
class DiTComponents:
    """The parts of a DiT text-to-video model, frozen, plus its spec and family."""

    spec: BaseSpec
    family: DiTFamily
    transformer: Any
    vae: Any
    text_encoder: Any
    tokenizer: Any
    scheduler: Any
    source: str

    @property
    def device(self) -> torch.device:
        return next(self.transformer.parameters()).device

    @property
    def text_length(self) -> int:
        return self.family.text_length(self.transformer, self.tokenizer)

    def freeze(self) -> DiTComponents:
        freeze_parts(self.transformer, self.vae, self.text_encoder)
        return self

    def to(self, device: str | torch.device, *, transformer_dtype: torch.dtype | None = None,
           frozen_dtype: torch.dtype | None = None) -> DiTComponents:
        """Move the parts; the transformer and the frozen encoders may get different dtypes."""
        move_parts(device, ((self.transformer, transformer_dtype), (self.vae, frozen_dtype),
                            (self.text_encoder, frozen_dtype)))
        return self

    def pipeline(self, *, sampling: bool = False) -> Any:
        """The diffusers pipeline over these very modules (injected wrappers included)."""
        scheduler = self.family.sampling_scheduler(self.scheduler) if sampling else self.scheduler
        return self.family.pipeline_class()(tokenizer=self.tokenizer, text_encoder=self.text_encoder, vae=self.vae,
                                            transformer=self.transformer, scheduler=scheduler)

    @torch.no_grad()
    def encode_prompt(self, prompt: str) -> torch.Tensor:
        """``[1, L, D]`` T5/UMT5 states padded/truncated to ``text_length`` tokens, exactly as the
        pipeline (and the official trainer's ``encode_text``) compute them."""
        pipe = self.pipeline()
        device = next(self.text_encoder.parameters()).device
        return pipe._get_t5_prompt_embeds(prompt, max_sequence_length=self.text_length, device=device,
                                          dtype=self.text_encoder.dtype)

    @torch.no_grad()
    def encode_video(self, pixels: torch.Tensor) -> torch.Tensor:
        """``[F, 3, H, W]`` in [-1, 1] → latents in the VAE layout ``[1, C, f, h, w]`` (an image: f = 1)."""
        return self.family.encode(self.vae, pixels.permute(1, 0, 2, 3)[None])


def load_dit_base(spec: BaseSpec, ref: str, *, offline: bool = True) -> DiTComponents:
    """Every component of ``ref`` (a folder or Hub id) for the family of ``spec``; offline never
    touches the network."""
    family = family_of(spec)
    common = {"local_files_only": offline}
    loaded: dict[str, Any] = {}
    for key, (cls, sub) in {**family.component_classes(), "scheduler": (None, "scheduler")}.items():
        try:
            if cls is None:
                loaded[key] = family.load_scheduler(ref, **common)
            else:
                loaded[key] = cls.from_pretrained(ref, subfolder=sub, **common)
        except (OSError, ValueError) as exc:
            how = "it is not in the local Hugging Face cache" if offline else f"loading failed: {exc}"
            raise WeightsError(
                f"cannot load the {sub} of base model {ref!r} ({spec.name}): {how}",
                file=Path(ref) / sub if Path(ref).is_dir() else None,
                fix=(f"run `huggingface-cli download {ref}` on a machine with network access (or drop --offline), "
                     "or pass a local diffusers folder"),
            ) from exc
    return DiTComponents(spec=spec, family=family, source=ref, **loaded).freeze()
