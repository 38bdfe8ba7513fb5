"""The shared perturbation transforms and their manifest (gold items and meta-eval --perturb)."""

from __future__ import annotations

import numpy as np
import pytest

from jtbench.errors import JtbenchError
from jtbench.io.perturb import TRANSFORMS, apply_transform, load_perturbations


def _clip(t: int = 6, h: int = 33, w: int = 40) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, size=(1, h, w, 3), dtype=np.uint8)
    return np.concatenate([np.roll(base, 3 * i, axis=2) for i in range(t)])


def test_manifest_loads_and_every_transform_exists() -> None:
    entries = load_perturbations()
    assert {"frozen_first_frame", "shuffled_frames", "swapped_prompt", "blur", "noise", "compression"} <= set(entries)
    for entry in entries.values():
        assert entry.transform is None or entry.transform in TRANSFORMS
        assert set(entry.by_construction) <= set(entry.expected)
    assert all(len(entries[k].severities) >= 3 for k in ("blur", "noise", "compression"))
    assert entries["frozen_first_frame"].gold_dimension == "motion_fidelity"


def test_temporal_transforms() -> None:
    frames = _clip()
    frozen = apply_transform("frozen_first_frame", frames)
    assert frozen.shape == frames.shape and (frozen == frames[0]).all()
    assert np.array_equal(apply_transform("reverse_frames", frames), frames[::-1])
    shuffled = apply_transform("shuffle_frames", frames, seed=3)
    assert not np.array_equal(shuffled, frames)
    assert sorted(map(bytes, shuffled)) == sorted(map(bytes, frames))  # same frames, another order
    assert np.array_equal(shuffled, apply_transform("shuffle_frames", frames, seed=3))  # seeded


@pytest.mark.parametrize("name", ["gaussian_blur", "gaussian_noise", "h264_compression"])
def test_graded_transforms_grow_with_severity(name: str) -> None:
    frames = _clip()
    levels = [s.levels() for s in load_perturbations().values() if s.transform == name][0]
    errors = []
    for severity in levels:
        out = apply_transform(name, frames, severity=severity, seed=1)
        assert out.dtype == np.uint8 and out.shape == frames.shape
        errors.append(float(np.abs(out.astype(float) - frames).mean()))
    assert errors == sorted(errors) and errors[0] > 0


def test_bad_manifest_names_file_and_entry(tmp_path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("perturbations:\n  x: {kind: frames, transform: melt, expected: {CLIP-T: down}}\n")
    with pytest.raises(JtbenchError, match=r"p\.yaml.*'x'.*melt"):
        load_perturbations(path)
    path.write_text("perturbations:\n  x: {kind: prompt, expected: {CLIP-Q: down}}\n")
    with pytest.raises(JtbenchError, match="CLIP-Q"):
        load_perturbations(path)
    with pytest.raises(JtbenchError, match="uint8"):
        apply_transform("reverse_frames", np.zeros((2, 4, 4, 3), dtype=np.float32))
