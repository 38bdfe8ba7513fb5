"""A study plan from results rows: items, gold and repeated items, balanced per-rater assignments.

Pure and seeded: the same candidates, options and seed give the same plan, byte for byte. Nothing here
reads or writes media; videos are named by *source keys* (``video:<sha256>``, ``frozen_first_frame:<sha256>``,
``image:<path>`` …) and the caller's ``tokenize`` turns each key into the opaque token raters see.
Which method made a video is never written into an item: it lives in the private key (media.py).
"""

from __future__ import annotations

import fnmatch
import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jtbench.errors import InputError

DESIGNS = ("pairwise", "absolute")
PAIR_RESPONSES = ("left", "right", "tie", "both_bad")
FROZEN, SWAPPED_SUBJECT = "frozen_first_frame", "swapped_subject_reference"  # perturbations.yaml ids

# The default dimensions: (id, pairwise question, absolute question, what the rater looks at).
DIMENSIONS: dict[str, dict[str, str]] = {
    "appearance_fidelity": {
        "pairwise": "Which video's main subject looks more like the subject in the reference photos?",
        "absolute": "How closely does the main subject in the video match the subject in the reference photos?",
    },
    "motion_fidelity": {
        "pairwise": "Which video's movement follows the reference motion clip more closely?",
        "absolute": "How closely does the movement in the video follow the reference motion clip?",
    },
    "text_alignment": {
        "pairwise": "Which video shows what the text prompt describes better?",
        "absolute": "How well does the video show what the text prompt describes?",
    },
    "overall": {
        "pairwise": "Overall, which video is better?",
        "absolute": "Overall, how good is the video?",
    },
}
PAIR_LABELS = {
    "left": "Left is better",
    "right": "Right is better",
    "tie": "About the same",
    "both_bad": "Both are bad",
}
ABSOLUTE_ANCHORS = {"1": "Not at all", "2": "Slightly", "3": "Moderately", "4": "Mostly", "5": "Completely"}


@dataclass(frozen=True)
class Candidate:
    """One scored video that may enter the study (a results row with a case id and an existing file)."""

    case_id: str
    prompt: str
    subject: str
    motion: str
    background: str
    seed: int
    method: str
    video: Path
    video_sha256: str
    pairing: str = "unknown"


@dataclass(frozen=True)
class References:
    """What the page shows beside the candidates: the subject's photos and the reference motion clip."""

    images: tuple[Path, ...]
    motion_clip: Path | None


@dataclass
class Plan:
    """Everything ``study.json`` needs except texts and media facts, plus the media to make."""

    dimensions: list[dict[str, Any]]
    items: list[dict[str, Any]]
    practice: dict[str, Any] | None
    assignments: list[dict[str, Any]]
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # source key -> what to encode
    notes: list[str] = field(default_factory=list)


def dimension_specs(ids: Sequence[str], design: str) -> list[dict[str, Any]]:
    """The dimensions with their exact question and scale (editable later in study.json)."""
    unknown = [d for d in ids if d not in DIMENSIONS]
    if unknown:
        raise InputError(f"unknown dimension(s) {unknown}", fix=f"choose from {', '.join(DIMENSIONS)}")
    if design == "pairwise":
        scale = {"type": "pairwise", "options": [{"value": v, "label": PAIR_LABELS[v]} for v in PAIR_RESPONSES]}
    else:
        scale = {"type": "likert", "min": 1, "max": 5, "anchors": dict(ABSOLUTE_ANCHORS)}
    return [{"id": d, "question": DIMENSIONS[d][design], "scale": scale} for d in ids]


def select_cases(
    pairing_of: dict[str, str], *, patterns: Sequence[str] | None, limit: int | None, rng: np.random.Generator
) -> list[str]:
    """Case ids to study: those matching ``patterns``, then ``limit`` of them round-robin over pairings."""
    chosen = sorted(c for c in pairing_of if not patterns or any(fnmatch.fnmatch(c, p) for p in patterns))
    if not chosen:
        raise InputError("no case matches --cases", fix="check the patterns against the results' case_id column")
    if limit is None or limit >= len(chosen):
        return chosen
    groups: dict[str, list[str]] = defaultdict(list)
    for case in chosen:
        groups[pairing_of[case]].append(case)
    queues = [list(rng.permutation(groups[p])) for p in sorted(groups)]
    picked: list[str] = []
    while len(picked) < limit:
        for queue in queues:
            if queue and len(picked) < limit:
                picked.append(str(queue.pop()))
    return sorted(picked)


def _balanced_assign(groups: list[str], raters: int, per_item: int, rng: np.random.Generator) -> list[list[int]]:
    """For each item (by its group, e.g. its method pair) the raters who judge it.

    Greedy: items in random order; each replicate goes to a rater without the item, with the fewest items
    of that group, then the fewest items overall, ties broken at random. Every rater ends within one item of
    the others overall and within one of each group, as far as ``per_item <= raters`` allows.
    """
    group_ids = {g: i for i, g in enumerate(sorted(set(groups)))}
    per_group = np.zeros((raters, len(group_ids)), dtype=np.int64)
    load = np.zeros(raters, dtype=np.int64)
    out: list[list[int]] = [[] for _ in groups]
    for index in rng.permutation(len(groups)):
        g = group_ids[groups[index]]
        for _ in range(per_item):
            taken = np.zeros(raters, dtype=bool)
            taken[out[index]] = True
            order = np.lexsort((rng.random(raters), load, per_group[:, g], taken))
            rater = int(order[0])
            out[index].append(rater)
            per_group[rater, g] += 1
            load[rater] += 1
    return out


def _item_ids(count: int, rng: np.random.Generator) -> list[str]:
    """Opaque, unique item ids: nothing in them tells a gold or repeated item from a regular one."""
    ids: set[str] = set()
    while len(ids) < count:
        ids.add("it-" + "".join(rng.choice(list("0123456789abcdef"), 10)))
    return [str(i) for i in rng.permutation(sorted(ids))]


CASE_FIELDS = ("case_id", "prompt", "subject", "motion", "background", "seed")


def _case_fields(c: Candidate) -> dict[str, Any]:
    return {name: getattr(c, name) for name in CASE_FIELDS}


def build_plan(
    candidates: Sequence[Candidate],
    references: Callable[[Candidate], References],
    tokenize: Callable[[str], str],
    *,
    design: str = "pairwise",
    dimensions: Sequence[str] = tuple(DIMENSIONS),
    raters: int = 10,
    per_item: int = 3,
    seed: int = 0,
    cases: Sequence[str] | None = None,
    limit: int | None = None,
    gold_per_rater: int = 2,
    repeats_per_rater: int = 2,
) -> Plan:
    """Items, per-rater ordered assignments (with left/right) and the media they need."""
    if design not in DESIGNS:
        raise InputError(f"unknown design {design!r}", fix=f"use one of {', '.join(DESIGNS)}")
    if raters < 1 or per_item < 1 or per_item > raters:
        raise InputError(
            f"--ratings-per-item {per_item} with --raters {raters}",
            fix="use 1 <= ratings per item <= raters (each rater judges an item once)",
        )
    rng = np.random.default_rng(seed)
    plan = Plan(dimension_specs(dimensions, design), [], None, [])
    dim_ids = [d["id"] for d in plan.dimensions]

    by_case: dict[tuple[str, int], dict[str, Candidate]] = defaultdict(dict)
    for c in candidates:
        by_case[(c.case_id, c.seed)][c.method] = c
    pairing_of = {c.case_id: c.pairing for c in candidates}
    chosen = set(select_cases(pairing_of, patterns=cases, limit=limit, rng=rng))
    keys = sorted(k for k in by_case if k[0] in chosen)

    def source(key: str, **info: Any) -> str:
        plan.sources.setdefault(key, info)
        return tokenize(key)

    def video_token(c: Candidate, perturbation: str | None = None) -> str:
        key = f"{perturbation or 'video'}:{c.video_sha256}"
        return source(
            key,
            role="candidate",
            method=c.method,
            video=str(c.video),
            video_sha256=c.video_sha256,
            perturbation=perturbation,
        )

    def refs(c: Candidate) -> dict[str, Any]:
        r = references(c)
        images = [source(f"image:{p}", role="reference_image", path=str(p)) for p in r.images]
        clip = (
            source(f"clip:{r.motion_clip}", role="reference_clip", path=str(r.motion_clip)) if r.motion_clip else None
        )
        return {"images": images, "motion": clip}

    # regular items and the group each is balanced over
    regular: list[tuple[dict[str, Any], str]] = []
    for key in keys:
        methods = by_case[key]
        if design == "pairwise":
            for m_a, m_b in itertools.combinations(sorted(methods), 2):
                a, b = methods[m_a], methods[m_b]
                item = {**_case_fields(a), "kind": "pair", "media": {"a": video_token(a), "b": video_token(b)}}
                regular.append((item, f"{m_a}|{m_b}"))
        else:
            for m in sorted(methods):
                regular.append(
                    ({**_case_fields(methods[m]), "kind": "single", "media": {"a": video_token(methods[m])}}, m)
                )
    if not regular:
        raise InputError(
            "no item to rate: a pairwise study needs at least two methods on the same case and seed",
            fix="pass results tables of two or more methods, or use --design absolute",
        )

    gold_pool = _gold_items(by_case, keys, design, gold_per_rater * raters, rng, video_token, plan.notes)
    counts = _item_ids(len(regular) + len(gold_pool) + repeats_per_rater * raters + 1, rng)
    ids = iter(counts)
    for item, _ in regular:
        item.update(item_id=next(ids), dimensions=list(dim_ids), refs=refs(_anchor(by_case, item)))
    for item in gold_pool:
        item.update(item_id=next(ids), refs=refs(_anchor(by_case, item)))
    plan.items = [item for item, _ in regular] + gold_pool

    # who judges what
    slots: list[list[str]] = [[] for _ in range(raters)]
    judges = _balanced_assign([g for _, g in regular], raters, per_item, rng)
    for (item, _), who in zip(regular, judges, strict=True):
        for r in who:
            slots[r].append(item["item_id"])
    for i, item in enumerate(gold_pool):  # consecutive pool items (kinds alternate) go to the same rater
        slots[(i // max(1, gold_per_rater)) % raters].append(item["item_id"])
    if gold_pool and len(gold_pool) < gold_per_rater * raters:
        plan.notes.append(f"only {len(gold_pool)} gold item(s) for {raters} rater(s); some raters share or lack them")
    # per-rater order, left/right, repeats (the same pair again later, sides swapped)
    item_by_id = {item["item_id"]: item for item in plan.items}
    for slot, assigned in enumerate(slots):
        order = [assigned[i] for i in rng.permutation(len(assigned))]
        entries = [{"item_id": i, "position_a": "left" if rng.random() < 0.5 else "right"} for i in order]
        originals = [e for e in entries if item_by_id[e["item_id"]]["kind"] in ("pair", "single")]
        for e in [originals[i] for i in rng.permutation(len(originals))[:repeats_per_rater]]:
            original = item_by_id[e["item_id"]]
            repeat = {**original, "item_id": next(ids), "kind": "repeat", "repeat_of": original["item_id"]}
            plan.items.append(repeat)
            swapped = "right" if e["position_a"] == "left" else "left"
            at = entries.index(e) + 1
            entries.insert(
                int(rng.integers(at, len(entries) + 1)), {"item_id": repeat["item_id"], "position_a": swapped}
            )
        plan.assignments.append({"slot": slot, "items": entries})
    plan.practice = _practice(gold_pool, regular, design, next(ids), dim_ids)
    return plan


def _anchor(by_case: dict[tuple[str, int], dict[str, Candidate]], item: dict[str, Any]) -> Candidate:
    """A candidate of the item's own case: its references are the item's references."""
    return next(iter(by_case[(item["case_id"], item["seed"])].values()))


def _gold_items(
    by_case: dict[tuple[str, int], dict[str, Candidate]],
    keys: list[tuple[str, int]],
    design: str,
    wanted: int,
    rng: np.random.Generator,
    video_token: Callable[..., str],
    notes: list[str],
) -> list[dict[str, Any]]:
    """Pairs whose worse side is known: a frozen-first-frame copy (motion) and another subject's video
    by the same method (appearance). Side ``a`` is always the original; ``gold.expected`` says so."""
    if design != "pairwise" or wanted <= 0:
        if design != "pairwise" and wanted > 0:
            notes.append("an absolute study has no gold pairs (their worse side is defined only side by side)")
        return []
    pool: list[dict[str, Any]] = []
    # each case can give one gold of each kind; the kinds alternate, the cases come in a seeded order
    frozen = [(keys[i], FROZEN) for i in rng.permutation(len(keys))]
    swapped = [(keys[i], SWAPPED_SUBJECT) for i in rng.permutation(len(keys))]
    order = [x for pair in zip(frozen, swapped, strict=True) for x in pair]
    for key, kind in order:
        if len(pool) >= wanted:
            break
        methods = by_case[key]
        original = methods[sorted(methods)[int(rng.integers(len(methods)))]]
        if kind == FROZEN:
            worse, dimension = video_token(original, FROZEN), "motion_fidelity"
        else:
            other = _other_subject(by_case, original)
            if other is None:
                continue
            worse, dimension = video_token(other), "appearance_fidelity"
        pool.append(
            {
                **_case_fields(original),
                "kind": "gold",
                "media": {"a": video_token(original), "b": worse},
                "dimensions": [dimension],
                "gold": {"perturbation": kind, "dimension": dimension, "expected": "a"},
            }
        )
    if not any(g["gold"]["perturbation"] == SWAPPED_SUBJECT for g in pool) and pool:
        notes.append("no appearance gold: no video of another subject by the same method and seed")
    return pool


def _other_subject(by_case: dict[tuple[str, int], dict[str, Candidate]], c: Candidate) -> Candidate | None:
    """The same method's video of another subject, same motion and background first."""
    best: tuple[int, str] | None = None
    found: Candidate | None = None
    for (case_id, seed), methods in by_case.items():
        other = methods.get(c.method)
        if other is None or seed != c.seed or other.subject == c.subject:
            continue
        rank = (int(other.motion != c.motion) + int(other.background != c.background), case_id)
        if best is None or rank < best:
            best, found = rank, other
    return found


def _practice(
    gold: list[dict[str, Any]], regular: list[tuple[dict[str, Any], str]], design: str, item_id: str, dims: list[str]
) -> dict[str, Any]:
    """One practice item before the real ones: a frozen-frame gold pair where there is one (its answer is
    obvious), else the first regular item. Its answers are stored but never exported."""
    base = next((g for g in gold if g["gold"]["perturbation"] == FROZEN), None) or regular[0][0]
    practice = {key: value for key, value in base.items() if key not in ("gold", "repeat_of")}
    practice.update(
        item_id=item_id, kind="practice", dimensions=list(dims) if design == "absolute" else base["dimensions"]
    )
    return practice


def assignment_summary(plan: Plan) -> Counter:
    """Items per slot (for the create report)."""
    return Counter({a["slot"]: len(a["items"]) for a in plan.assignments})
