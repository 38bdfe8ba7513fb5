"""The JointTuner release as the benchmark's source: byte-identical copies, accepted layouts,
one message for every problem, the download addresses, the per-length choice of reference."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from synthetic_release import make_release, release_members, write_zip

from jtbench.benchmark import Benchmark
from jtbench.benchmark import release as release_module
from jtbench.benchmark.prepare import LOCK_NAME, prepare, verify
from jtbench.benchmark.prepared import choose_by_length, lock_reference_set, read_lock
from jtbench.benchmark.release import ARCHIVES, archive_urls, download_release
from jtbench.errors import InputError
from jtbench.io.digest import file_sha256
from jtbench.io.layout import ResolvedEntry, VideoEntry, fit_reference_to_length
from jtbench.io.video import write_video

FLUTE = "person_playing_flute"


@pytest.fixture(scope="module")
def members():
    return release_members()


@pytest.fixture(scope="module")
def prepared(members, tmp_path_factory):
    """The whole benchmark prepared once from a synthetic release (five zips in one folder)."""
    root = tmp_path_factory.mktemp("release")
    out = root / "prepared"
    report = prepare(out, {"jointtuner": make_release(root / "zips", members=members)})
    return out, report


def _expected(members) -> dict[str, bytes]:
    """Prepared path → the release member's bytes it must equal."""
    folders = {"subject": "subjects", "motion_16f": "motions", "motion_49f": "motions_49f"}
    out = {}
    for files in members.values():
        for name, data in files.items():
            folder, item, file = name.split("/")
            out[f"{folders[folder]}/{item}/{file}"] = data
    return out


def test_release_is_copied_byte_for_byte_with_its_source_in_the_lock(prepared, members):
    out, report = prepared
    expected = _expected(members)
    assert sorted(report.written) == sorted(expected) and len(expected) == 15 * 3 + (11 + 5) * 2
    for rel, data in expected.items():
        assert (out / rel).read_bytes() == data, rel
    lock = read_lock(out)
    assert set(lock["file_sources"].values()) == {"jointtuner-release"}
    assert lock["reference_set"] == report.reference_set == "jointtuner-release"
    assert lock["files"][f"motions_49f/{FLUTE}/04.mp4"] == file_sha256(out / "motions_49f" / FLUTE / "04.mp4")
    assert verify(out) == []
    again = prepare(out, {"jointtuner": out.parent / "zips"})
    assert again.written == [] and len(again.skipped) == len(expected)


@pytest.mark.parametrize("layout", ["clone", "extracted", "top", "bare"])
def test_every_accepted_layout_gives_the_same_files(layout, prepared, members, tmp_path):
    out = tmp_path / "prepared"
    prepare(out, {"jointtuner": make_release(tmp_path / "src", layout, members=members)})
    assert read_lock(out)["files"] == read_lock(prepared[0])["files"]


def test_every_problem_is_listed_in_one_message_and_nothing_is_written(members, tmp_path):
    broken = {name: dict(files) for name, files in members.items()}
    for k in range(3):
        del broken["subject/subject-1.zip"][f"subject/guitar/{k:02d}.jpg"]
        broken["subject/subject-2.zip"][f"subject/teddy_bear/{k:02d}.jpg"] = b"jpeg"
        broken["subject/subject-3.zip"][f"subject/dog/{k:02d}.jpg"] = b"again"  # dog is in subject-2 too
    broken["subject/subject-3.zip"]["subject/clock/05.png"] = b"png"
    del broken["motion_49f.zip"]["motion_49f/bear_walking/00.mp4"]
    broken["motion_16f.zip"]["motion_16f/person_playing_guitar/00.mp4"] = b"mp4"
    broken["motion_16f.zip"]["loose.mp4"] = b"mp4"
    out = tmp_path / "prepared"
    with pytest.raises(InputError) as err:
        prepare(out, {"jointtuner": make_release(tmp_path / "zips", members=broken)})
    text = str(err.value)
    for needle in (
        "missing subject(s) guitar",
        "unknown subject folder(s) teddy_bear",
        "subject dog found 2 times",
        "unexpected file type .png",
        "missing motion(s) bear_walking",
        "unknown motion folder(s) person_playing_guitar",
        "loose.mp4: expected <motion>/<file>",
        "expected: the datasets/JointTuner/ folder",  # the expected layout comes with it
        "subject folders: guitar, book",
    ):
        assert needle in text, needle
    assert not out.exists()


def test_missing_archives_are_named(members, tmp_path):
    src = make_release(tmp_path / "zips", members=members)
    (src / "motion_49f.zip").unlink()
    (src / "subject-2.zip").unlink()
    with pytest.raises(InputError) as err:
        prepare(tmp_path / "out", {"jointtuner": src})
    text = str(err.value)
    assert "motion_49f: neither motion_49f.zip nor an extracted motion_49f/<motion>/" in text
    assert "subject/subject-2.zip not found" in text and "missing subject(s) cat, wolf_plushie" in text
    with pytest.raises(InputError, match="no JointTuner release here"):
        prepare(tmp_path / "out", {"jointtuner": tmp_path / "nothing"})


def test_the_release_cannot_be_mixed_with_rebuild_sources(tmp_path):
    with pytest.raises(InputError, match="cannot be mixed with davis2016"):
        prepare(tmp_path / "out", {"jointtuner": tmp_path, "davis2016": tmp_path})
    with pytest.raises(InputError, match="unknown source 'jointuner'"):
        prepare(tmp_path / "out", {"jointuner": tmp_path})


def test_download_fetches_the_five_raw_addresses(members, tmp_path):
    served = {url: write_zip(tmp_path / "served" / name, members[name]) for name, url in archive_urls().items()}
    fetched = []

    def opener(url):
        fetched.append(url)
        return open(served[url], "rb")

    target = download_release(tmp_path / "dl", opener=opener)
    assert fetched == [f"https://github.com/fdchen24/JointTuner/raw/main/datasets/JointTuner/{a}" for a in ARCHIVES]
    assert [a for a in ARCHIVES if not (target / a).is_file()] == []
    download_release(tmp_path / "dl", opener=opener)  # complete zips are not fetched again
    assert len(fetched) == 5
    report = prepare(tmp_path / "out", {"jointtuner": target}, subjects=["dog"], motions=[FLUTE])
    assert len(report.written) == 3 + 5 + 5


def test_download_rejects_what_is_not_a_zip(tmp_path, monkeypatch):
    pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 1\n"
    monkeypatch.setattr(release_module, "_open_url", lambda url: io.BytesIO(pointer))
    with pytest.raises(InputError, match="not a zip archive"):
        download_release(tmp_path / "dl")
    assert not any(p.suffix == ".part" for p in (tmp_path / "dl").rglob("*"))


def test_choose_by_length_rule():
    both = [(16, "16f"), (49, "49f")]
    picks = {n: choose_by_length(both, n) for n in (8, 16, 24, 49, 60)}
    assert picks == {8: "16f", 16: "16f", 24: "49f", 49: "49f", 60: "49f"}
    assert {n: choose_by_length([(16, "16f")], n) for n in (16, 24, 49)} == {16: "16f", 24: "16f", 49: "16f"}


def test_reference_video_per_generated_length(prepared, tmp_path):
    out, _ = prepared
    bench = Benchmark.load(data_root=out)
    chosen = {n: bench.reference_video(FLUTE, frames=n).relative_to(out).as_posix() for n in (16, 24, 49, 60)}
    assert chosen == {
        16: f"motions/{FLUTE}/00.mp4",
        24: f"motions_49f/{FLUTE}/00.mp4",  # shortest set not shorter: zero-padded as official
        49: f"motions_49f/{FLUTE}/00.mp4",
        60: f"motions_49f/{FLUTE}/00.mp4",  # none long enough: the longest, truncated with a note
    }
    assert bench.reference_video(FLUTE) == out / "motions" / FLUTE / "00.mp4"
    case = bench.case_by_id(f"bear_plushie__{FLUTE}__grass")
    entry = VideoEntry(video=tmp_path / "v.mp4", origin="t", case_id=case.case_id)
    item = ResolvedEntry(entry, case.prompt, case, None, bench.reference_video(FLUTE))
    assert fit_reference_to_length(item, 49, bench).reference_video == out / "motions_49f" / FLUTE / "00.mp4"
    own = tmp_path / "own.mp4"
    explicit = ResolvedEntry(VideoEntry(video=own, origin="t", reference_video=own), case.prompt, case, None, own)
    assert fit_reference_to_length(explicit, 49, bench).reference_video == own  # the row's own reference wins


def _davis_source(root, frames: int = 32):
    from PIL import Image

    folder = root / "DAVIS" / "JPEGImages" / "480p" / "boat"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(frames):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(folder / f"{i:05d}.jpg")
    clock = root / "dreambooth" / "dataset" / "clock"
    clock.mkdir(parents=True)
    for i in range(5):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(clock / f"{i:02d}.jpg")
    return {"davis2016": root, "dreambooth": root / "dreambooth"}


def test_rebuilt_references_are_labelled_and_replaced_by_the_release(members, tmp_path):
    out = tmp_path / "prepared"
    rebuilt = prepare(out, _davis_source(tmp_path / "src"), subjects=["clock"], motions=["boat_sailing"])
    lock = read_lock(out)
    assert rebuilt.reference_set == "rebuilt" and lock["file_sources"]["motions/boat_sailing/00.mp4"] == "davis2016"
    assert lock["file_sources"]["subjects/clock/04.jpg"] == "dreambooth"
    bench = Benchmark.load(data_root=out)
    assert bench.reference_video("boat_sailing", frames=49) == out / "motions" / "boat_sailing" / "00.mp4"
    zips = make_release(tmp_path / "zips", members=members)
    release = prepare(out, {"jointtuner": zips}, subjects=["clock"], motions=["bear_walking"])
    assert sorted(release.removed) == ["subjects/clock/03.jpg", "subjects/clock/04.jpg"]  # the release has three
    assert not (out / "subjects" / "clock" / "04.jpg").exists() and verify(out) == []
    lock = read_lock(out)
    assert lock["file_sources"]["subjects/clock/00.jpg"] == "jointtuner-release"
    assert lock["file_sources"]["motions/boat_sailing/00.mp4"] == "davis2016"
    assert lock["file_sources"]["motions_49f/bear_walking/00.mp4"] == "jointtuner-release"
    assert lock_reference_set(lock) == "jointtuner-release+rebuilt"


def test_lock_files_from_before_sources_were_recorded_still_read(tmp_path):
    out = tmp_path / "prepared"
    write_video(np.zeros((16, 8, 8, 3), np.uint8), out / "motions" / "boat_sailing" / "00.mp4")
    rel = "motions/boat_sailing/00.mp4"
    old = {"sources": {"davis2016": "/x"}, "files": {rel: file_sha256(out / rel)}, "origins": {}}
    (out / LOCK_NAME).write_text(json.dumps(old))
    assert verify(out) == [] and lock_reference_set(read_lock(out)) == "rebuilt"
