"""MotionDirector's one-frame path: skip every temporal layer when the UNet sees one frame.

MotionDirector's patched UNet guards each temporal conv, temporal transformer and
``transformer_in`` with ``if num_frames > 1`` (JointTuner's copy says ``>= 1``, i.e. never
skips, and so does stock diffusers). Its spatial loss feeds a one-frame latent, so a faithful
MotionDirector on diffusers must restore that skip; we override ``forward`` on the instances
(``TransformerTemporalModel`` includes ``transformer_in``). Multi-frame calls are unchanged.
"""

from __future__ import annotations

from torch import nn

from jtbench.methods.t2v.patching import restore_forwards, wrap_forwards

_PLAIN = "_jtbench_no_skip_forward"


def _skip_transformer(inner):
    def forward(hidden_states, encoder_hidden_states=None, timestep=None, class_labels=None, num_frames=1,
                cross_attention_kwargs=None, return_dict=True):
        if num_frames == 1:
            if not return_dict:
                return (hidden_states,)
            from diffusers.models.transformers.transformer_temporal import TransformerTemporalModelOutput

            return TransformerTemporalModelOutput(sample=hidden_states)
        return inner(hidden_states, encoder_hidden_states=encoder_hidden_states, timestep=timestep,
                     class_labels=class_labels, num_frames=num_frames,
                     cross_attention_kwargs=cross_attention_kwargs, return_dict=return_dict)

    return forward


def _skip_conv(inner):
    def forward(hidden_states, num_frames=1):
        return hidden_states if num_frames == 1 else inner(hidden_states, num_frames=num_frames)

    return forward


_PATCHES = {"TransformerTemporalModel": _skip_transformer, "TemporalConvLayer": _skip_conv}


def enable_one_frame_temporal_skip(unet: nn.Module) -> int:
    """Patch every temporal module of ``unet``; returns how many were patched."""
    return wrap_forwards(unet, _PATCHES, _PLAIN)


def disable_one_frame_temporal_skip(unet: nn.Module) -> int:
    return restore_forwards(unet, _PLAIN)
