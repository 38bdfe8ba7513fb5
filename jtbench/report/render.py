"""Text formats of a :class:`ReportTable`, one registry entry each (``--format md|latex|csv``).

HTML is not here: it is a folder with plots and videos (:mod:`jtbench.report.html`).
"""

from __future__ import annotations

from collections.abc import Callable

from jtbench.registry import Registry
from jtbench.report.model import ReportTable

Renderer = Callable[[ReportTable], str]
RENDERERS: Registry[Renderer] = Registry("report format")
RENDERERS.add("md", "jtbench.report.markdown:render_markdown", aliases=("markdown",))
RENDERERS.add("latex", "jtbench.report.latex:render_latex", aliases=("tex",))
RENDERERS.add("csv", "jtbench.report.csv_format:render_csv")


def render(table: ReportTable, fmt: str) -> str:
    """The table as text in ``fmt`` (``md``, ``latex`` or ``csv``)."""
    return RENDERERS.get(fmt)(table)


def label_title(column: str) -> str:
    """Display title of a label column (``method`` → ``Method``)."""
    return column.replace("_", " ").capitalize()
