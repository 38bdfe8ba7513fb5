"""Reports: the paper's tables (Markdown, LaTeX, CSV), statistics, plots and an HTML report.

Composites (:mod:`.composites`) are pure functions; :mod:`.build` assembles tables from per-video
results and the paper's reference rows; :mod:`.markdown`, :mod:`.latex`, :mod:`.csv_format` and
:mod:`.html` render them.
"""

from jtbench.report.api import FORMATS, report_text, write_report
from jtbench.report.build import TABLES, ReportOptions, build_table
from jtbench.report.composites import aas, add_composites, ars, competition_rank, nas
from jtbench.report.inputs import ReportInputs, gather

__all__ = [
    "FORMATS",
    "TABLES",
    "ReportInputs",
    "ReportOptions",
    "aas",
    "add_composites",
    "ars",
    "build_table",
    "competition_rank",
    "gather",
    "nas",
    "report_text",
    "write_report",
]
