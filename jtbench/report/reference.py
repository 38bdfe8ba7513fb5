"""The paper's reported rows (SPEC §4) from ``data_manifests/paper_results/``.

``index.yaml`` names each table (``paper-zeroscope`` = Table 1, ``paper-modelscope`` = Table A3,
``paper-ablation`` = Table 3, ...). The printed composites are kept apart from the metric
values: reports recompute composites from the values, and tests compare against the printed ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from jtbench.errors import InputError, ManifestError, UnknownNameError
from jtbench.metrics.base import PAPER_COLUMNS
from jtbench.paths import manifests_dir
from jtbench.registry import Registry
from jtbench.report.composites import COMPOSITES


@dataclass(frozen=True)
class ReferenceTable:
    """One table of the paper: its rows as printed, with where they came from."""

    name: str  # the --reference name
    title: str
    base_model: str
    kind: str  # main | ablation | single | external
    file: Path
    rows: pd.DataFrame  # method + metric columns (as printed, floats where numeric)
    printed: pd.DataFrame | None  # method + ARS/NAS/AAS as printed, where the paper prints them
    decimals: int  # digits the paper prints for its metric values
    #: how result rows fill this table's columns: column → (result column, factor); empty = they cannot
    result_columns: dict[str, tuple[str, float]] = field(default_factory=dict)
    mapping_note: str | None = None  # what that mapping rests on (shown under the table)

    @property
    def metric_columns(self) -> list[str]:
        return [c for c in self.rows.columns if c != "method"]

    @property
    def has_paper_columns(self) -> bool:
        """True when the rows carry the ten metrics of SPEC §4 (so composites are defined)."""
        return all(c in self.rows.columns for c in PAPER_COLUMNS)


def _index_path(root: Path | None) -> Path:
    return (Path(root) if root is not None else manifests_dir()) / "paper_results" / "index.yaml"


@lru_cache(maxsize=4)
def _index(path: Path) -> tuple[Registry[dict], tuple[str, ...]]:
    """The index as a registry (did-you-mean lookups) plus the names in file order."""
    if not path.is_file():
        raise ManifestError("reference index is missing", file=path, fix="restore data_manifests/paper_results/")
    data = yaml.safe_load(path.read_text()) or {}
    tables = data.get("tables")
    if not isinstance(tables, dict):
        raise ManifestError("expected a 'tables' mapping", file=path, fix="see the form of the shipped index.yaml")
    registry: Registry[dict] = Registry("reference table")
    for name, entry in tables.items():
        for key in ("file", "title", "base_model", "kind"):
            if not isinstance(entry, dict) or key not in entry:
                raise ManifestError(f"tables.{name}: missing key {key!r}", file=path, fix=f"add {key!r}")
        registry.add(name, entry)
    return registry, tuple(tables)


def reference_names(root: Path | None = None) -> list[str]:
    """Every --reference name, in index order."""
    return list(_index(_index_path(root))[1])


def _result_columns(entry: dict, name: str, path: Path) -> dict[str, tuple[str, float]]:
    """``result_columns`` of an index entry: ``{column: RESULT_COLUMN}`` or ``{column: {column: C, scale: F}}``."""
    mapping = entry.get("result_columns") or {}
    out = {}
    for target, source in mapping.items():
        if isinstance(source, str):
            out[str(target)] = (source, 1.0)
        elif isinstance(source, dict) and isinstance(source.get("column"), str):
            out[str(target)] = (source["column"], float(source.get("scale", 1.0)))
        else:
            raise ManifestError(
                f"tables.{name}.result_columns.{target}: expected a result column name or {{column, scale}}",
                file=path,
                fix="e.g. Motion Fidelity: {column: Mot-Fid, scale: 0.01}",
            )
    return out


def _decimals(text: pd.Series) -> int:
    """The most digits after the point among a column's printed values."""
    parts = text.astype(str).str.extract(r"\.(\d+)$")[0].dropna()
    return int(parts.str.len().max()) if len(parts) else 0


def load_reference(name: str, root: Path | None = None) -> ReferenceTable:
    """Load ``name`` (e.g. ``paper-zeroscope``); unknown names fail with close matches."""
    path = _index_path(root)
    registry = _index(path)[0]
    try:
        entry = registry.get(name)
    except UnknownNameError as exc:
        raise UnknownNameError(exc.problem, file=path, fix=exc.fix) from None
    csv_path = path.parent / entry["file"]
    if not csv_path.is_file():
        raise ManifestError("reference table file is missing", file=csv_path, fix="restore it from the repository")
    text = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    if "method" not in text.columns:
        raise ManifestError("first column must be 'method'", file=csv_path, fix="add a method column")
    rows = text.copy()
    numeric = []
    for col in rows.columns[1:]:
        converted = pd.to_numeric(rows[col], errors="coerce")
        if converted.notna().all():
            rows[col] = converted.astype("float64")
            numeric.append(col)
    printed = None
    if entry.get("composites"):
        missing = [c for c in COMPOSITES if c not in rows.columns]
        if missing:
            raise ManifestError(
                f"index says composites are printed but columns {', '.join(missing)} are absent",
                file=csv_path,
                fix="add the printed ARS/NAS/AAS or set composites: false",
            )
        printed = rows[["method", *COMPOSITES]].reset_index(drop=True)
    metric_cols = [c for c in rows.columns if c not in COMPOSITES]
    metric_numeric = [c for c in numeric if c not in COMPOSITES]
    decimals = max((_decimals(text[c]) for c in metric_numeric), default=2)
    return ReferenceTable(
        name=registry.canonical(name),
        title=str(entry["title"]),
        base_model=str(entry["base_model"]),
        kind=str(entry["kind"]),
        file=csv_path,
        rows=rows[metric_cols].reset_index(drop=True),
        printed=printed,
        decimals=decimals,
        result_columns=_result_columns(entry, name, path),
        mapping_note=entry.get("mapping_note"),
    )


def load_references(names: str | list[str] | None, root: Path | None = None) -> list[ReferenceTable]:
    """Parse ``"a,b"`` (the CLI's form) or a list into loaded tables; empty → []."""
    if not names:
        return []
    items = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
    if any(not n for n in items):
        raise InputError(f"empty name in --reference {names!r}", fix="separate names with commas: a,b")
    return [load_reference(n, root) for n in items]
