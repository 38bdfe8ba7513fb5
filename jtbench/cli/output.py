"""Render a list of records as a rich table, CSV or JSON (the `--format` option everywhere)."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from enum import Enum
from typing import Any


class OutputFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def emit(rows: Sequence[dict[str, Any]], fmt: OutputFormat, title: str | None = None) -> None:
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(list(rows), indent=1) + "\n")
        return
    columns = list(rows[0].keys()) if rows else []
    if fmt is OutputFormat.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*("" if row[c] is None else str(row[c]) for c in columns))
    Console(width=200).print(table)
