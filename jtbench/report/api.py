"""One call from inputs to a written report: used by ``jtbench report``, ``jtbench run`` and rebuild."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from jtbench.io.atomic import write_text
from jtbench.report.build import ReportOptions, build_table
from jtbench.report.inputs import ReportInputs, gather
from jtbench.report.render import RENDERERS, render

FORMATS = ("md", "latex", "csv", "html")


def report_text(
    inputs: ReportInputs, *, fmt: str = "md", table: str = "main", options: ReportOptions | None = None
) -> str:
    """The ``table`` of ``inputs`` rendered as ``fmt`` (md, latex or csv)."""
    renderer_name = RENDERERS.canonical(fmt)
    return render(build_table(table, inputs, options), renderer_name)


def write_report(
    out: str | Path,
    results: Sequence[str | Path] = (),
    references: str | Sequence[str] | None = None,
    *,
    fmt: str = "md",
    table: str = "main",
    options: ReportOptions | None = None,
    base: str | None = None,
    methods: Sequence[str] | None = None,
    thumbnails: str = "gif",
) -> Path:
    """Write a report file (md/latex/csv) or, for ``html``, a self-contained folder; returns the path."""
    inputs = gather(results, references, base=base, methods=methods)
    out = Path(out)
    if fmt == "html":
        from jtbench.report.html import write_html_report

        return write_html_report(inputs, out, options=options, thumbnails=thumbnails)
    return write_text(out, report_text(inputs, fmt=fmt, table=table, options=options))


def write_plots(inputs: ReportInputs, folder: str | Path, options: ReportOptions | None = None) -> list[Path]:
    """Radar (main table) and per-category bar charts (when there are results) as PNG and SVG."""
    from jtbench.report.plots import write_figures

    main = build_table("main", inputs, options)
    per_category = build_table("per-category", inputs, options) if inputs.has_results else None
    return [path for paths in write_figures(main, per_category, folder).values() for path in paths]
