"""The official CogVideoX LoRA recipe (diffusers examples/cogvideo/train_cogvideox_lora.py) as a baseline."""
