"""MotionDirector: a spatial LoRA learned from the subject's images, a temporal LoRA from the motion's clips."""
