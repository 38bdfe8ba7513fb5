"""The base text-to-video models a run can name with ``--base``, as registry entries.

Each entry is a :class:`BaseSpec`: its family (``unet`` for the 2023 UNet3D bases, ``cogvideox``
and ``wan`` for the DiTs), Hub id, native clip (frames × height × width at fps), the frame rule
its VAE needs, the recipe precision, the real-size transformer config (parameter counts on the
meta device) and, for ports without official code, the label every output carries. Code asks
the spec, never the name (no ``if base == ...`` chains).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jtbench.errors import InputError
from jtbench.registry import Registry

#: The label of every Wan result: the official JointTuner code on Wan was never released.
WAN_PORT_LABEL = "jtbench port — no official JointTuner-Wan code"


@dataclass(frozen=True)
class BaseSpec:
    """One ``--base`` choice and the facts that depend on it."""

    name: str
    family: str  # unet | cogvideox | wan (a key of the loader families)
    hub_id: str
    frames: int  # native clip length (training and sampling)
    height: int
    width: int
    fps: float  # export rate of sampled videos
    frame_step: int = 1  # valid frame counts are frame_step·N + 1 (1: any count)
    precision: str | None = None  # the official recipe's precision (None: the run's --precision)
    transformer_config: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    # (height, width) of --backbones tiny runs; DiTs ≥ 128 px per side (Mot-Smth's AMT-S and Dyn-Deg's
    # RAFT need it), at the base's aspect ratio.
    tiny_size: tuple[int, int] = (64, 64)
    tiny_model: str | None = None  # the tiny random folder of --backbones tiny (dit.tiny.BUILDERS key)
    label: str | None = None  # printed beside every result of a port

    @property
    def is_dit(self) -> bool:
        return self.family != "unet"

    def size(self, backbones: str = "paper") -> tuple[int, int]:
        """(height, width) sampled by default: native, or the small size of the tiny backbones."""
        return self.tiny_size if backbones == "tiny" else (self.height, self.width)

    def check_frames(self, frames: int, what: str = "frame count") -> int:
        """``frames`` when the VAE accepts it (8N+1 for CogVideoX, 4N+1 for Wan), else a clear error."""
        if frames < 1 or (frames - 1) % self.frame_step:
            raise InputError(
                f"{self.name} needs {self.frame_step}N+1 frames, the {what} is {frames}",
                fix=f"use e.g. {self.frames} (the official length) or another {self.frame_step}N+1 count",
            )
        return frames


#: diffusers' ``CogVideoXTransformer3DModel()`` defaults are the 2B layout (brief §3.1).
COGVIDEOX_2B: dict[str, Any] = {
    "num_attention_heads": 30, "attention_head_dim": 64, "in_channels": 16, "out_channels": 16,
    "num_layers": 30, "text_embed_dim": 4096, "time_embed_dim": 512, "sample_width": 90, "sample_height": 60,
    "sample_frames": 49, "patch_size": 2, "max_text_seq_length": 226, "use_rotary_positional_embeddings": False,
}
#: 5B: 48 heads, 42 layers, 3-D RoPE (diffusers scripts/convert_cogvideox_to_diffusers.py).
COGVIDEOX_5B: dict[str, Any] = {**COGVIDEOX_2B, "num_attention_heads": 48, "num_layers": 42,
                                "use_rotary_positional_embeddings": True}
#: Wan2.1-T2V-1.3B (diffusers scripts/convert_wan_to_diffusers.py).
WAN_1_3B: dict[str, Any] = {
    "patch_size": (1, 2, 2), "num_attention_heads": 12, "attention_head_dim": 128, "in_channels": 16,
    "out_channels": 16, "text_dim": 4096, "freq_dim": 256, "ffn_dim": 8960, "num_layers": 30,
    "cross_attn_norm": True, "qk_norm": "rms_norm_across_heads", "eps": 1e-6,
}

BASES: Registry[BaseSpec] = Registry("base model")
_SPECS = (
    BaseSpec("zeroscope", "unet", "cerspense/zeroscope_v2_576w", 16, 384, 384, 8.0, tiny_size=(64, 64)),
    BaseSpec("modelscope", "unet", "damo-vilab/text-to-video-ms-1.7b", 16, 384, 384, 8.0, tiny_size=(64, 64)),
    BaseSpec("cogvideox-2b", "cogvideox", "THUDM/CogVideoX-2b", 49, 480, 720, 8.0, frame_step=8,
             precision="fp16", transformer_config=COGVIDEOX_2B, tiny_size=(128, 192), tiny_model="cogvideox"),
    BaseSpec("cogvideox-5b", "cogvideox", "THUDM/CogVideoX-5b", 49, 480, 720, 8.0, frame_step=8,
             precision="bf16", transformer_config=COGVIDEOX_5B, tiny_size=(128, 192), tiny_model="cogvideox-5b"),
    BaseSpec("wan2.1-1.3b", "wan", "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", 49, 480, 832, 8.0, frame_step=4,
             precision="bf16", transformer_config=WAN_1_3B, tiny_size=(128, 224), tiny_model="wan",
             label=WAN_PORT_LABEL),
)
for _spec in _SPECS:
    BASES.add(_spec.name, _spec)
#: Display order of bases (reports group rows by it): the UNets, then the DiTs.
BASE_ORDER: tuple[str, ...] = tuple(spec.name for spec in _SPECS)


def base_spec(name: str) -> BaseSpec:
    """The registered spec of ``name`` (did-you-mean error otherwise)."""
    return BASES.get(name)


def dit_base_names() -> list[str]:
    return [n for n in BASES.names() if BASES.get(n).is_dit]


def build_meta_transformer(name: str) -> Any:
    """The real-size DiT transformer of a base on the meta device (no memory): for parameter counts."""
    import torch

    spec = base_spec(name)
    if not spec.is_dit:
        raise InputError(f"{name} is a UNet base, it has no DiT transformer", fix="use build_meta_unet()")
    from jtbench.methods.t2v.dit.families import family_of

    with torch.device("meta"):
        return family_of(spec).transformer_class()(**spec.transformer_config)
