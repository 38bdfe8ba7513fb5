"""A static, self-contained HTML report: one folder with ``index.html``, ``assets/`` and ``media/``.

Contents: the main table (best bold, second underlined, CIs when asked), one table per paper
profile the results carry (``dreamvideo``: its own section, never in the composites), the
per-category tables, the radar and per-category bar charts, and a video grid (rows = combinations,
columns = methods, one tab per background) of previews made from the scored videos. Tabs are
pure CSS (radio buttons), so the page needs no script and works from ``file://``.
"""

from __future__ import annotations

import html
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd

from jtbench.benchmark import Benchmark
from jtbench.io.atomic import write_text
from jtbench.report.build import ReportOptions, build_table
from jtbench.report.external import result_profiles
from jtbench.report.inputs import LABEL, SOURCE, ReportInputs
from jtbench.report.model import Mark, ReportTable
from jtbench.report.plots import write_figures
from jtbench.report.render import label_title
from jtbench.report.thumbnails import make_thumbnail, resolve_video

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table.scores { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
table.scores th, table.scores td { padding: 0.2rem 0.5rem; border-bottom: 1px solid #ddd; }
table.scores td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.scores thead th { border-bottom: 2px solid #444; }
ul.notes { font-size: 0.8rem; color: #555; }
figure { display: inline-block; margin: 0.5rem; } figure img { max-width: 100%; }
.tabs > input { display: none; }
.tabs > label { display: inline-block; padding: 0.3rem 0.8rem; border: 1px solid #ccc; cursor: pointer; }
.tabs > .panel { display: none; padding-top: 0.5rem; }
.tabs > input:checked + label { background: #eee; font-weight: bold; }
table.grid td, table.grid th { padding: 0.2rem; text-align: center; font-size: 0.75rem; }
table.grid img, table.grid video { height: 112px; display: block; }
"""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


def table_html(table: ReportTable) -> str:
    """A ReportTable as an HTML table with <b> best and <u> second best."""
    marks = table.marks()
    head = [f"<th>{html.escape(label_title(c))}</th>" for c in table.labels]
    head += [f"<th>{html.escape(table.header(c))}</th>" for c in table.values]
    body = []
    for index, row in table.frame.iterrows():
        cells = [f"<td>{html.escape(table.format(c, row[c]) or '–')}</td>" for c in table.labels]
        for col in table.values:
            text = html.escape(table.format(col, row[col]) or "–")
            mark = marks.at[index, col] if col in marks.columns else None
            text = f"<b>{text}</b>" if mark is Mark.best else f"<u>{text}</u>" if mark is Mark.second else text
            cells.append(f'<td class="num">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in table.notes)
    return (
        f'<h2>{html.escape(table.title)}</h2>\n<table class="scores" data-table="{html.escape(table.key)}">'
        f"<thead><tr>{''.join(head)}</tr></thead>\n<tbody>\n"
        + "\n".join(body)
        + "\n</tbody></table>\n"
        + (f'<ul class="notes">{notes}</ul>\n' if notes else "")
    )


def _figure_html(paths: list[Path], root: Path, caption: str) -> str:
    png, svg = (p.relative_to(root).as_posix() for p in paths)
    return (
        f'<figure><a href="{svg}"><img src="{png}" alt="{html.escape(caption)}"></a>'
        f'<figcaption>{html.escape(caption)} (<a href="{svg}">SVG</a>)</figcaption></figure>\n'
    )


def _media_html(path: Path, root: Path, alt: str) -> str:
    src = html.escape(path.relative_to(root).as_posix())
    if path.suffix == ".mp4":
        return f'<video src="{src}" autoplay muted loop playsinline title="{html.escape(alt)}"></video>'
    return f'<img src="{src}" alt="{html.escape(alt)}" loading="lazy">'


def video_grid(results: pd.DataFrame, root: Path, *, fmt: str = "gif") -> tuple[str, str, list[str]]:
    """The grid's HTML, its per-tab CSS rules, and notes on videos that could not be shown."""
    bench = Benchmark.load()
    rows = results[results["case_id"].notna()].sort_values(
        ["case_id", LABEL, "seed"], kind="stable", na_position="last"
    )
    first = rows.drop_duplicates(subset=["case_id", LABEL], keep="first")
    methods = sorted(first[LABEL].unique())
    combo_order = {c.id: i for i, c in enumerate(bench.combinations())}
    backgrounds = [b for b in bench.manifest.backgrounds if b in set(first["background"])]
    media, notes, missing = root / "media", [], 0
    panels, rules, inputs = [], [], []
    for i, bg in enumerate(backgrounds):
        tab = f"tab-{_slug(bg)}"
        inputs.append(f'<input type="radio" name="background" id="{tab}"{" checked" if i == 0 else ""}>')
        inputs.append(f'<label for="{tab}">{html.escape(bg)}</label>')
        rules.append(f"#{tab}:checked ~ #panel-{_slug(bg)} {{ display: block; }}")
        here = first[first["background"] == bg]
        combos = sorted(
            set(here["subject"] + "__" + here["motion"]), key=lambda c: (combo_order.get(c, len(combo_order)), c)
        )
        head = "<th>combination</th>" + "".join(f"<th>{html.escape(m)}</th>" for m in methods)
        body = []
        for combo in combos:
            cells = [f"<th>{html.escape(combo.replace('__', ' × '))}</th>"]
            for method in methods:
                match = here[(here["subject"] + "__" + here["motion"] == combo) & (here[LABEL] == method)]
                cell = "–"
                if len(match):
                    row = match.iloc[0]
                    video = resolve_video(row["video"], row.get(SOURCE))
                    if video is None:
                        missing += 1
                        cell = "video not found"
                    else:
                        thumb = make_thumbnail(video, media, _slug(str(row["video_sha256"])), fmt=fmt)
                        cell = _media_html(thumb, root, f"{method}: {row['case_id']}")
                cells.append(f"<td>{cell}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        panels.append(
            f'<div class="panel" id="panel-{_slug(bg)}"><table class="grid"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>"
        )
    if missing:
        notes.append(f"{missing} scored videos were not found on disk; their cells say so.")
    if not backgrounds:
        return "<p>No scored videos with a benchmark case to show.</p>\n", "", notes
    grid = '<div class="tabs">' + "".join(inputs) + "".join(panels) + "</div>\n"
    return grid, "\n".join(rules), notes


def write_html_report(
    inputs: ReportInputs, out: Path, *, options: ReportOptions | None = None, thumbnails: str = "gif"
) -> Path:
    """Write ``out/index.html`` with its assets; returns ``out``."""
    options = options or ReportOptions()
    out = Path(out)
    sections, grid_rules = [], ""
    main = build_table("main", inputs, options)
    sections.append(table_html(main))
    if main.ci is not None:
        sections.append(table_html(main.ci_table()))
    for name in result_profiles(inputs):  # paper profiles: their own section, apart from the ten
        sections.append(table_html(build_table("profile", inputs, replace(options, profile=name))))
    per_category = build_table("per-category", inputs, options) if inputs.has_results else None
    figures = write_figures(main, per_category, out / "assets" / "figures")
    if "radar" in figures:
        caption = "Ten metrics, each axis as % of the best row"
        sections.append("<h2>Radar</h2>\n" + _figure_html(figures["radar"], out, caption))
    if per_category is not None:
        sections.append(table_html(per_category))
        bars = [_figure_html(paths, out, name[5:]) for name, paths in figures.items() if name.startswith("bars-")]
        sections.append("<h2>Per-category charts</h2>\n" + "".join(bars))
        if options.compare:
            sections.append(table_html(build_table("paired", inputs, options)))
        grid, grid_rules, notes = video_grid(inputs.results, out, fmt=thumbnails)
        sections.append("<h2>Videos</h2>\n" + grid + "".join(f'<p class="notes">{html.escape(n)}</p>' for n in notes))
    write_text(out / "assets" / "style.css", STYLE.lstrip() + grid_rules + "\n")
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(main.title)}</title>\n"
        '<link rel="icon" href="data:,">\n<link rel="stylesheet" href="assets/style.css">\n</head>\n<body>\n'
        f"<h1>jtbench report</h1>\n{''.join(sections)}</body>\n</html>\n"
    )
    write_text(out / "index.html", page)
    return out
