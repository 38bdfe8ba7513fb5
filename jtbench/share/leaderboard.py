"""`jtbench leaderboard`: bundles (and the paper's rows) as comparable tables, plus their raw numbers.

One table per base-model group (the UNets, the DiTs: :data:`~jtbench.methods.t2v.bases.BASES` says
which), each holding its submissions and the paper's reference rows for those bases, marked. ARS/NAS/AAS
are computed over the rows of that table (SPEC §3: relative to what is compared), so adding a row moves
the others' composites. "Evaluated by" says "re-scored by jtbench" only when ``NAME.validation.json``
beside the bundle passed, re-scored videos that matched the bundle, and names this bundle's SHA-256;
otherwise it is the submitter's own line, marked self-reported. Profile columns (any ``<Metric>@<Paper>``
column the bundles carry) get their own tables, never the composites.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from jtbench.errors import InputError
from jtbench.io.digest import file_sha256
from jtbench.metrics.base import PAPER_COLUMNS
from jtbench.metrics.profiles import profile_of_column
from jtbench.report.aggregate import method_means
from jtbench.report.composites import COMPOSITES, add_composites
from jtbench.report.reference import ReferenceTable, load_reference, reference_names
from jtbench.share.bundle import Bundle, read_bundle, scored_columns
from jtbench.share.validate import read_validation

INFO_COLUMNS = ("Model", "Method", "Base", "Sampled by", "Evaluated by", "Access", "Date")
PAPER_SOURCE = "JointTuner paper"
GROUP_ORDER = ("UNet", "DiT", "Other")


@dataclass(frozen=True)
class Entry:
    """One bundle on the board, with how its numbers were evaluated."""

    bundle: Bundle
    sha256: str
    evaluated_by: str
    rescored: bool

    @property
    def label(self) -> str:
        s = self.bundle.submission
        return f"{s['model_name']} ({s['revision']})" if s.get("revision") else str(s["model_name"])

    @property
    def tiny(self) -> bool:
        return str(self.bundle.submission.get("backbones", "")).startswith("tiny")


def group_of(base: str) -> str:
    """UNet or DiT by the base registry's family; bases it does not know go to Other."""
    from jtbench.methods.t2v.bases import BASES

    return ("DiT" if BASES.get(base).is_dit else "UNet") if base in BASES else "Other"


def evaluated_by(bundle: Bundle, sha256: str) -> tuple[str, bool]:
    """The Evaluated-by cell, from the validation record beside the bundle (never from submission.json)."""
    record = read_validation(bundle.path)
    rescore = (record or {}).get("rescore") or {}
    if (record and record.get("ok") and record.get("bundle_sha256") == sha256 and rescore.get("n", 0) > 0
            and rescore.get("videos_verified")):  # fmt: skip
        when = str(record.get("validated_at", ""))[:10]
        carried = len(scored_columns(bundle.rows))
        done = len(rescore.get("columns", []))
        which = "every metric" if rescore.get("all_columns") else f"{done} of {carried} metrics"
        return f"re-scored by jtbench ({rescore['n']} videos sampled, {which}, {when})", True
    own = f"{bundle.submission.get('evaluated_by')} (self-reported)"
    if record and record.get("bundle_sha256") == sha256 and not record.get("ok"):
        own += "; jtbench validate FAILED"
    return own, False


def load_entries(paths: Sequence[str | Path]) -> list[Entry]:
    """Every bundle read with its digests checked; two bundles of one model and revision are refused."""
    entries = []
    for path in paths:
        bundle = read_bundle(path)
        sha = file_sha256(bundle.path)
        entries.append(Entry(bundle, sha, *evaluated_by(bundle, sha)))
    labels = [e.label for e in entries]
    twice = sorted({x for x in labels if labels.count(x) > 1})
    if twice:
        raise InputError(f"several bundles are the same model and revision: {', '.join(twice)}",
                         fix="give each a distinct revision in its submission info")  # fmt: skip
    return entries


def _submission_row(entry: Entry, columns: Sequence[str]) -> dict:
    s, rows = entry.bundle.submission, entry.bundle.rows
    means = method_means(rows, columns=list(columns), by=("method",)).iloc[0]
    return {
        "group": group_of(s["base_model"]), "kind": "submission", "Model": entry.label, "model_link": s["model_link"],
        "Method": s["method"], "Base": s["base_model"], "Sampled by": s["sampled_by"],
        "Evaluated by": entry.evaluated_by, "rescored": entry.rescored, "Access": s["access"], "Date": s.get("date"),
        "backbones": s.get("backbones"), "videos": len(rows), "bundle": entry.bundle.path.name,
        "bundle_sha256": entry.sha256, **{c: float(means[c]) for c in columns},
    }  # fmt: skip


def _reference_rows(ref: ReferenceTable) -> list[dict]:
    return [
        {"group": group_of(ref.base_model), "kind": "paper", "Model": f"{r['method']} ({ref.title})",
         "model_link": None, "Method": r["method"], "Base": ref.base_model, "Sampled by": PAPER_SOURCE,
         "Evaluated by": f"{PAPER_SOURCE} (printed values)", "rescored": False, "Access": None, "Date": None,
         "backbones": "paper", "videos": None, "bundle": None, "bundle_sha256": None,
         **{c: float(r[c]) for c in PAPER_COLUMNS}}
        for r in ref.rows.to_dict("records")
    ]  # fmt: skip


def main_references(names: Sequence[str] | None = None) -> list[ReferenceTable]:
    """The paper tables shown beside submissions: by default every ``main`` table with the ten columns."""
    tables = [load_reference(n) for n in (names if names is not None else reference_names())]
    return [t for t in tables if t.has_paper_columns and (names is not None or t.kind == "main")]


def extra_columns(entries: Sequence[Entry]) -> list[str]:
    """Metric columns beyond the ten that some bundle carries (profiles', whatever their name), in first-seen order."""
    out: list[str] = []
    for entry in entries:
        out += [c for c in scored_columns(entry.bundle.rows) if c not in PAPER_COLUMNS and c not in out]
    return out


def profile_name(column: str) -> str:
    """The profile a column belongs to: the registered one, else the ``@<Paper>`` suffix of its name."""
    profile = profile_of_column(column)
    if profile is not None:
        return profile.name
    return column.partition("@")[2] or "other"


def board(entries: Sequence[Entry], references: Sequence[ReferenceTable]) -> pd.DataFrame:
    """Every row of the site: group, kind, the info columns, ARS/NAS/AAS (per group) and the ten, then extras."""
    extras = extra_columns(entries)
    rows = [_submission_row(e, [*PAPER_COLUMNS, *[c for c in extras if c in e.bundle.rows]]) for e in entries]
    for ref in references:
        rows += _reference_rows(ref)
    frame = pd.DataFrame(rows)
    for column in [*PAPER_COLUMNS, *extras]:
        frame[column] = pd.to_numeric(frame.get(column), errors="coerce").astype("float64")
    present = [g for g in GROUP_ORDER if g in set(frame["group"]) and (frame["group"][frame["kind"] == "submission"]
                                                                      == g).any()]  # fmt: skip
    frame = frame[frame["group"].isin(present)]  # a paper group with no submission has nothing to compare
    frame = frame.assign(_g=frame["group"].map(GROUP_ORDER.index)).sort_values(["_g", "kind", "Model"],
                                                                              ascending=[True, False, True])
    frame = add_composites(frame.drop(columns="_g").reset_index(drop=True), PAPER_COLUMNS, group_by=["group"])
    return frame


def per_video_rows(entries: Sequence[Entry]) -> pd.DataFrame:
    """Every bundled row, with the submission it came from (the raw numbers behind the board)."""
    frames = [e.bundle.rows.assign(submission=e.label, bundle_sha256=e.sha256) for e in entries]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def board_columns(frame: pd.DataFrame) -> list[str]:
    """The CSV/JSON column order: identity and provenance, composites, the ten, then profile columns."""
    head = ["group", "kind", *INFO_COLUMNS, "model_link", "rescored", "backbones", "videos", "bundle", "bundle_sha256"]
    return [*head, *COMPOSITES, *PAPER_COLUMNS, *[c for c in frame.columns if c not in (*head, *COMPOSITES,
                                                                                          *PAPER_COLUMNS)]]
