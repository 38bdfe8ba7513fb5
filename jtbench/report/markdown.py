"""GitHub-flavoured Markdown: best per column in bold, second best underlined (``<u>…</u>``)."""

from __future__ import annotations

from jtbench.report.model import Mark, ReportTable
from jtbench.report.render import label_title

MISSING = "–"


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def _table_lines(table: ReportTable) -> list[str]:
    marks = table.marks()
    header = [label_title(c) for c in table.labels] + [table.header(c) for c in table.values]
    align = [":--"] * len(table.labels) + ["--:"] * len(table.values)
    lines = ["| " + " | ".join(_escape(h) for h in header) + " |", "|" + "|".join(align) + "|"]
    for index, row in table.frame.iterrows():
        cells = [_escape(table.format(c, row[c]) or MISSING) for c in table.labels]
        for col in table.values:
            text = table.format(col, row[col])
            mark = marks.at[index, col] if col in marks.columns else None
            if text is None:
                text = MISSING
            elif mark is Mark.best:
                text = f"**{text}**"
            elif mark is Mark.second:
                text = f"<u>{text}</u>"
            cells.append(_escape(text))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render_markdown(table: ReportTable) -> str:
    """The table under a heading, its CI table if any, then its notes."""
    lines = [f"### {table.title}", "", *_table_lines(table), ""]
    ci = table.ci_table()
    if ci is not None:
        lines += [f"#### {ci.title}", "", *_table_lines(ci), ""]
    if table.notes:
        lines += [f"- {note}" for note in table.notes] + [""]
    return "\n".join(lines)
