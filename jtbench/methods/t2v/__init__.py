"""The shared text-to-video layer every diffusers-based adapter builds on.

One concept per module; nothing here imports diffusers at package import time:

- ``base_model`` — load UNet3D + VAE + CLIP text encoder/tokenizer + DDIM scheduler (ZeroScope,
  ModelScope, a local folder, or the tiny random pipeline), honouring ``--offline``.
- ``tiny`` — the tiny seeded random pipeline, saved as a diffusers folder and loaded back.
- ``lora`` — a plain LoRA linear and JointTuner's gated (adaptive) LoRA.
- ``inject`` — find target linears by ancestor class + name keywords, swap in wrappers,
  save/load them as safetensors with a metadata JSON.
- ``checkpointing`` — gradient checkpointing around the UNet3D blocks (diffusers lacks it).
- ``temporal_skip`` — MotionDirector's one-frame path that skips every temporal layer.
- ``latents`` — VAE encode/decode and latent caching.
- ``training`` — seeding, bucketing, image/clip loading at 8 fps, mixed precision, optimizers.
- ``sampling`` — our DDIM loop with classifier-free guidance and mp4 writing.
- ``config`` — a method's config.yaml plus ``RunSettings.overrides``.
- ``bases`` — the ``--base`` registry (UNet and DiT entries: Hub id, family, clip, frame rule, precision).
- ``dit/`` — the DiT families (CogVideoX, Wan2.1): component loader, tiny folders, cached items,
  the LoRA training loop and pipeline sampling.
"""
