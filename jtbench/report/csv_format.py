"""CSV: label columns, then ARS, NAS, AAS and the metrics, formatted to the digits shown.

Values are written as the table shows them (two decimals), so a CSV row reads like the paper's
row; confidence intervals, when asked for, follow as ``<col> CI low`` / ``<col> CI high``.
"""

from __future__ import annotations

import csv
import io

from jtbench.report.model import ReportTable


def render_csv(table: ReportTable) -> str:
    ci_columns = []
    if table.ci is not None:
        ci_columns = [f"{c} CI {side}" for c in table.values for side in ("low", "high") if f"{c} CI low" in table.ci]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*table.labels, *table.values, *ci_columns])
    for position, (_, row) in enumerate(table.frame.iterrows()):
        cells = [table.format(c, row[c]) or "" for c in (*table.labels, *table.values)]
        if ci_columns:
            ci_row = table.ci.iloc[position]
            cells += [table.format(c.rsplit(" CI ", 1)[0], ci_row[c]) or "" for c in ci_columns]
        writer.writerow(cells)
    return buffer.getvalue()
