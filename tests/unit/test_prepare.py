"""Data preparation from real sample media in the official source layouts."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from jtbench.benchmark import Benchmark
from jtbench.benchmark.demo import demo_combinations, demo_manifest, prepare_demo
from jtbench.benchmark.demo_media import motion_clip
from jtbench.benchmark.prepare import LOCK_NAME, prepare, verify
from jtbench.errors import InputError
from jtbench.io.digest import file_sha256
from jtbench.io.video import read_image, read_video, write_video


def test_demo_slice_is_drawn_prepared_and_deterministic(tmp_path):
    """The procedural demo slice: no outside media, prepared like a raw 24 FPS source, same pixels twice."""
    root = prepare_demo(tmp_path / "demo")
    bench = Benchmark.load(data_root=root)
    assert [c.id for c in demo_combinations(bench)] == ["backpack__train_turning", "bear_plushie__person_playing_flute"]
    assert sorted(p.name for p in (root / "subjects").iterdir()) == ["backpack", "bear_plushie", "clock", "dog"]
    flute = [read_video(p) for p in bench.motion_clips("person_playing_flute")]
    assert [c.num_frames for c in flute] == [16, 16] and all(c.fps == 8.0 for c in flute)
    assert (flute[0].height, flute[0].width) == (128, 160)
    assert (flute[0].frames.float() - flute[1].frames.flip(2).float()).abs().mean() < 3
    moving = flute[0].frames.float()
    assert (moving[1:] - moving[:-1]).abs().mean() > 1, "the actor moves"
    assert read_image(bench.reference_image("backpack")).shape == (256, 256, 3)
    again = prepare_demo(tmp_path / "again")
    files = json.loads((root / LOCK_NAME).read_text())["files"]
    assert files.keys() == json.loads((again / LOCK_NAME).read_text())["files"].keys()
    for rel in files:
        if rel.endswith(".jpg"):
            assert (again / rel).read_bytes() == (root / rel).read_bytes(), rel
        else:  # x264 does not always give the same bits for grainy frames (found here): compare what decodes
            diff = (read_video(again / rel).frames.float() - read_video(root / rel).frames.float()).abs().mean()
            assert diff < 4, rel
    demo = demo_manifest()  # the drawing itself is exact
    recipe = demo["motions"]["train_turning"]
    assert np.array_equal(motion_clip(recipe, 4, 32, 40), motion_clip(recipe, 4, 32, 40))
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert size < 5 * 2**20, f"the demo media take {size} bytes"
    assert verify(root) == []
    (root / "subjects" / "dog" / "01.jpg").write_bytes(b"changed")
    (root / "motions" / "train_turning" / "00.mp4").unlink()
    problems = verify(root)
    assert len(problems) == 2 and any("altered" in p for p in problems) and any("missing" in p for p in problems)
    prepare_demo(root)  # idempotent, and it repairs what was changed
    assert verify(root) == []


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


def test_davis_first_frame_mask_is_prepared_beside_its_clip(tmp_path):
    """DAVIS's Annotations/480p/<clip>/00000.png becomes motions/<motion>/00.mask.png (the det profile's
    optional mask), byte for byte and in the lock; a sequence without one gets none."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for clip in ("boat", "bus"):
        frames = tmp_path / "DAVIS" / "JPEGImages" / "480p" / clip
        frames.mkdir(parents=True)
        for i in range(32):
            Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(frames / f"{i:05d}.jpg")
    annotation = tmp_path / "DAVIS" / "Annotations" / "480p" / "boat" / "00000.png"
    annotation.parent.mkdir(parents=True)
    Image.fromarray((rng.random((48, 64)) > 0.7).astype(np.uint8) * 255, mode="L").save(annotation)
    out = tmp_path / "prepared"
    report = prepare(out, {"davis2016": tmp_path / "DAVIS"}, subjects=[], motions=["boat_sailing", "bus_traveling"])
    mask = out / "motions" / "boat_sailing" / "00.mask.png"
    assert "motions/boat_sailing/00.mask.png" in report.written
    assert mask.read_bytes() == annotation.read_bytes()
    lock = json.loads((out / LOCK_NAME).read_text())
    assert lock["files"]["motions/boat_sailing/00.mask.png"] == file_sha256(annotation)
    assert not (out / "motions" / "bus_traveling" / "00.mask.png").exists()
