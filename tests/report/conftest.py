"""Synthetic per-video result tables for the report tests (no metrics or models needed)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from jtbench.io.tables import upsert_results
from jtbench.io.video import write_video
from jtbench.metrics.base import PAPER_COLUMNS

METHODS = ("alpha", "beta", "gamma")
COMBOS = (
    ("backpack", "train_turning"),  # rigid/rigid
    ("dog", "person_playing_flute"),  # non_humanoid/human_props
    ("cat", "dog_walking"),  # non_humanoid/non_human
    ("bear_plushie", "person_dancing"),  # humanoid/human_no_props
)
BACKGROUNDS = ("grass", "snow")
#: Per-method offsets: gamma is best on most metrics, alpha second, beta last.
OFFSETS = {"alpha": 1.0, "beta": -2.0, "gamma": 3.0}
VERSIONS = json.dumps({c: "1" for c in PAPER_COLUMNS})


def synthetic_rows(folder: Path, *, with_videos: bool = True, base_model: str = "zeroscope") -> list[dict]:
    """24 rows (3 methods x 4 combinations x 2 backgrounds), seeded; tiny real mp4 files when asked."""
    rng = np.random.default_rng(7)
    rows = []
    for m_index, method in enumerate(METHODS):
        for c_index, (subject, motion) in enumerate(COMBOS):
            for b_index, background in enumerate(BACKGROUNDS):
                case_id = f"{subject}__{motion}__{background}"
                video = Path("videos") / method / f"{case_id}.mp4"
                if with_videos:
                    frames = np.zeros((8, 32, 48, 3), dtype=np.uint8)
                    frames[..., 0] = 40 * m_index + 20
                    frames[..., 1] = 50 * c_index + 10 * b_index
                    frames[:, :, :, 2] = np.arange(8, dtype=np.uint8)[:, None, None] * 30
                    write_video(frames, folder / video, fps=8)
                values = {c: 50.0 + OFFSETS[method] + float(rng.normal(0, 1)) for c in PAPER_COLUMNS}
                values["Dyn-Deg"] = 100.0 if (m_index + c_index + b_index) % 2 else 0.0
                rows.append(
                    {
                        "case_id": case_id,
                        "prompt": f"A {subject} {motion} {background}.",
                        "method": method,
                        "base_model": base_model,
                        "subject": subject,
                        "motion": motion,
                        "background": background,
                        "seed": 0,
                        "video": video.as_posix(),
                        "video_sha256": hashlib.sha256(f"{method}/{case_id}/{base_model}".encode()).hexdigest(),
                        **values,
                        "metric_versions": VERSIONS,
                    }
                )
    return rows


@pytest.fixture(scope="session")
def results_dir(tmp_path_factory) -> Path:
    """A folder with results.parquet and the 24 tiny videos it points to (relative paths)."""
    folder = tmp_path_factory.mktemp("report_results")
    rows = synthetic_rows(folder)
    rows[1]["Mot-Fid"] = float("nan")  # one failed metric: alpha's mean rests on 7 of 8 videos
    upsert_results(folder / "results.parquet", rows)
    return folder
