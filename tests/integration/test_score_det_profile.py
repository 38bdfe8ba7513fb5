"""`jtbench score --profile det --backbones tiny` on the demo slice writes every det column; the report shows them."""

from __future__ import annotations

import math
import shutil

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from jtbench.cli.app import app
from jtbench.io import layout
from jtbench.io.digest import file_sha256
from jtbench.io.tables import read_results
from jtbench.io.video import write_video
from jtbench.metrics.base import PAPER_COLUMNS
from jtbench.metrics.profiles import get_profile

CASES = ("backpack__train_turning__grass", "bear_plushie__person_playing_flute__grass")


def sliding_texture(frames: int, step: tuple[int, int], seed: int) -> torch.Tensor:
    """A blurred random texture sliding ``step`` pixels a frame, with fresh grain on every frame.

    Every window changes between frames, so the LK stand-in never returns the exact zero-length step
    that DeT turns into NaN. The demo clips have near-static patches where that depends on the CPU
    (one CI machine gave NaN where this one gave a 0.003 px step).
    """
    rng = np.random.default_rng(seed)
    texture = cv2.GaussianBlur(rng.integers(0, 256, (192, 256, 3), dtype=np.uint8), (0, 0), 2.0)
    texture = cv2.normalize(texture, None, 0, 255, cv2.NORM_MINMAX)
    clip = np.stack([texture[t * step[1] : t * step[1] + 128, t * step[0] : t * step[0] + 160] for t in range(frames)])
    grain = rng.integers(-4, 5, clip.shape)
    return torch.from_numpy(np.clip(clip.astype(np.int16) + grain, 0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def scored(demo_data_root, tmp_path_factory):
    """Two videos of unequal length (16 and 11 frames) on a copy of the demo slice; train_turning gets a
    first-frame mask beside its clip, person_playing_flute has none. Both the videos and the reference
    clips are sliding textures, so every track moves on every CPU (see :func:`sliding_texture`)."""
    root = tmp_path_factory.mktemp("det_run")
    data = root / "data"
    shutil.copytree(demo_data_root, data)
    for motion, step in (("train_turning", (3, 1)), ("person_playing_flute", (1, 2))):
        for i, clip in enumerate(sorted((data / "motions" / motion).glob("*.mp4"))):
            write_video(sliding_texture(16, step, seed=10 + i), clip, fps=8)
    mask = np.zeros((128, 160), dtype=np.uint8)
    mask[30:100, 40:130] = 255
    mask_png = data / "motions" / "train_turning" / "00.mask.png"
    Image.fromarray(mask, mode="L").save(mask_png)
    folder = root / "my_method"
    write_video(sliding_texture(16, (2, 2), seed=1), layout.video_path(folder, CASES[0]), fps=8)
    write_video(sliding_texture(11, (4, 1), seed=2), layout.video_path(folder, CASES[1]), fps=8)
    out = root / "out"
    args = ["score", str(folder), "--out", str(out), "--data", str(data), "--profile", "det", "--metrics", "CLIP-T",
            "--backbones", "tiny", "--no-progress"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return out, file_sha256(mask_png)


def test_every_det_column_is_written_for_every_video(scored):
    out, _ = scored
    df = read_results(out).set_index("case_id")
    assert list(df.index.sort_values()) == sorted(CASES)
    for column in get_profile("det").columns:
        assert df[column].map(math.isfinite).all(), (column, df["errors"].tolist())
    assert df[[c for c in PAPER_COLUMNS if c != "CLIP-T"]].isna().all().all()
    assert (df["T-Cons@DeT"] <= 1 + 1e-6).all() and (df["MotFid@DeT"].abs() <= 1 + 1e-9).all()


def test_each_row_says_which_grid_it_tracked(scored):
    out, digest = scored
    df = read_results(out).set_index("case_id")
    masked, whole = df.loc[CASES[0], "errors"], df.loc[CASES[1], "errors"]
    assert "MotFid@DeT: tracks from lk_tracker" in masked
    assert f"00.mask.png beside the reference clip (sha256 {digest})" in masked
    assert "whole-frame 50x50 grid" in whole and "mask.png" not in whole
    assert "T-Cons@DeT: DINO pooler not in the checkpoint: drawn from seed 0 (sha256 " in whole


def test_report_profile_det_table(scored):
    out, _ = scored
    result = CliRunner().invoke(app, ["report", str(out), "--profile", "det", "--format", "md"])
    assert result.exit_code == 0, result.output
    assert "MotFid@DeT" in result.stdout and "T-Cons@DeT" in result.stdout
    assert "NOT reproducible" in result.stdout and "seed 0" in result.stdout
    listed = CliRunner().invoke(app, ["list", "profiles", "--format", "csv"])
    assert "det," in listed.stdout and "MotFid@DeT" in listed.stdout
