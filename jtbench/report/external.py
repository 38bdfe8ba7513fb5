"""Tables outside the paper's ten: other papers' own-column tables and paper-profile columns.

Neither enters ARS/NAS/AAS. An own-columns reference (CustomTTT's supplement, the paper's
Table 2) is shown as printed; when its ``index.yaml`` entry maps result columns onto its
columns (``result_columns``), result rows are shown beside the printed ones, their means put on
the table's scale, under a footnote saying what the mapping rests on. A profile table
(``jtbench report --profile NAME``) shows one profile's columns per method.
"""

from __future__ import annotations

import pandas as pd

from jtbench.errors import InputError
from jtbench.metrics.base import METRICS
from jtbench.metrics.profiles import PROFILES, Profile, get_profile
from jtbench.registry import import_target
from jtbench.report.aggregate import coverage_notes, method_means
from jtbench.report.inputs import LABEL, ReportInputs
from jtbench.report.model import ReportTable, default_directions
from jtbench.report.reference import ReferenceTable


def _higher_is_better(column: str) -> bool:
    try:
        return METRICS.get(column).spec.higher_is_better
    except Exception:  # not a registered column: every metric shown here is higher-is-better
        return True


def _result_rows(inputs: ReportInputs, ref: ReferenceTable) -> tuple[pd.DataFrame, list[str]]:
    """Per-method means of the mapped result columns, on the reference's scale, with notes."""
    results = inputs.results.sort_values(LABEL, kind="stable")
    mapped = ref.result_columns.items()
    present = {t: (c, f) for t, (c, f) in mapped if c in results.columns and results[c].notna().any()}
    if not present:
        wanted = ", ".join(sorted({c for c, _ in ref.result_columns.values()}))
        raise InputError(
            f"the results carry none of the columns {ref.name} is filled from ({wanted})",
            fix="score the videos with them: jtbench score ... --profile dreamvideo --metrics Mot-Fid",
        )
    sources = [c for c, _ in present.values()]
    means = method_means(results, columns=sources, by=(LABEL,))
    rows = pd.DataFrame({"method": means[LABEL]})
    for column in ref.metric_columns:
        source = present.get(column)
        rows[column] = means[source[0]] * source[1] if source else None
    notes = [f"Means over videos: {', '.join(f'{r[LABEL]} ({int(r.n_videos)})' for _, r in means.iterrows())}."]
    notes += coverage_notes(means, label=LABEL, columns=sources)
    missing = [f"{t} (needs {c})" for t, (c, _) in ref.result_columns.items() if t not in present]
    if missing:
        notes.append(f"Not in the results, left empty for jtbench rows: {', '.join(missing)}.")
    return rows, notes


def own_columns_table(inputs: ReportInputs, title: str | None, kind: str) -> ReportTable:
    """A reference table with its own columns: as printed, plus result rows where the index maps them."""
    own = [r for r in inputs.references if not r.has_paper_columns]
    ref = own[0]
    if len(inputs.references) != 1 or (inputs.has_results and not ref.result_columns):
        names = ", ".join(r.name for r in own)
        raise InputError(
            f"reference {names} has its own columns, not the ten metrics, so it cannot share a table",
            fix=f"report it alone: jtbench report --reference {names.split(', ')[0]}",
        )
    frame, notes = ref.rows.copy(), [f"Reference rows: {ref.title}, as printed ({ref.file.name}); no composites."]
    if inputs.has_results:
        rows, result_notes = _result_rows(inputs, ref)
        frame["method"] = frame["method"] + " (paper)"
        frame = pd.concat([frame, rows], ignore_index=True)
        mapping = "; ".join(
            f"{t} = {c}" + (f" x {f:g}" if f != 1 else "") for t, (c, f) in ref.result_columns.items()
        )
        notes += [f"jtbench rows: {mapping}.", *([ref.mapping_note] if ref.mapping_note else []), *result_notes]
    columns = ref.metric_columns
    numeric = [c for c in columns if c in ref.result_columns or pd.api.types.is_float_dtype(ref.rows[c])]
    for column in numeric:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    directions = default_directions(columns) | {
        t: _higher_is_better(c) for t, (c, _) in ref.result_columns.items() if t in columns
    }
    return ReportTable(
        title=title or ref.title,
        frame=frame,
        labels=["method"],
        values=columns,
        marked=numeric,
        decimals=dict.fromkeys(numeric, ref.decimals),
        directions=directions,
        notes=notes,
        key=kind,
    )


def profile_columns_in(results: pd.DataFrame | None, profile: Profile) -> list[str]:
    """The profile's columns that some result row has a value for."""
    if results is None:
        return []
    return [c for c in profile.columns if c in results.columns and results[c].notna().any()]


def result_profiles(inputs: ReportInputs) -> list[str]:
    """Names of the profiles some result row has a value for (the HTML report's profile sections)."""
    if not inputs.has_results:
        return []
    return [name for name in PROFILES.names() if profile_columns_in(inputs.results, PROFILES.get(name))]


def profile_table(inputs: ReportInputs, name: str, title: str | None = None) -> ReportTable:
    """Per-method means of one profile's columns (never in ARS/NAS/AAS), on the profile's scale."""
    profile = get_profile(name)
    if not inputs.has_results:
        raise InputError(f"--profile {name} needs per-video results", fix="pass RESULTS from `jtbench score --profile`")
    columns = profile_columns_in(inputs.results, profile)
    if not columns:
        raise InputError(
            f"the results carry no {name} column ({', '.join(profile.columns)})",
            fix=f"score them with: jtbench score ... --profile {name}",
        )
    results = inputs.results.sort_values(LABEL, kind="stable")
    means = method_means(results, columns=columns, by=(LABEL,))
    frame = means.rename(columns={LABEL: "method"})[["method", *columns]]
    values, extra_notes = list(columns), []
    if profile.aggregation is not None:  # the source's own dataset-level numbers, beside the means
        aggregate = import_target(profile.aggregation)
        extra, extra_notes = aggregate(results, LABEL, columns)  # type: ignore[operator]
        frame = frame.merge(extra.rename(columns={LABEL: "method"}), on="method", how="left")
        values += [c for c in extra.columns if c != LABEL]
    return ReportTable(
        title=title or f"Profile {name}: {profile.title}",
        frame=frame,
        labels=["method"],
        values=values,
        marked=values,
        decimals=dict.fromkeys(values, 4),  # the script prints four digits
        directions={c: _higher_is_better(c) for c in columns} | {c: True for c in values if c not in columns},
        notes=[
            f"Profile {name} ({profile.scale} scale), computed as {profile.source}; not part of ARS/NAS/AAS.",
            *profile.notes,
            *extra_notes,
            *coverage_notes(means.rename(columns={LABEL: "method"}), columns=columns),
        ],
        key=f"profile-{name}",
    )
