"""The benchmark as data: manifests, pairing rules, cases, captions."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest

from jtbench.benchmark import Benchmark, load_manifest
from jtbench.errors import InputError, ManifestError
from jtbench.paths import manifests_dir


@pytest.fixture(scope="module")
def bench() -> Benchmark:
    return Benchmark.load()


def test_manifest_ids_match_spec(bench):
    m = bench.manifest
    assert len(m.subjects) == 15 and len(m.motions) == 12 and len(m.pairings) == 6
    assert list(m.backgrounds) == ["grass", "jungle", "snow", "beach", "cobblestone_street"]
    assert Counter(s.category for s in m.subjects.values()) == {"rigid": 5, "non_humanoid": 5, "humanoid": 5}
    assert Counter(x.category for x in m.motions.values()) == {
        "rigid": 3,
        "non_human": 3,
        "human_no_props": 3,
        "human_props": 3,
    }
    assert m.subjects["sloth_plushie"].concept == "grey_sloth_plushie"
    assert m.motions["duck_walking"].clips == ("mallard-fly",)
    assert all(len(x.clips) == 5 and x.stride == 6 for x in m.motions.values() if x.source == "ucf101")
    assert all(len(x.clips) == 1 and x.stride == 2 for x in m.motions.values() if x.source == "davis2016")


def test_ninety_combinations_by_pairing(bench):
    combos = bench.combinations()
    assert len(combos) == 90 and len({c.id for c in combos}) == 90
    by_subject_category = Counter(c.subject_category for c in combos)
    assert by_subject_category == {"rigid": 15, "non_humanoid": 45, "humanoid": 30}
    assert set(Counter(c.pairing for c in combos).values()) == {15}
    assert not bench.combinations(subject="guitar", motion="person_dancing")  # rigid x human: incompatible


def test_450_cases_keyed_by_case_id(bench):
    cases = bench.cases()
    assert len(cases) == 450 and len({c.case_id for c in cases}) == 450
    case = bench.case_by_id("bear_plushie__person_playing_flute__grass")
    assert case.prompt == "A bear plushie playing the flute on the grass."
    assert bench.case_by_id("cat__dog_walking__snow").prompt == "A cat walking in the snow."
    assert bench.case_by_id("dog__person_playing_flute__jungle").prompt == "A dog playing the flute in the jungle."
    # Four motions read "walking": prompts are not unique, case ids are.
    assert len(bench.cases_by_prompt("A cat walking on the grass.")) == 4


def test_filters_and_captions(bench):
    assert len(bench.cases(backgrounds="snow")) == 90
    assert len(bench.combinations(pairing="humanoid/*")) == 30
    assert len(bench.combinations(subject="*plushie")) == 36
    assert bench.image_caption("bear_plushie") == "A bear plushie."
    assert bench.motion_caption("person_playing_flute") == "A person playing the flute."
    assert bench.motion_caption("duck_walking") == "A duck walking."


@pytest.mark.parametrize("bad", ["nope__person_walking__grass", "guitar__person_walking__grass", "a__b"])
def test_bad_case_ids_teach(bench, bad):
    with pytest.raises(InputError, match="case_id"):
        bench.case_by_id(bad)


def test_broken_manifest_names_file_and_key(tmp_path):
    root = tmp_path / "manifests"
    shutil.copytree(manifests_dir(), root)
    text = (root / "subjects.yaml").read_text().replace("category: humanoid,     phrase: bear plushie", "phrase: x")
    (root / "subjects.yaml").write_text(text)
    with pytest.raises(ManifestError) as err:
        load_manifest(root)
    assert (
        "subjects.yaml" in str(err.value) and "subjects.bear_plushie" in str(err.value) and "category" in str(err.value)
    )


def test_unknown_category_rejected(tmp_path):
    root = tmp_path / "manifests"
    shutil.copytree(manifests_dir(), root)
    (root / "motions.yaml").write_text(
        (root / "motions.yaml").read_text().replace("category: rigid", "category: fluid", 1)
    )
    with pytest.raises(ManifestError, match="fluid"):
        load_manifest(root)
