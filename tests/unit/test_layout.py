"""The naming rule and the index: parsing, defaults, and per-row checks against the benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jtbench.benchmark import Benchmark
from jtbench.errors import InputError
from jtbench.io.layout import (
    parse_video_path,
    read_index,
    resolve_entry,
    scan_folder,
    video_path,
    with_defaults,
)

CASE = "bear_plushie__person_playing_flute__grass"
OTHER = "dog__dog_walking__snow"


@pytest.fixture
def prepared(tmp_path) -> Path:
    """A minimal prepared data folder: one subject image and one motion clip (contents unused here)."""
    root = tmp_path / "data"
    (root / "subjects" / "bear_plushie").mkdir(parents=True)
    (root / "subjects" / "bear_plushie" / "00.jpg").write_bytes(b"jpg")
    (root / "motions" / "person_playing_flute").mkdir(parents=True)
    (root / "motions" / "person_playing_flute" / "00.mp4").write_bytes(b"mp4")
    return root


def test_video_path_round_trips(tmp_path):
    assert video_path(tmp_path, CASE) == tmp_path / f"{CASE}.mp4"
    assert video_path(tmp_path, CASE, 3) == tmp_path / CASE / "3.mp4"
    assert parse_video_path(tmp_path, video_path(tmp_path, CASE)) == (CASE, None)
    assert parse_video_path(tmp_path, video_path(tmp_path, CASE, 3)) == (CASE, 3)
    with pytest.raises(InputError, match="naming rule"):
        parse_video_path(tmp_path, tmp_path / CASE / "best.mp4")


def test_scan_folder_finds_both_forms_and_flags_odd_names(tmp_path):
    for path in (video_path(tmp_path, CASE), video_path(tmp_path, OTHER, 0), video_path(tmp_path, OTHER, 1)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / f".{CASE}.mp4.tmp.mp4").write_bytes(b"x")  # an atomic writer's temp file
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "c.mp4").write_bytes(b"x")
    entries = scan_folder(tmp_path, method="m")
    got = [(e.case_id, e.seed) for e in entries]
    assert got == [("a/b/c.mp4", None), (CASE, None), (OTHER, 0), (OTHER, 1)]
    assert {e.method for e in entries} == {"m"}


def test_scan_folder_missing(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        scan_folder(tmp_path / "nope")


def test_read_csv_index_paths_relative_to_index(tmp_path, prepared):
    index = tmp_path / "sub" / "index.csv"
    index.parent.mkdir()
    index.write_text(
        "video,case_id,prompt,reference_image,reference_video,method,seed,base_model\n"
        f"v/a.mp4,{CASE},,,,jt,2,zeroscope\n"
        "b.mp4,,A bear.,subjects/bear_plushie/00.jpg,/abs/ref.mp4,,,\n"
    )
    a, b = read_index(index, method="default", base_model="modelscope", data_root=prepared)
    assert a.video == index.parent / "v" / "a.mp4"
    assert (a.case_id, a.method, a.seed, a.base_model) == (CASE, "jt", 2, "zeroscope")
    assert a.prompt is None and a.reference_image is None
    assert (b.case_id, b.prompt, b.method, b.seed, b.base_model) == (None, "A bear.", "default", None, "modelscope")
    # not beside the index, but found under --data
    assert b.reference_image == prepared / "subjects" / "bear_plushie" / "00.jpg"
    assert b.reference_video == Path("/abs/ref.mp4")
    assert a.origin == "index.csv row 1" and b.origin == "index.csv row 2"


def test_read_json_index_list_or_videos_key(tmp_path):
    rows = [{"video": "a.mp4", "case_id": CASE, "seed": 1.0}, {"video": "b.mp4", "prompt": "A dog.", "seed": None}]
    for i, payload in enumerate((rows, {"videos": rows})):
        index = tmp_path / f"i{i}.json"
        index.write_text(json.dumps(payload))
        a, b = read_index(index)
        assert (a.case_id, a.seed, b.prompt, b.seed) == (CASE, 1, "A dog.", None)


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("i.csv", "case_id\nx\n", "no 'video' column"),
        ("i.csv", "video,case_id\n", "lists no videos"),
        ("i.csv", "video,case_id,colour\na.mp4,x,red\n", "unknown column"),
        ("i.csv", "video,case_id,seed\na.mp4,x,1.5\n", "not an integer"),
        ("i.csv", "video,case_id\n,x\n", "no video path"),
        ("i.json", "{not json", "not valid JSON"),
        ("i.json", '{"a": 1}', "JSON list of objects"),
        ("i.txt", "video\n", "unknown index format"),
    ],
)
def test_read_index_rejects_malformed_files_naming_the_file(tmp_path, name, text, match):
    index = tmp_path / name
    index.write_text(text)
    with pytest.raises(InputError, match=match) as info:
        read_index(index)
    assert info.value.file == str(index) and info.value.fix


def _csv_index(tmp_path: Path, text: str) -> list:
    """The entries of an index ``i.csv`` holding ``text``."""
    index = tmp_path / "i.csv"
    index.write_text(text)
    return read_index(index)


def test_resolve_case_row_takes_references_from_prepared_data(tmp_path, prepared):
    bench = Benchmark.load(data_root=prepared)
    (entry,) = _csv_index(tmp_path, f"video,case_id\na.mp4,{CASE}\n")
    item = resolve_entry(entry, bench)
    assert item.prompt == "A bear plushie playing the flute on the grass."
    assert item.case.subject == "bear_plushie"
    assert item.reference_image == prepared / "subjects" / "bear_plushie" / "00.jpg"
    assert item.reference_video == prepared / "motions" / "person_playing_flute" / "00.mp4"


def test_resolve_row_prompt_overrides_case_prompt(tmp_path, prepared):
    bench = Benchmark.load(data_root=prepared)
    (entry,) = _csv_index(tmp_path, f"video,case_id,prompt\na.mp4,{CASE},A whimsical bear.\n")
    item = resolve_entry(entry, bench)
    assert item.prompt == "A whimsical bear." and item.case.case_id == CASE


def test_resolve_rejects_unknown_case_and_missing_references(tmp_path, prepared):
    bench = Benchmark.load(data_root=prepared)
    unknown, prompt_only, unprepared, missing = _csv_index(
        tmp_path,
        "video,case_id,prompt,reference_image\n"
        "a.mp4,bear_plushie__person_playing_flutes__grass,,\n"  # unknown case
        "b.mp4,,A bear walking.,\n"  # prompt only, no references
        f"c.mp4,{OTHER},,\n"  # valid case, but its references are not prepared
        "d.mp4,,A bear walking.,missing.jpg\n",  # given reference does not exist
    )
    with pytest.raises(InputError, match="unknown case_id"):
        resolve_entry(unknown, bench)
    with pytest.raises(InputError, match="prompt-only row must give its reference_image"):
        resolve_entry(prompt_only, bench)
    with pytest.raises(InputError, match="reference image is missing"):
        resolve_entry(unprepared, bench)
    with pytest.raises(InputError, match="reference_image does not exist"):
        resolve_entry(missing, bench)
    # a reference no selected metric needs is not required
    item = resolve_entry(prompt_only, bench, need_image=False, need_video=False)
    assert item.reference_image is None and item.prompt == "A bear walking."


def test_resolve_without_data_folder_says_pass_data(tmp_path):
    (entry,) = _csv_index(tmp_path, f"video,case_id\na.mp4,{CASE}\n")
    with pytest.raises(InputError, match="no prepared data folder") as info:
        resolve_entry(entry, Benchmark.load())
    assert "--data" in info.value.fix


def test_with_defaults_only_fills_gaps(tmp_path):
    entries = _csv_index(tmp_path, f"video,case_id,method\na.mp4,{CASE},\nb.mp4,{CASE},own\n")
    a, b = (with_defaults(e, method="fallback", base_model="zeroscope") for e in entries)
    assert (a.method, b.method, a.base_model) == ("fallback", "own", "zeroscope")
