"""Table builders: main, ablation, per-category, per-video and paired, one registry entry each.

Each builder turns :class:`ReportInputs` into one :class:`ReportTable`. Composites are always
computed by jtbench over the rows shown together (within each category / case for the
breakdowns); reference rows enter with the ten values the paper prints, never its composites.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from jtbench.errors import InputError
from jtbench.metrics.base import PAPER_COLUMNS
from jtbench.registry import Registry
from jtbench.report.aggregate import (
    CATEGORY_DIMENSIONS,
    MixedRowsWarning,
    bootstrap_ci,
    category_order,
    coverage_notes,
    method_means,
    mixing_problems,
    paired_wilcoxon,
)
from jtbench.report.composites import COMPOSITES, add_composites
from jtbench.report.external import own_columns_table, profile_table
from jtbench.report.inputs import LABEL, ReportInputs
from jtbench.report.model import ReportTable, default_directions

COMPOSITE_NOTE = "ARS, NAS and AAS computed by jtbench from the ten metric values over the rows shown (SPEC §3)."


@dataclass(frozen=True)
class ReportOptions:
    ci: bool = False
    ci_resamples: int = 1000
    ci_level: float = 0.95
    seed: int = 0
    compare: tuple[str, str] | None = None
    breakdowns: tuple[str, ...] = CATEGORY_DIMENSIONS
    allow_mixed: bool = False
    title: str | None = None
    profile: str | None = None  # --table profile: which paper profile's columns


Builder = Callable[[ReportInputs, ReportOptions], ReportTable]
TABLES: Registry[Builder] = Registry("report table")


def build_table(kind: str, inputs: ReportInputs, options: ReportOptions | None = None) -> ReportTable:
    """Build the ``kind`` table (``main``, ``ablation``, ``per-category``, ``per-video``, ``paired``)."""
    options = options or ReportOptions()
    builder = TABLES.get(kind)
    problems = mixing_problems(inputs.results, [r.base_model for r in inputs.references])
    if problems and not options.allow_mixed:
        for problem in problems:
            warnings.warn(f"{problem}; pass --allow-mixed if this is intended", MixedRowsWarning, stacklevel=2)
    return builder(inputs, options)


# -- main and ablation -------------------------------------------------------------------------
def _reference_rows(inputs: ReportInputs) -> tuple[pd.DataFrame, list[str]]:
    """Reference rows labelled for display: plain names alone, "(paper)" beside results."""
    refs = inputs.references
    frames, notes = [], []
    for ref in refs:
        rows = ref.rows.copy()
        if inputs.has_results or len(refs) > 1:
            suffix = "paper" if len(refs) == 1 else ref.name
            rows["method"] = rows["method"] + f" ({suffix})"
        frames.append(rows)
        notes.append(f"Reference rows: {ref.title}, values as printed in the paper ({ref.file.name}).")
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), notes


TINY_MARK = "tiny random backbones: NOT the paper's metrics"


def _tiny_labels(inputs: ReportInputs) -> list[str]:
    """Result rows scored with tiny random backbones, by label (results tables name them in ``backbones``)."""
    if not inputs.has_results or "backbones" not in inputs.results:
        return []
    tiny = inputs.results["backbones"].astype(str).str.startswith("tiny")
    return sorted(inputs.results.loc[tiny, LABEL].unique())


def _by_base(results: pd.DataFrame) -> pd.DataFrame:
    """Rows grouped by base model (the UNets, then the DiTs: ``BASE_ORDER``; others after), then by label."""
    if "base_model" not in results.columns or results["base_model"].nunique(dropna=True) < 2:
        return results.sort_values(LABEL, kind="stable")
    from jtbench.methods.t2v.bases import BASE_ORDER

    order = {name: i for i, name in enumerate(BASE_ORDER)}
    rank = results["base_model"].map(lambda b: order.get(b, len(order)))
    return results.assign(_base_rank=rank).sort_values(["_base_rank", "base_model", LABEL],
                                                       kind="stable").drop(columns="_base_rank")


def _port_notes(inputs: ReportInputs) -> list[str]:
    """A footnote for rows on a base whose method code is jtbench's port (Wan2.1: no official code)."""
    if not inputs.has_results or "base_model" not in inputs.results:
        return []
    from jtbench.methods.t2v.bases import BASES

    notes = []
    for base, rows in inputs.results.groupby("base_model", sort=True):
        jointtuner = rows["method"].astype(str).str.startswith("jointtuner").any()
        if base in BASES and (label := BASES.get(base).label) and jointtuner:
            notes.append(f"{base}: JointTuner on {base} is a {label}; its rows are not a reproduction.")
    return notes


def _main(inputs: ReportInputs, options: ReportOptions, kind: str = "main") -> ReportTable:
    if any(not r.has_paper_columns for r in inputs.references):
        return _with_tiny_note(own_columns_table(inputs, options.title, kind), inputs)
    ref_rows, notes = _reference_rows(inputs)
    parts = [ref_rows] if len(ref_rows) else []
    ci = None
    if inputs.has_results:
        results = _by_base(inputs.results)
        means = method_means(results, by=(LABEL,))
        notes += [f"Means over videos: {', '.join(f'{r[LABEL]} ({int(r.n_videos)})' for _, r in means.iterrows())}."]
        notes += coverage_notes(means, label=LABEL)
        parts.append(means.rename(columns={LABEL: "method"})[["method", *PAPER_COLUMNS]])
        if options.ci:
            ci = bootstrap_ci(
                results, by=LABEL, n_resamples=options.ci_resamples, level=options.ci_level, seed=options.seed
            ).rename(columns={LABEL: "method"})
    frame = add_composites(pd.concat(parts, ignore_index=True))
    if ci is not None:
        ci = frame[["method"]].merge(ci, on="method", how="left")
    values = [*COMPOSITES, *PAPER_COLUMNS]
    title = options.title or "; ".join(
        ([f"jtbench results ({', '.join(sorted(inputs.results[LABEL].unique()))})"] if inputs.has_results else [])
        + [r.title for r in inputs.references]
    )
    notes += _port_notes(inputs)
    tiny = _tiny_labels(inputs)
    if tiny:  # seeded random models: their numbers must never pass for the paper's
        notes.append(f"{', '.join(tiny)}: scored with tiny random backbones (--backbones tiny), NOT the paper's.")
        title += "" if TINY_MARK in title else f" ({TINY_MARK})"
    return ReportTable(
        title=title,
        frame=frame,
        labels=["method"],
        values=values,
        marked=values,
        directions=default_directions(values),
        ci=ci,
        ci_level=options.ci_level,
        notes=[COMPOSITE_NOTE, *notes],
        key="-".join([kind, *([] if inputs.has_results else [r.name for r in inputs.references])]),
    )


def _with_tiny_note(table: ReportTable, inputs: ReportInputs) -> ReportTable:
    """Mark a table holding rows scored with tiny random backbones (title and a note)."""
    tiny = _tiny_labels(inputs)
    if tiny:
        table.notes.append(f"{', '.join(tiny)}: scored with tiny random backbones (--backbones tiny), NOT real models.")
        table.title += "" if TINY_MARK in table.title else f" ({TINY_MARK})"
    return table


def _profile(inputs: ReportInputs, options: ReportOptions) -> ReportTable:
    """One paper profile's columns (``jtbench report --profile NAME``), apart from the ten."""
    if options.profile is None:
        raise InputError("--table profile needs a profile name", fix="pass --profile NAME (`jtbench list profiles`)")
    table = profile_table(inputs, options.profile, options.title)
    table.notes += _reference_note(inputs, f"{options.profile} profile")
    return _with_tiny_note(table, inputs)


def _ablation(inputs: ReportInputs, options: ReportOptions) -> ReportTable:
    """The ablation table: the main layout, one row per variant (Table 3 of the paper)."""
    return _main(inputs, options, kind="ablation")


# -- breakdowns ----------------------------------------------------------------------------------
def _require_results(inputs: ReportInputs, kind: str) -> pd.DataFrame:
    if not inputs.has_results:
        raise InputError(
            f"--table {kind} needs per-video results; the paper reports no {kind} values",
            fix="pass RESULTS (results.parquet files or folders written by `jtbench score`)",
        )
    return inputs.results


def _subtitle(options: ReportOptions, what: str) -> str:
    """A breakdown's title: the user's title (if any) plus what the table shows."""
    return f"{options.title}: {what}" if options.title else what[0].upper() + what[1:]


def _reference_note(inputs: ReportInputs, kind: str) -> list[str]:
    if not inputs.references:
        return []
    names = ", ".join(r.name for r in inputs.references)
    return [f"Reference rows ({names}) are not shown: the paper has no {kind} values."]


def _per_category(inputs: ReportInputs, options: ReportOptions) -> ReportTable:
    results = _require_results(inputs, "per-category")
    parts, cis, notes = [], [], []
    for dim in options.breakdowns:
        order = category_order(dim)
        rows = results[results[dim].notna()]
        if len(rows) < len(results):
            notes.append(f"{dim}: {len(results) - len(rows)} videos without a benchmark case are left out.")
        rows = rows.assign(_cat=pd.Categorical(rows[dim], categories=order, ordered=True))
        rows = rows.sort_values(["_cat", LABEL], kind="stable")
        means = method_means(rows, by=(dim, LABEL))
        means.insert(0, "breakdown", dim)
        parts.append(means.rename(columns={dim: "category", LABEL: "method"}))
        if options.ci:
            keyed = rows.assign(_row=dim + "|" + rows[dim].astype(str) + "|" + rows[LABEL])
            cis.append(
                bootstrap_ci(
                    keyed, by="_row", n_resamples=options.ci_resamples, level=options.ci_level, seed=options.seed
                )
            )
    frame = pd.concat(parts, ignore_index=True)
    frame = add_composites(
        frame[["breakdown", "category", "method", *PAPER_COLUMNS]], group_by=["breakdown", "category"]
    )
    ci = None
    if cis:
        row_key = frame["breakdown"] + "|" + frame["category"].astype(str) + "|" + frame["method"]
        ci = pd.DataFrame({"_row": row_key}).merge(pd.concat(cis), on="_row", how="left").drop(columns="_row")
    values = [*COMPOSITES, *PAPER_COLUMNS]
    return ReportTable(
        title=_subtitle(options, "per-category means over videos"),
        frame=frame,
        labels=["breakdown", "category", "method"],
        values=values,
        marked=values,
        group_by=["breakdown", "category"],
        directions=default_directions(values),
        ci=ci,
        ci_level=options.ci_level,
        notes=[
            COMPOSITE_NOTE.replace("over the rows shown", "within each category"),
            *notes,
            *_reference_note(inputs, "per-category"),
        ],
        key="per-category",
    )


def _per_video(inputs: ReportInputs, options: ReportOptions) -> ReportTable:
    results = _require_results(inputs, "per-video")
    case = results["case_id"].fillna(results["prompt"]).fillna(results["video"])
    frame = pd.DataFrame({"case": case, "method": results[LABEL], "seed": results["seed"]})
    frame = pd.concat([frame, results[list(PAPER_COLUMNS)]], axis=1)
    frame = frame.sort_values(["case", "method", "seed"], kind="stable").reset_index(drop=True)
    frame["seed"] = frame["seed"].astype("object").where(frame["seed"].notna(), None)
    frame = add_composites(frame, group_by=["case"])
    values = [*COMPOSITES, *PAPER_COLUMNS]
    return ReportTable(
        title=_subtitle(options, "per-video scores"),
        frame=frame,
        labels=["case", "method", "seed"],
        values=values,
        marked=values,
        group_by=["case"],
        directions=default_directions(values),
        notes=[
            COMPOSITE_NOTE.replace("over the rows shown", "among the videos of each case"),
            *_reference_note(inputs, "per-video"),
        ],
        key="per-video",
    )


def _paired(inputs: ReportInputs, options: ReportOptions) -> ReportTable:
    results = _require_results(inputs, "paired")
    if options.compare is None:
        raise InputError("--table paired needs two methods", fix="pass --compare A,B")
    a, b = options.compare
    frame = paired_wilcoxon(results, a, b)
    values = [c for c in frame.columns if c != "metric"]
    return ReportTable(
        title=_subtitle(options, f"paired comparison of {a} vs {b} (Wilcoxon signed-rank on matched cases)"),
        frame=frame,
        labels=["metric"],
        values=values,
        decimals={"n": 0, "W": 1, "p": 4},
        notes=[
            "Cases matched by case_id; the seeds of one case are averaged first; n = matched cases with both values.",
            "Two-sided Wilcoxon signed-rank test (scipy.stats.wilcoxon defaults: zero differences dropped).",
        ],
        key="paired",
    )


for _name, _builder in {
    "main": _main,
    "ablation": _ablation,
    "per-category": _per_category,
    "per-video": _per_video,
    "paired": _paired,
    "profile": _profile,
}.items():
    TABLES.add(_name, _builder)


def parse_compare(text: str | None) -> tuple[str, str] | None:
    """``"a,b"`` → ("a", "b")."""
    if not text:
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise InputError(f"--compare {text!r} is not two method names", fix="pass --compare A,B")
    return parts[0], parts[1]


def parse_breakdowns(text: str | Sequence[str] | None) -> tuple[str, ...]:
    if not text:
        return CATEGORY_DIMENSIONS
    items = [t.strip() for t in text.split(",")] if isinstance(text, str) else list(text)
    for item in items:
        category_order(item)  # raises with the valid names
    return tuple(items)
