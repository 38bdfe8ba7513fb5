"""JointTuner: gated LoRA trained jointly on subject images (OFS loss) and motion clips (AiT loss)."""
