"""DreamVideo's trainable parts on the diffusers UNet3D: adapters, their injection, textual inversion.

VGen's ``Adapter`` (``tools/modules/unet/util.py``): ``down`` Linear(d, d/2) → GELU → ``up``
Linear(d/2, d) with ``up`` weight and bias zero-initialised, an optional ``condition_linear``
Linear(c, d) that adds ``λ_ag · condition_linear(c)`` to the input, and a residual:
``adapter(x) = x + up(gelu(down(x + λ_ag·W_c c)))``. In VGen's "parallel" position the block
computes ``sublayer(norm(x)) + adapter(x)`` — the adapter takes the place of the residual and
sees the un-normalised stream. Diffusers' ``BasicTransformerBlock`` has no hook for that, so we
override ``forward`` on the block instances (layer-norm blocks only, which is all the UNet3D has)
and keep the adapters as ``block.dreamvideo_adapters[<sublayer>]`` so their parameter names
contain "adapter" (VGen's trainable-parameter rule).

- Identity adapter: parallel to ``attn2`` (the text cross-attention) of every block inside a
  ``Transformer2DModel``; no condition.
- Motion adapter: parallel to ``attn1``, ``attn2`` (the second temporal self-attention) and ``ff``
  of every block inside a ``TransformerTemporalModel`` (``transformer_in`` included), each with a
  ``condition_linear`` fed the CLIP image embedding of the appearance guide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from jtbench.errors import InputError

IDENTITY_SUBLAYERS: tuple[str, ...] = ("attn2",)
MOTION_SUBLAYERS: tuple[str, ...] = ("attn1", "attn2", "ff")
ADAPTERS_ATTR = "dreamvideo_adapters"
_PLAIN = "_dreamvideo_plain_forward"


@dataclass
class AppearanceCondition:
    """The image condition every motion adapter reads during one UNet call.

    ``embedding`` is ``[B, c]`` (B = the UNet's batch, e.g. 2 with classifier-free guidance),
    ``strength`` the ``λ_ag`` per batch row. It is a shared mutable holder because diffusers'
    UNet forward has no way to pass an extra tensor down to the transformer blocks.
    """

    embedding: torch.Tensor | None = None
    strength: torch.Tensor | float = 1.0

    def set(self, embedding: torch.Tensor | None, strength: torch.Tensor | float = 1.0) -> None:
        self.embedding, self.strength = embedding, strength


class Adapter(nn.Module):
    """VGen's bottleneck adapter with an optional image condition (see module docstring)."""

    def __init__(self, dim: int, hidden_ratio: float = 0.5, condition_dim: int | None = None,
                 condition: AppearanceCondition | None = None, device: Any = None) -> None:
        super().__init__()
        hidden = max(1, int(dim * hidden_ratio))
        self.down = nn.Linear(dim, hidden, device=device)
        self.up = nn.Linear(hidden, dim, device=device)
        self.condition_linear = nn.Linear(condition_dim, dim, device=device) if condition_dim else None
        self._condition = condition  # plain attribute: shared holder, not a submodule
        if self.up.weight.device.type != "meta":
            nn.init.zeros_(self.up.weight)
            nn.init.zeros_(self.up.bias)

    def delta(self, x: torch.Tensor) -> torch.Tensor:
        """``adapter(x) − x``: what the adapter adds on top of the residual."""
        h = x.to(self.down.weight.dtype)
        cond = self._condition
        if self.condition_linear is not None and cond is not None and cond.embedding is not None:
            c = self.condition_linear(cond.embedding.to(self.condition_linear.weight.dtype))  # [B, d]
            strength = cond.strength
            if isinstance(strength, torch.Tensor):
                c = c * strength.to(c)[:, None]
            else:
                c = c * strength
            if h.shape[0] % c.shape[0]:
                raise InputError(f"adapter batch {h.shape[0]} is not a multiple of the condition batch {c.shape[0]}")
            # Rows are batch-major in both transformer layouts: (B·F, tokens, C) and (B·h·w, F, C).
            h = h + c.repeat_interleave(h.shape[0] // c.shape[0], dim=0)[:, None, :]
        return self.up(F.gelu(self.down(h))).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.delta(x)


def _block_forward(block: nn.Module):
    """``forward`` of a layer-norm ``BasicTransformerBlock`` with parallel adapters."""

    def forward(hidden_states, attention_mask=None, encoder_hidden_states=None, encoder_attention_mask=None,
                timestep=None, cross_attention_kwargs=None, class_labels=None, added_cond_kwargs=None):
        adapters = getattr(block, ADAPTERS_ATTR)
        kwargs = dict(cross_attention_kwargs or {})
        h = hidden_states

        def add(name: str, out: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
            if name in adapters:
                return out + residual + adapters[name].delta(residual)
            return out + residual

        ctx = encoder_hidden_states if block.only_cross_attention else None
        h = add("attn1", block.attn1(block.norm1(h), encoder_hidden_states=ctx, attention_mask=attention_mask,
                                     **kwargs), h)
        if block.attn2 is not None:
            h = add("attn2", block.attn2(block.norm2(h), encoder_hidden_states=encoder_hidden_states,
                                         attention_mask=encoder_attention_mask, **kwargs), h)
        h = add("ff", block.ff(block.norm3(h)), h)
        return h

    return forward


def _blocks(unet: nn.Module, ancestor: str) -> list[tuple[str, nn.Module]]:
    out = []
    for name, module in unet.named_modules():
        if type(module).__name__ != ancestor:
            continue
        for inner, sub in module.named_modules():
            if type(sub).__name__ == "BasicTransformerBlock":
                out.append((f"{name}.{inner}" if name else inner, sub))
    return out


def inject_adapters(unet: nn.Module, ancestor: str, sublayers: Sequence[str], *, hidden_ratio: float = 0.5,
                    condition_dim: int | None = None, condition: AppearanceCondition | None = None,
                    ) -> dict[str, Adapter]:
    """Add one adapter per ``sublayer`` to every transformer block under each ``ancestor`` module.

    Returns ``{parameter prefix: adapter}``; calling it twice for different sublayers (identity
    then motion) composes, one patched forward per block.
    """
    found: dict[str, Adapter] = {}
    for path, block in _blocks(unet, ancestor):
        if getattr(block, "norm_type", "layer_norm") != "layer_norm":
            raise InputError(f"{path}: DreamVideo adapters support layer-norm transformer blocks only")
        if not hasattr(block, ADAPTERS_ATTR):
            setattr(block, ADAPTERS_ATTR, nn.ModuleDict())
            setattr(block, _PLAIN, block.forward)
            block.forward = _block_forward(block)
        adapters: nn.ModuleDict = getattr(block, ADAPTERS_ATTR)
        dim = block.norm1.normalized_shape[0]
        device = block.norm1.weight.device if block.norm1.weight is not None else None
        for name in sublayers:
            if name in adapters:
                raise InputError(f"{path}: a DreamVideo adapter for {name} is already injected")
            adapters[name] = Adapter(dim, hidden_ratio, condition_dim, condition, device=device)
            found[f"{path}.{ADAPTERS_ATTR}.{name}"] = adapters[name]
    return found


def adapter_state(adapters: dict[str, Adapter]) -> dict[str, nn.Parameter]:
    """``{full parameter name: parameter}`` (names as in ``unet.named_parameters()``)."""
    return {f"{prefix}.{n}": p for prefix, a in adapters.items() for n, p in a.named_parameters()}


# -- textual inversion ---------------------------------------------------------------------------
@dataclass
class TextualInversion:
    """One placeholder token added to the tokenizer; only its embedding row trains (VGen: ``*``)."""

    token: str
    token_id: int
    initializer: str
    original_rows: torch.Tensor = field(repr=False)  # the embedding matrix before training, to restore

    def embedding(self, text_encoder: nn.Module) -> torch.Tensor:
        return text_encoder.get_input_embeddings().weight[self.token_id].detach().clone()

    def keep_only_token_grad(self, text_encoder: nn.Module) -> None:
        """Zero every gradient row but the placeholder's (call between backward and step)."""
        weight = text_encoder.get_input_embeddings().weight
        if weight.grad is not None:
            mask = torch.zeros_like(weight.grad[:, :1])
            mask[self.token_id] = 1
            weight.grad.mul_(mask)

    @torch.no_grad()
    def restore_other_rows(self, text_encoder: nn.Module) -> None:
        """Undo any drift of the other rows (diffusers' textual-inversion example does the same)."""
        weight = text_encoder.get_input_embeddings().weight
        keep = torch.ones(weight.shape[0], dtype=torch.bool, device=weight.device)
        keep[self.token_id] = False
        weight[keep] = self.original_rows.to(weight)[keep]


def add_placeholder_token(tokenizer, text_encoder: nn.Module, token: str, initializer: str,
                          value: torch.Tensor | None = None) -> TextualInversion:
    """Add ``token`` to the tokenizer, grow the embedding and initialise the new row from the first
    sub-token of ``initializer`` (or from ``value`` when loading a trained embedding)."""
    if tokenizer.add_tokens([token]) != 1:
        raise InputError(f"placeholder token {token!r} already exists in the tokenizer",
                         fix="choose another placeholder in config.yaml (textual_inversion.placeholder)")
    token_id = tokenizer.convert_tokens_to_ids(token)
    text_encoder.resize_token_embeddings(len(tokenizer))
    weight = text_encoder.get_input_embeddings().weight
    init_ids = tokenizer(initializer, add_special_tokens=False).input_ids
    if not init_ids:
        raise InputError(f"initializer word {initializer!r} tokenises to nothing", fix="use a plain word")
    with torch.no_grad():
        weight[token_id] = value.to(weight) if value is not None else weight[init_ids[0]]
    return TextualInversion(token, token_id, initializer, weight.detach().clone())


def encode_with_grad(tokenizer, text_encoder: nn.Module, prompts: list[str]) -> torch.Tensor:
    """CLIP last hidden states ``[B, 77, D]`` with gradients (``T2VComponents.encode_prompt`` is no-grad)."""
    ids = tokenizer(prompts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                    return_tensors="pt").input_ids
    return text_encoder(ids.to(text_encoder.device))[0]
