"""The study plan: seeded, balanced, gold and repeated items as specified, ids that reveal nothing."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from jtbench.errors import InputError
from jtbench.study.media import Tokenizer
from jtbench.study.plan import FROZEN, SWAPPED_SUBJECT, Candidate, References, build_plan

METHODS = ("m1", "m2", "m3", "m4")
PAIRINGS = ("rigid/rigid", "rigid/non_human", "non_humanoid/rigid", "humanoid/human_props", "humanoid/x", "y/z")


def candidates(cases: int = 30, methods=METHODS) -> list[Candidate]:
    out = []
    for i in range(cases):
        subject, motion = f"subj{i % 5}", f"mot{i % 3}"
        for m in methods:
            out.append(
                Candidate(
                    f"{subject}__{motion}__bg{i}",
                    f"prompt {i}",
                    subject,
                    motion,
                    f"bg{i}",
                    0,
                    m,
                    Path(f"/v/{m}/{i}.mp4"),
                    f"{m}-sha-{i}",
                    PAIRINGS[i % len(PAIRINGS)],
                )
            )
    return out


def refs(c: Candidate) -> References:
    return References((Path(f"/d/subjects/{c.subject}/00.jpg"),), Path(f"/d/motions/{c.motion}/00.mp4"))


def plan_of(cands=None, **kw):
    args = {"raters": 6, "per_item": 2, "seed": 3, **kw}
    return build_plan(cands or candidates(), refs, Tokenizer("ab" * 32), **args)


def test_same_seed_same_plan_other_seed_other_plan():
    a, b, c = plan_of(), plan_of(), plan_of(seed=4)
    assert (a.items, a.assignments) == (b.items, b.assignments)
    assert a.assignments != c.assignments


def test_each_item_has_k_distinct_raters_and_pairs_are_balanced():
    plan = plan_of()
    items = {i["item_id"]: i for i in plan.items}
    raters_of = defaultdict(list)
    pair_count = defaultdict(Counter)  # slot -> (method pair) -> items
    key = Tokenizer("ab" * 32)
    method_of = {key(k): s["method"] for k, s in plan.sources.items() if s["role"] == "candidate"}
    for a in plan.assignments:
        for e in a["items"]:
            item = items[e["item_id"]]
            if item["kind"] == "pair":
                raters_of[e["item_id"]].append(a["slot"])
                pair_count[a["slot"]][(method_of[item["media"]["a"]], method_of[item["media"]["b"]])] += 1
    regular = [i for i in plan.items if i["kind"] == "pair"]
    assert len(regular) == 30 * 6  # every case, every one of the 6 method pairs
    assert all(len(raters_of[i["item_id"]]) == 2 == len(set(raters_of[i["item_id"]])) for i in regular)
    loads = [sum(c.values()) for c in pair_count.values()]
    assert max(loads) - min(loads) <= 1
    for pair in {p for c in pair_count.values() for p in c}:
        per_rater = [pair_count[slot][pair] for slot in range(6)]
        assert max(per_rater) - min(per_rater) <= 1, (pair, per_rater)


def test_gold_items_know_their_worse_side():
    plan = plan_of(gold_per_rater=2)
    gold = [i for i in plan.items if i["kind"] == "gold"]
    assert len(gold) == 12 and {g["gold"]["perturbation"] for g in gold} == {FROZEN, SWAPPED_SUBJECT}
    by_token = {Tokenizer("ab" * 32)(k): s for k, s in plan.sources.items()}
    for g in gold:
        a, b = by_token[g["media"]["a"]], by_token[g["media"]["b"]]
        assert g["gold"]["expected"] == "a" and a["perturbation"] is None and a["method"] == b["method"]
        assert g["dimensions"] == [g["gold"]["dimension"]]
        if g["gold"]["perturbation"] == FROZEN:
            assert b["perturbation"] == FROZEN and b["video_sha256"] == a["video_sha256"]
            assert g["dimensions"] == ["motion_fidelity"]
        else:
            other_case = b["video"].split("/")[-1]
            assert b["perturbation"] is None and other_case != a["video"].split("/")[-1]
            assert g["dimensions"] == ["appearance_fidelity"]
    kinds = {g["item_id"]: g["gold"]["perturbation"] for g in gold}
    for a in plan.assignments:  # each rater: one gold of each kind
        assert sorted(kinds[e["item_id"]] for e in a["items"] if e["item_id"] in kinds) == [FROZEN, SWAPPED_SUBJECT]


def test_repeats_come_later_with_sides_swapped():
    plan = plan_of(repeats_per_rater=2)
    items = {i["item_id"]: i for i in plan.items}
    for a in plan.assignments:
        order = [e["item_id"] for e in a["items"]]
        repeats = [e for e in a["items"] if items[e["item_id"]]["kind"] == "repeat"]
        assert len(repeats) == 2
        for e in repeats:
            original = items[e["item_id"]]["repeat_of"]
            first = next(x for x in a["items"] if x["item_id"] == original)
            assert order.index(original) < order.index(e["item_id"])
            assert {first["position_a"], e["position_a"]} == {"left", "right"}
            assert items[original]["media"] == items[e["item_id"]]["media"]


def test_item_ids_and_order_reveal_nothing():
    plan = plan_of()
    assert all(re.fullmatch(r"it-[0-9a-f]{10}", i["item_id"]) for i in plan.items)
    assert len({i["item_id"] for i in plan.items} | {plan.practice["item_id"]}) == len(plan.items) + 1
    sides = Counter(e["position_a"] for a in plan.assignments for e in a["items"])
    assert 0.35 < sides["left"] / sum(sides.values()) < 0.65


def test_limit_is_stratified_over_pairings():
    plan = plan_of(limit=12, gold_per_rater=0, repeats_per_rater=0)
    pairing_of = {c.case_id: c.pairing for c in candidates()}
    cases = {i["case_id"] for i in plan.items}
    assert len(cases) == 12 and set(Counter(pairing_of[c] for c in cases).values()) == {2}


def test_cases_patterns_select():
    plan = plan_of(cases=["subj1__*"], gold_per_rater=0)
    assert {i["case_id"].split("__")[0] for i in plan.items} == {"subj1"}


def test_absolute_design_has_single_items_and_no_gold():
    plan = plan_of(design="absolute", per_item=1)
    kinds = Counter(i["kind"] for i in plan.items)
    assert kinds["single"] == 30 * 4 and kinds["gold"] == 0 and kinds["repeat"] == 6 * 2
    assert any("no gold" in n for n in plan.notes)
    assert plan.dimensions[0]["scale"] == {
        "type": "likert",
        "min": 1,
        "max": 5,
        "anchors": {"1": "Not at all", "2": "Slightly", "3": "Moderately", "4": "Mostly", "5": "Completely"},
    }


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"per_item": 7}, "ratings-per-item"),
        ({"design": "triplet"}, "unknown design"),
        ({"dimensions": ["beauty"]}, "unknown dimension"),
        ({"cases": ["nothing*"]}, "no case matches"),
        ({"cands": candidates(methods=("only",))}, "at least two methods"),
    ],
)
def test_bad_options_are_clear_errors(kw, message):
    with pytest.raises(InputError, match=message):
        plan_of(**kw)
