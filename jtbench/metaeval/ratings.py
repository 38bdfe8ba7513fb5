"""Read human judgments: SPEC §7 ``ratings.parquet``, or VBench ``human_anno`` JSON / FastChat battles,
converted on read to the same columns.

Converted files carry no ``video_sha256``: their rows join the results by (method, case_id) instead,
where ``case_id`` is the record's prompt (VBench) or ``question_id`` (FastChat) — see
:mod:`jtbench.metaeval.join`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from jtbench.errors import InputError
from jtbench.io.ratings_schema import KINDS, RATING_COLUMNS, RESPONSES

REQUIRED = ("rater_id", "item_id", "dimension", "kind", "method_a", "response", "score")


def _frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(records)
    for column in RATING_COLUMNS:
        if column not in df.columns:
            df[column] = None
    return df[list(RATING_COLUMNS)]


def from_vbench(data: Any, path: Path) -> pd.DataFrame:
    """VBench ``human_anno`` JSON: a list of records, ``human_anno[A][B]`` = 1 (A better), 0, or 0.5 (tie)."""
    if not isinstance(data, list) or not all(isinstance(r, dict) and "human_anno" in r for r in data):
        raise InputError(
            "not a VBench human_anno file (a list of records with human_anno)",
            file=path,
            fix="pass the per-dimension JSON as released by VBench",
        )
    answers = {1: "a", 0: "b", 0.5: "tie"}  # 1 == 1.0 and 0 == 0.0 as keys
    rows = []
    for i, record in enumerate(data):
        prompt = record.get("prompt_en")
        seen: set[frozenset[str]] = set()
        for model_a, inner in (record.get("human_anno") or {}).items():
            for model_b, value in (inner or {}).items():
                pair = frozenset((model_a, model_b))
                if pair in seen or model_a == model_b:
                    continue  # human_anno[B][A] repeats human_anno[A][B]
                seen.add(pair)
                if value not in answers:
                    raise InputError(
                        f"record {i}: human_anno[{model_a!r}][{model_b!r}] = {value!r}",
                        file=path,
                        fix="values are 0, 0.5 or 1",
                    )
                rows.append(
                    dict(
                        study_id=f"vbench:{path.stem}",
                        rater_id="vbench",
                        item_id=f"{i}:{model_a}:{model_b}",
                        case_id=prompt,
                        dimension=path.stem,
                        kind="pair",
                        method_a=model_a,
                        method_b=model_b,
                        response=answers[value],
                    )
                )
    return _frame(rows)


def from_battles(data: Any, path: Path) -> pd.DataFrame:
    """FastChat / GenAI-Arena battles: ``model_a, model_b, winner ∈ {model_a, model_b, tie, tie (bothbad)}``."""
    if isinstance(data, dict):
        data = list(data.values()) if all(isinstance(v, dict) for v in data.values()) else [data]
    answers = {"model_a": "a", "model_b": "b", "tie": "tie", "tie (bothbad)": "both_bad"}
    rows = []
    for i, battle in enumerate(data):
        if not isinstance(battle, dict) or battle.get("winner") not in answers:
            raise InputError(
                f"battle {i}: winner must be one of {sorted(answers)}",
                file=path,
                fix="pass FastChat-style battles (model_a, model_b, winner, judge, question_id)",
            )
        rows.append(
            dict(
                study_id=f"battles:{path.stem}",
                rater_id=str(battle.get("judge", "arena")),
                item_id=str(battle.get("question_id", i)) + f":{i}",
                case_id=battle.get("question_id"),
                dimension=battle.get("dimension", "overall"),
                kind="pair",
                method_a=battle["model_a"],
                method_b=battle["model_b"],
                response=answers[battle["winner"]],
                answered_at=str(battle["tstamp"]) if "tstamp" in battle else None,
            )
        )
    return _frame(rows)


def _read_json(path: Path) -> pd.DataFrame:
    try:
        data = (
            json.loads(path.read_text())
            if path.suffix == ".json"
            else [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        )
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON: {exc}", file=path, fix="pass ratings.parquet, VBench JSON or battles"
        ) from exc
    first = data[0] if isinstance(data, list) and data else data
    if isinstance(first, dict) and "human_anno" in first:
        return from_vbench(data, path)
    return from_battles(data, path)


def read_ratings(path: str | Path) -> pd.DataFrame:
    """Ratings in SPEC §7 columns, validated; every problem names the file and the fix."""
    path = Path(path)
    if not path.is_file():
        raise InputError(
            "ratings file does not exist", file=path, fix="pass the ratings.parquet of `jtbench study export`"
        )
    if path.suffix.lower() in (".json", ".jsonl"):
        df = _read_json(path)
    else:
        try:
            df = pq.read_table(path).to_pandas()
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(
                f"not a readable Parquet file: {exc}",
                file=path,
                fix="pass ratings.parquet, a VBench human_anno .json or FastChat battles .json",
            ) from exc
    return validate(df, path)


def validate(df: pd.DataFrame, path: Path | str = "ratings") -> pd.DataFrame:
    """Check the columns and values that meta-eval relies on; normalise types."""
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}", file=path, fix="write ratings as SPEC §7 defines them"
        )
    df = df.copy()
    for column in RATING_COLUMNS:
        if column not in df.columns:
            df[column] = None
    bad_kind = sorted(set(df["kind"].dropna()) - set(KINDS))
    if bad_kind or df["kind"].isna().any():
        raise InputError(f"kind must be one of {KINDS}, got {bad_kind or 'null'}", file=path, fix="fix the kind column")
    pairwise = df["kind"] != "single"
    responses = df.loc[pairwise, "response"]
    bad = sorted(set(responses.dropna()) - set(RESPONSES))
    if bad or responses.isna().any():
        raise InputError(
            f"pairwise rows need a response in {RESPONSES}, got {bad or 'null'}",
            file=path,
            fix="fix the response column (absolute rows use score)",
        )
    if df.loc[~pairwise, "score"].isna().any():
        raise InputError("absolute (single) rows need an integer score", file=path, fix="fill the score column")
    if df.loc[pairwise & (df["kind"] != "gold"), "method_b"].isna().any():
        raise InputError("pairwise rows need method_b", file=path, fix="fill method_b (null only for absolute rows)")
    df["score"] = pd.to_numeric(df["score"], errors="coerce")
    for column in ("rater_id", "item_id", "dimension", "case_id"):
        df[column] = df[column].astype(object).where(df[column].notna(), None)
    return df[list(RATING_COLUMNS)].reset_index(drop=True)
