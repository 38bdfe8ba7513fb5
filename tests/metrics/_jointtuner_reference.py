"""JointTuner's own frame reader, re-expressed for parity tests (``tools.split_video_to_rgb_images``)."""

from __future__ import annotations

from pathlib import Path

import cv2


def jt_split_video_to_rgb_images(path: Path, target_fps: float = 8.0) -> list:
    """OpenCV decode keeping every ``int(fps / 8)``-th frame, BGR → RGB: the frames CLIP-T, CLIP-I
    and Pick-Sc see in the official evaluation."""
    cap = cv2.VideoCapture(str(path))
    interval = max(1, int(cap.get(cv2.CAP_PROP_FPS) / target_fps))
    frames, index = [], 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if index % interval == 0:
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        index += 1
    cap.release()
    return frames
