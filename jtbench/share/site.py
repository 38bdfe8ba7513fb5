"""The leaderboard's static site: one ``index.html`` (style and script inline, so it opens from disk with no
server and no CDN), ``leaderboard.csv`` and ``leaderboard.json`` (the raw, unrounded numbers).

Tables are :class:`~jtbench.report.model.ReportTable` (the report's formatting and best/second marks);
every header sorts its column on click (a few lines of plain JavaScript over ``data-value``).
"""

from __future__ import annotations

import html
import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from jtbench.io.atomic import write_text
from jtbench.metrics.base import PAPER_COLUMNS
from jtbench.report.build import build_table
from jtbench.report.composites import COMPOSITES
from jtbench.report.inputs import LABEL, ReportInputs, label_rows
from jtbench.report.model import Mark, ReportTable, default_directions
from jtbench.share.leaderboard import (
    GROUP_ORDER,
    INFO_COLUMNS,
    Entry,
    board,
    board_columns,
    extra_columns,
    load_entries,
    main_references,
    profile_name,
)  # fmt: skip

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; } h3 { font-size: 1rem; }
table.board { border-collapse: collapse; font-size: 0.82rem; margin: 0.5rem 0; }
table.board th, table.board td { padding: 0.2rem 0.45rem; border-bottom: 1px solid #ddd; }
table.board th { cursor: pointer; user-select: none; border-bottom: 2px solid #444; white-space: nowrap; }
table.board th[aria-sort=ascending]::after { content: " \\25B2"; }
table.board th[aria-sort=descending]::after { content: " \\25BC"; }
table.board td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.paper td { background: #f4f4f8; font-style: italic; }
span.badge { font-size: 0.7rem; padding: 0 0.3rem; border: 1px solid #888; border-radius: 3px; font-style: normal; }
ul.notes { font-size: 0.8rem; color: #555; }
"""

SCRIPT = """
(function () {
  function key(cell) {
    var v = cell.getAttribute('data-value');
    if (v === null) { return cell.textContent.trim().toLowerCase(); }
    if (v === '') { return null; }
    var x = parseFloat(v);
    return isNaN(x) ? v.toLowerCase() : x;
  }
  function sortBy(table, index, th) {
    var dir = th.getAttribute('aria-sort') === 'descending' ? 'ascending' : 'descending';
    table.querySelectorAll('thead th').forEach(function (h) { h.setAttribute('aria-sort', 'none'); });
    th.setAttribute('aria-sort', dir);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[index]), y = key(b.cells[index]);
      if (x === null || y === null) { return (x === null) - (y === null); }
      var c = (typeof x === 'number' && typeof y === 'number') ? x - y : String(x).localeCompare(String(y));
      return dir === 'ascending' ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  document.querySelectorAll('table.board').forEach(function (table) {
    table.querySelectorAll('thead th').forEach(function (th, i) {
      th.setAttribute('aria-sort', 'none');
      th.addEventListener('click', function () { sortBy(table, i, th); });
    });
  });
})();
"""


def _cell(table: ReportTable, column: str, value: object, mark: object, link: str | None) -> str:
    text = html.escape(table.format(column, value) or "–")
    if column in table.values:
        raw = "" if value is None or pd.isna(value) else repr(float(value))
        text = f"<b>{text}</b>" if mark is Mark.best else f"<u>{text}</u>" if mark is Mark.second else text
        return f'<td class="num" data-value="{raw}">{text}</td>'
    if link:
        text = f'<a href="{html.escape(link)}">{text}</a>'
    return f"<td>{text}</td>"


def table_html(table: ReportTable, *, links: pd.Series | None = None, kinds: pd.Series | None = None) -> str:
    """A sortable table: numbers carry ``data-value`` (the raw value); paper rows get the ``paper`` class."""
    marks = table.marks()
    head = "".join(f"<th>{html.escape(table.header(c))}</th>" for c in (*table.labels, *table.values))
    body = []
    for index, row in table.frame.iterrows():
        paper = kinds is not None and kinds[index] == "paper"
        cells = []
        for column in (*table.labels, *table.values):
            mark = marks.at[index, column] if column in marks.columns else None
            link = links[index] if links is not None and column == "Model" and isinstance(links[index], str) else None
            cells.append(_cell(table, column, row[column], mark, link))
        if paper:
            cells[0] = cells[0].replace("</td>", ' <span class="badge">paper</span></td>', 1)
        body.append(f'<tr class="{"paper" if paper else "submission"}">' + "".join(cells) + "</tr>")
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in table.notes)
    return (
        f'<h3>{html.escape(table.title)}</h3>\n<table class="board" data-table="{html.escape(table.key)}">'
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody></table>\n"
        + (f'<ul class="notes">{notes}</ul>\n' if notes else "")
    )  # fmt: skip


def _main_table(group: str, rows: pd.DataFrame) -> ReportTable:
    values = [*COMPOSITES, *PAPER_COLUMNS]
    n_sub, n_paper = int((rows["kind"] == "submission").sum()), int((rows["kind"] == "paper").sum())
    notes = [
        f"ARS, NAS and AAS are computed by jtbench over the {len(rows)} rows of this table ({n_sub} submission(s), "
        f"{n_paper} paper row(s)), from the ten means (SPEC §3): they are relative to what is compared here and "
        "change when rows are added or removed. Paper rows carry the values the paper prints, not its composites.",
        "Evaluated by: 're-scored by jtbench' only when `jtbench validate` passed on this exact bundle (its SHA-256)"
        " and re-scored a sample of its videos; otherwise the submitter's own statement, marked self-reported.",
    ]  # fmt: skip
    tiny = rows.loc[rows["backbones"].astype(str).str.startswith("tiny"), "Model"].tolist()
    if tiny:
        notes.append(f"{', '.join(tiny)}: scored with tiny random backbones (test bundles), NOT the paper's metrics.")
    return ReportTable(
        title=f"{group} base models", frame=rows.reset_index(drop=True), labels=list(INFO_COLUMNS), values=values,
        marked=values, directions=default_directions(values), notes=notes, key=f"main-{group}",
    )  # fmt: skip


def _profile_tables(frame: pd.DataFrame, extras: list[str], wanted: Sequence[str] | None) -> list[ReportTable]:
    subs = frame[frame["kind"] == "submission"].reset_index(drop=True)
    by_profile: dict[str, list[str]] = {}
    for column in extras:
        by_profile.setdefault(profile_name(column), []).append(column)
    out = []
    for name, columns in by_profile.items():
        if wanted and name not in wanted:
            continue
        rows = subs[subs[columns].notna().any(axis=1)].reset_index(drop=True)
        out.append(ReportTable(
            title=f"Profile {name}: {', '.join(columns)}", frame=rows, labels=["Model", "Method", "Base"],
            values=columns, marked=columns, decimals=dict.fromkeys(columns, 4), key=f"profile-{name}",
            notes=["Means over each submission's videos, on the profile's own scale; never part of ARS/NAS/AAS."],
        ))  # fmt: skip
    return out


def _category_table(group: str, entries: Sequence[Entry]) -> tuple[ReportTable, list[str]]:
    frames = []
    for entry in entries:
        rows = label_rows(entry.bundle.rows)
        frames.append(rows.assign(**{LABEL: entry.label}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = build_table("per-category", ReportInputs(results=pd.concat(frames, ignore_index=True)))
    table.title = f"{group}: per-category means over videos (submissions only; the paper prints none)"
    table.key = f"per-category-{group}"
    return table, [str(w.message) for w in caught]


def write_site(
    bundles: Sequence[str | Path], out: str | Path, *, references: Sequence[str] | None = None,
    profiles: Sequence[str] | None = None,
) -> Path:  # fmt: skip
    """Write ``out/index.html``, ``leaderboard.csv`` and ``leaderboard.json``; returns the folder."""
    out = Path(out)
    entries = load_entries(bundles)
    frame = board(entries, main_references(references))
    columns = board_columns(frame)
    frame = frame[columns]
    write_text(out / "leaderboard.csv", frame.to_csv(index=False))
    write_text(out / "leaderboard.json", json.dumps(json.loads(frame.to_json(orient="records")), indent=1) + "\n")
    sections, warnings_seen = [], []
    for group in [g for g in GROUP_ORDER if g in set(frame["group"])]:
        rows = frame[frame["group"] == group].reset_index(drop=True)
        sections.append(f'<h2 id="{group}">{group}</h2>')
        sections.append(table_html(_main_table(group, rows), links=rows["model_link"], kinds=rows["kind"]))
        members = [e for e in entries if e.label in set(rows["Model"])]
        table, seen = _category_table(group, members)
        warnings_seen += seen
        sections.append(f"<details><summary>Per-category breakdown ({group})</summary>{table_html(table)}</details>")
    for table in _profile_tables(frame, extra_columns(entries), profiles):
        sections.append(table_html(table))
    page = _page(sections, entries, warnings_seen)
    write_text(out / "index.html", page)
    return out


def _page(sections: list[str], entries: Sequence[Entry], notes: list[str]) -> str:
    from jtbench import __version__

    warn = "".join(f"<li>{html.escape(n)}</li>" for n in dict.fromkeys(notes))
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>JointTuner benchmark leaderboard</title><style>{STYLE}</style></head><body>\n"
        "<h1>JointTuner benchmark leaderboard</h1>\n"
        f"<p>{len(entries)} submission bundle(s); built by jtbench {__version__}. Raw numbers: "
        '<a href="leaderboard.csv">leaderboard.csv</a>, <a href="leaderboard.json">leaderboard.json</a>. '
        "Click a column header to sort.</p>\n"
        + (f'<ul class="notes">{warn}</ul>\n' if warn else "")
        + "\n".join(sections)
        + f"\n<script>{SCRIPT}</script>\n</body></html>\n"
    )
