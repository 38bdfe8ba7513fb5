"""DiT base models (CogVideoX, Wan2.1): loading, latents, objectives, training and sampling."""
