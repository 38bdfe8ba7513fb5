"""DreamVideo (VGen) ported onto the shared diffusers text-to-video base."""
