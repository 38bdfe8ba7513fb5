"""Data preparation from real sample media in the official source layouts."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from jtbench.benchmark import Benchmark
from jtbench.benchmark.prepare import LOCK_NAME, demo_combinations, prepare, prepare_demo, verify
from jtbench.errors import InputError
from jtbench.io.video import read_video, write_video


def test_demo_slice(shared_data, tmp_path):
    root = prepare_demo(shared_data, tmp_path / "demo")
    bench = Benchmark.load(data_root=root)
    assert len(demo_combinations(bench)) == 8
    flute = [read_video(p) for p in bench.motion_clips("person_playing_flute")]
    assert [c.num_frames for c in flute] == [16, 16] and all(c.fps == 8.0 for c in flute)
    assert (flute[0].height, flute[0].width) == (336, 596)  # original resolution kept
    assert (
        bench.reference_image("terracotta_warrior").read_bytes()
        == (shared_data / "subjects" / "terracotta_warrior" / "001.jpg").read_bytes()
    )
    assert verify(root) == []
    (root / "subjects" / "dog" / "01.jpg").write_bytes(b"changed")
    (root / "motions" / "train_turning" / "00.mp4").unlink()
    problems = verify(root)
    assert len(problems) == 2 and any("altered" in p for p in problems) and any("missing" in p for p in problems)


def test_official_layouts(shared_data, tmp_path):
    """DAVIS JPEG folder (every 2nd frame), UCF101 .avi at 25 FPS (every 6th), DreamBooth folder."""
    car = read_video(shared_data / "motions" / "car_turn" / "car-turn.mp4").frames.numpy()
    davis = tmp_path / "DAVIS" / "JPEGImages" / "480p" / "boat"
    davis.mkdir(parents=True)
    from PIL import Image

    frames = np.concatenate([car, car[::-1]])  # 32 distinct-ish frames
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(davis / f"{i:05d}.jpg", quality=95)
    ucf = tmp_path / "UCF-101" / "PlayingCello"
    ucf.mkdir(parents=True)
    bike = read_video(shared_data / "motions" / "riding_bicycle" / "clip_00.mp4").frames.numpy()[:100]
    for g in range(1, 6):
        shutil.copy(write_video(bike, tmp_path / "tmp.mp4", fps=25), ucf / f"v_PlayingCello_g0{g}_c01.avi")
    db = tmp_path / "dreambooth" / "dataset" / "clock"
    shutil.copytree(shared_data / "subjects" / "clock", db)
    out = tmp_path / "prepared"
    report = prepare(
        out,
        {"davis2016": tmp_path, "ucf101": tmp_path, "dreambooth": tmp_path / "dreambooth"},
        subjects=["clock"],
        motions=["boat_sailing", "person_playing_cello"],
    )
    assert len(report.written) == 5 + 1 + 5 and (out / LOCK_NAME).is_file()
    boat = read_video(out / "motions" / "boat_sailing" / "00.mp4")
    assert boat.num_frames == 16 and boat.fps == 8.0
    # frame k of the prepared clip is source frame 2k (lossy codec: compare loosely)
    diff = np.abs(boat.frames[5].float().numpy() - frames[10].astype(np.float32)).mean()
    assert diff < 6
    cello = read_video(out / "motions" / "person_playing_cello" / "04.mp4")
    assert cello.num_frames == 16 and np.abs(cello.frames[2].float().numpy() - bike[12]).mean() < 8
    assert (
        prepare(
            out,
            {"davis2016": tmp_path, "ucf101": tmp_path, "dreambooth": tmp_path / "dreambooth"},
            subjects=["clock"],
            motions=["boat_sailing", "person_playing_cello"],
        ).written
        == []
    )


def test_missing_sources_listed_in_one_message(tmp_path):
    with pytest.raises(InputError) as err:
        prepare(tmp_path / "out", {}, subjects=["dog", "cat"], motions=["bear_walking"])
    text = str(err.value)
    assert "subject dog" in text and "subject cat" in text and "motion bear_walking" in text
    assert "DAVIS-data.zip" in text and "--source" in text
