"""``jtbench study create``: results tables → candidates → plan → study.json, private key, blinded media.

Re-running the same command resumes: the plan is a function of the inputs and the seed, the secret is
read back from ``private/key.json`` (so tokens repeat), and media already made are kept. A study that
already has ratings is never re-planned into something else.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jtbench import __version__
from jtbench.errors import InputError
from jtbench.io.digest import file_sha256
from jtbench.io.tables import read_results
from jtbench.study.media import MediaFormat, Tokenizer, decide_format, make_media, probe, read_key, write_key
from jtbench.study.plan import DIMENSIONS, Candidate, Plan, References, build_plan

UI_VERSION = "1"
PROLIFIC_COMPLETE = "https://app.prolific.com/submissions/complete?cc={code}"
TEXTS = {
    "title": "Rate short videos",
    "consent": (
        "You will watch short generated videos and answer a few questions about each. It takes about 15 minutes. "
        "We record your answers, the time you take and an anonymous id; nothing else. Taking part is voluntary "
        "and you may stop at any time. Click 'I agree' to take part."
    ),
    "instructions": (
        "Each item shows a text prompt, photos of a subject, a reference motion clip and the video(s) to rate. "
        "Watch every video to its end; the answers unlock when they have played. This first item is practice."
    ),
    "completion": "Thank you! Your answers are saved.",
}


@dataclass
class CreateOptions:
    design: str = "pairwise"
    dimensions: Sequence[str] | None = None
    raters: int = 10
    per_item: int = 3
    seed: int = 0
    cases: Sequence[str] | None = None
    limit: int | None = None
    gold_per_rater: int = 2
    repeats_per_rater: int = 2
    trim: str | None = None
    completion_code: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def load_candidates(
    results: Sequence[Path], data: Path | None
) -> tuple[list[Candidate], list[dict[str, str]], list[str]]:
    """Rows that can be shown: a case id and an existing video; the others are reported, not dropped silently."""
    from jtbench.benchmark import load_manifest
    from jtbench.report.thumbnails import resolve_video

    manifest = load_manifest()
    digests, notes, seen = [], [], {}
    out: list[Candidate] = []
    for path in results:
        table = path / "results.parquet" if path.is_dir() else path
        df = read_results(table)
        digests.append({"path": str(table), "sha256": file_sha256(table)})
        skipped = 0
        for row in df.to_dict("records"):
            video = resolve_video(row.get("video"), table.parent)
            if not row.get("case_id") or video is None or not row.get("method"):
                skipped += 1
                continue
            seed = int(row["seed"]) if row.get("seed") is not None and row["seed"] == row["seed"] else 0
            key = (row["method"], row["case_id"], seed)
            if key in seen:
                raise InputError(
                    f"{row['method']} has two videos for case {row['case_id']} seed {seed}",
                    file=table,
                    fix=f"the other one is in {seen[key]}; pass each method's videos once",
                )
            seen[key] = table
            s, m = manifest.subjects.get(row["subject"]), manifest.motions.get(row["motion"])
            pairing = f"{s.category}/{m.category}" if s and m else "unknown"
            out.append(
                Candidate(
                    row["case_id"],
                    row["prompt"],
                    row["subject"],
                    row["motion"],
                    row["background"],
                    seed,
                    row["method"],
                    video,
                    row["video_sha256"],
                    pairing,
                )
            )
        if skipped:
            notes.append(
                f"{table}: {skipped} row(s) without a case id, a method or an existing video file were left out"
            )
    if not out:
        raise InputError(
            "no row of the results can be shown", fix="the results' `video` paths must exist (score or run output)"
        )
    return out, digests, notes


def reference_finder(data: Path):
    """The subject's reference photos and the reference motion clip, from the prepared data folder."""
    from jtbench.benchmark import Benchmark

    bench = Benchmark.load(data_root=data)

    def find(c: Candidate) -> References:
        images = tuple(bench.subject_images(c.subject))
        if not images:
            raise InputError(
                f"no reference photo of subject {c.subject!r}",
                file=data / "subjects" / c.subject,
                fix="pass --data, the prepared data folder the results were scored against",
            )
        return References(images, bench.reference_video(c.motion))

    return find


def study_document(
    plan: Plan, opts: CreateOptions, fmt: MediaFormat, digests: list[dict[str, str]], study_id: str
) -> dict[str, Any]:
    code = opts.completion_code or study_id[-8:].upper()
    return {
        "schema": 1,
        "study_id": study_id,
        "seed": opts.seed,
        "design": opts.design,
        "ui_version": UI_VERSION,
        "jtbench_version": __version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "texts": dict(TEXTS),
        "completion": {"code": code, "redirect": PROLIFIC_COMPLETE},
        "media": asdict(fmt),
        "dimensions": plan.dimensions,
        "practice": plan.practice,
        "items": plan.items,
        "assignments": plan.assignments,
        "results": digests,
        "notes": plan.notes,
    }


def _same_plan(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return all(old.get(k) == new.get(k) for k in ("items", "assignments", "practice", "dimensions", "design"))


def create_study(
    results: Sequence[Path], data: Path, out: Path, opts: CreateOptions, *, progress: bool = True
) -> dict[str, Any]:
    """Build (or resume) the study folder; returns the study document plus a ``report`` list of notes."""
    candidates, digests, notes = load_candidates(results, data)
    key_path = out / "private" / "key.json"
    tokenize = Tokenizer(read_key(key_path)["secret"] if key_path.is_file() else None)
    plan = build_plan(
        candidates,
        reference_finder(data),
        tokenize,
        design=opts.design,
        dimensions=opts.dimensions or tuple(DIMENSIONS),
        raters=opts.raters,
        per_item=opts.per_item,
        seed=opts.seed,
        cases=opts.cases,
        limit=opts.limit,
        gold_per_rater=opts.gold_per_rater,
        repeats_per_rater=opts.repeats_per_rater,
    )
    probes: dict[str, list] = defaultdict(list)
    for source in plan.sources.values():
        if source["role"] == "candidate" and not source.get("perturbation"):
            probes[source["method"]].append(probe(Path(source["video"])))
    fmt, format_notes = decide_format(probes, opts.trim)
    study_path = out / "study.json"
    study_id = "study-" + tokenize(f"study:{opts.seed}")[:12]
    doc = study_document(plan, opts, fmt, digests, study_id)
    if study_path.is_file():
        old = json.loads(study_path.read_text())
        ratings = list((out / "ratings").glob("*.jsonl"))
        if ratings and not _same_plan(old, doc):
            raise InputError(
                f"this study already has {len(ratings)} rater file(s) and a different plan",
                file=study_path,
                fix="write the new study to another --out folder",
            )
        if _same_plan(old, doc):  # resume: keep the edited texts, completion and creation time
            doc.update({k: old[k] for k in ("texts", "completion", "created_at", "study_id") if k in old})
    out.mkdir(parents=True, exist_ok=True)
    (out / "ratings").mkdir(exist_ok=True)
    write_key(key_path, tokenize, plan.sources, fmt)
    tmp = study_path.with_name(".study.json.tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    os.replace(tmp, study_path)
    made, kept = make_media(plan.sources, tokenize, out / "media", fmt, seed=opts.seed, progress=progress)
    doc["report"] = notes + format_notes + plan.notes + [f"media: {made} made, {kept} already there"]
    return doc
