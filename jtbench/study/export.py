"""``jtbench study export``: the judgments as SPEC §7's ``ratings.parquet`` plus three formats others read.

- ``ratings.parquet``: one row per judgment, methods joined back from the private key, left/right turned
  into ``a|b`` with ``position_a`` (the input of ``jtbench meta-eval``);
- ``vbench_human_anno/<dimension>.json``: VBench's human-label records (``human_anno[A][B]`` = 1 when A
  is better, 0 when B is, 0.5 for a tie or "both bad"), one record per rater and item;
- ``fastchat_battles.json``: FastChat/GenAI-Arena battles (``winner`` model_a | model_b | tie | tie (bothbad));
- ``videogen_rewardbench.csv``: VideoAlign's pairwise columns (``path_A``, ``path_B``, ``A_model`` …, labels
  ``A | B | same``); ``TA`` and ``Overall`` carry text_alignment and overall, the other dimensions keep their ids.

Gold and practice items are comparisons with a perturbed copy, so only ``ratings.parquet`` holds them.
Unreadable lines (a crash mid-write truncates at most the last one) are reported and skipped.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from jtbench.io.ratings_schema import RATINGS_SCHEMA
from jtbench.study.media import read_key
from jtbench.study.store import SlotBook, load_study, read_ratings

SIDE_TO_AB = {"left": {"left": "a", "right": "b"}, "right": {"left": "b", "right": "a"}}
VIDEOALIGN_LABEL = {"a": "A", "b": "B", "tie": "same", "both_bad": "same"}
VIDEOALIGN_COLUMNS = {"text_alignment": "TA", "overall": "Overall"}
VBENCH_VALUE = {"a": 1.0, "b": 0.0, "tie": 0.5, "both_bad": 0.5}
FASTCHAT_WINNER = {"a": "model_a", "b": "model_b", "tie": "tie", "both_bad": "tie (bothbad)"}


def ratings_frame(folder: Path) -> tuple[pd.DataFrame, list[str]]:
    """The SPEC §7 rows of a study folder and the problems met (skipped lines, unknown items)."""
    study, key = load_study(folder), read_key(folder / "private" / "key.json")["tokens"]
    items = {i["item_id"]: i for i in study["items"]}
    practice = (study.get("practice") or {}).get("item_id")
    records, problems = read_ratings(folder / "ratings")
    notes = [str(p) for p in problems]
    rows = []
    for r in records:
        item = items.get(r.get("item_id"))
        if item is None:
            if r.get("item_id") != practice:
                who = f"rater {r.get('rater_id')}: judgment {r.get('judgment_id')}"
                notes.append(f"{who} names unknown item {r.get('item_id')!r}; skipped")
            continue
        a, b = item["media"]["a"], item["media"].get("b")
        position_a = "left" if r.get("left_token") == a else "right"
        response = SIDE_TO_AB[position_a].get(r.get("response"), r.get("response")) if b else None
        rows.append(
            {
                "study_id": study["study_id"],
                "rater_id": r["rater_id"],
                "item_id": item["item_id"],
                "case_id": item["case_id"],
                "seed": item["seed"],
                "dimension": r["dimension"],
                "kind": item["kind"],
                "method_a": key[a]["method"],
                "method_b": key[b]["method"] if b else None,
                "video_sha256_a": key[a]["video_sha256"],
                "video_sha256_b": key[b]["video_sha256"] if b else None,
                "response": response,
                "score": r.get("score") if not b else None,
                "position_a": position_a,
                "gold_expected": (item.get("gold") or {}).get("expected"),
                "rt_ms": r.get("rt_ms"),
                "answered_at": pd.Timestamp(r["answered_at"]).tz_convert("UTC") if r.get("answered_at") else None,
            }
        )
    table = pa.Table.from_pylist(rows, schema=RATINGS_SCHEMA)
    return table.to_pandas(), notes


def _pairs(df: pd.DataFrame) -> pd.DataFrame:
    """The side-by-side judgments of real method pairs (no gold, no practice)."""
    return df[df["method_b"].notna() & (df["kind"] != "gold")]


def _originals(folder: Path) -> dict[str, dict[str, Any]]:
    key = read_key(folder / "private" / "key.json")["tokens"]
    return {s["video_sha256"]: s for s in key.values() if s.get("role") == "candidate" and not s.get("perturbation")}


def vbench_records(df: pd.DataFrame, study: dict[str, Any], videos: dict[str, dict[str, Any]]) -> dict[str, list]:
    questions = {d["id"]: d["question"] for d in study["dimensions"]}
    prompts = {i["item_id"]: i["prompt"] for i in study["items"]}
    out: dict[str, list] = defaultdict(list)
    for r in _pairs(df).itertuples():
        out[r.dimension].append(
            {
                "prompt_en": prompts[r.item_id],
                "dimension_en": r.dimension,
                "question_en": questions[r.dimension],
                "videos": {
                    r.method_a: videos[r.video_sha256_a]["video"],
                    r.method_b: videos[r.video_sha256_b]["video"],
                },
                "human_anno": {r.method_a: {r.method_b: VBENCH_VALUE[r.response]}},
                "case_id": r.case_id,
                "seed": int(r.seed),
                "rater_id": r.rater_id,
                "item_id": r.item_id,
            }
        )
    return out


def fastchat_battles(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "question_id": r.item_id,
            "model_a": r.method_a,
            "model_b": r.method_b,
            "winner": FASTCHAT_WINNER[r.response],
            "judge": r.rater_id,
            "anony": True,
            "tstamp": r.answered_at.timestamp() if pd.notna(r.answered_at) else None,
            "dimension": r.dimension,
            "case_id": r.case_id,
        }
        for r in _pairs(df).itertuples()
    ]


def videoalign_frame(df: pd.DataFrame, study: dict[str, Any], videos: dict[str, dict[str, Any]]) -> pd.DataFrame:
    pairs = _pairs(df)
    fmt = study["media"]
    prompts = {i["item_id"]: i["prompt"] for i in study["items"]}
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for r in pairs.itertuples():
        row = rows.setdefault(
            (r.rater_id, r.item_id),
            {
                "path_A": videos[r.video_sha256_a]["video"],
                "path_B": videos[r.video_sha256_b]["video"],
                "A_model": r.method_a,
                "B_model": r.method_b,
                "prompt": prompts[r.item_id],
                "fps_A": fmt["fps"],
                "num_frames_A": fmt["frames"],
                "fps_B": fmt["fps"],
                "num_frames_B": fmt["frames"],
                "rater_id": r.rater_id,
                "item_id": r.item_id,
            },
        )
        row[VIDEOALIGN_COLUMNS.get(r.dimension, r.dimension)] = VIDEOALIGN_LABEL[r.response]
    return pd.DataFrame(list(rows.values()))


def export_study(folder: Path, out: Path) -> tuple[dict[str, Path], pd.DataFrame, list[str]]:
    """Write every export format; returns the files written, the ratings frame and the problems met."""
    df, notes = ratings_frame(folder)
    study, videos = load_study(folder), _originals(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = {"ratings": out / "ratings.parquet"}
    pq.write_table(pa.Table.from_pandas(df, schema=RATINGS_SCHEMA, preserve_index=False), written["ratings"])
    if study["design"] == "pairwise":
        anno_dir = out / "vbench_human_anno"
        anno_dir.mkdir(exist_ok=True)
        for dimension, records in vbench_records(df, study, videos).items():
            (anno_dir / f"{dimension}.json").write_text(json.dumps(records, indent=1))
        written["vbench_human_anno"] = anno_dir
        written["fastchat_battles"] = out / "fastchat_battles.json"
        written["fastchat_battles"].write_text(json.dumps(fastchat_battles(df), indent=1))
        written["videogen_rewardbench"] = out / "videogen_rewardbench.csv"
        videoalign_frame(df, study, videos).to_csv(written["videogen_rewardbench"], index=False)
    else:
        notes.append("an absolute study has no pairwise judgments: only ratings.parquet is written")
    return written, df, notes


def status_frame(folder: Path) -> tuple[pd.DataFrame, list[str]]:
    """Per rater: judgments done / assigned, failed gold judgments, median seconds per item."""
    study = load_study(folder)
    df, notes = ratings_frame(folder)
    book = SlotBook(folder / "sessions.jsonl", len(study["assignments"]))
    items = {i["item_id"]: i for i in study["items"]}
    rows = []
    for rater_id, slot in sorted(book.slot_of.items(), key=lambda kv: kv[1]):
        assigned = sum(len(items[e["item_id"]]["dimensions"]) for e in study["assignments"][slot]["items"])
        mine = df[df["rater_id"] == rater_id]
        gold = mine[mine["gold_expected"].notna()]
        per_item = mine.groupby("item_id")["rt_ms"].max() / 1000.0
        rows.append(
            {
                "rater_id": rater_id,
                "slot": slot,
                "done": len(mine),
                "assigned": assigned,
                "gold_failed": int((gold["response"] != gold["gold_expected"]).sum()),
                "gold_total": len(gold),
                "median_s_per_item": round(float(per_item.median()), 2) if len(per_item) else None,
                "last_answer": mine["answered_at"].max().isoformat() if len(mine) else None,
            }
        )
    return pd.DataFrame(rows), notes
