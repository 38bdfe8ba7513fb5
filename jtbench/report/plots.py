"""Figures (matplotlib, PNG and SVG): a radar of the ten metrics, per-category bar charts.

The radar normalises each axis the way NAS does (value / best value among the rows shown x 100),
so every axis reads "percent of the best method" and one axis with large raw values (Mot-Smth
near 97) cannot flatten the others. Figures are built with the object API (no pyplot state)
and saved without dates or random ids, so the same data gives the same SVG.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from jtbench.metrics.base import PAPER_COLUMNS
from jtbench.report.model import ReportTable

FIGURE_FORMATS = ("png", "svg")


def normalise_like_nas(table: pd.DataFrame, columns: Sequence[str] = PAPER_COLUMNS) -> pd.DataFrame:
    """Each column divided by its best (largest) value x 100, as NAS does per metric."""
    values = table[list(columns)].astype("float64")
    best = values.max(axis=0)
    return values.div(best.where(best > 0), axis=1) * 100.0


def radar_chart(
    table: pd.DataFrame, *, label: str = "method", columns: Sequence[str] = PAPER_COLUMNS, title: str = ""
) -> Figure:
    """One polygon per row over the metrics, each axis normalised as NAS (best row = 100)."""
    norm = normalise_like_nas(table, columns)
    angles = np.linspace(0, 2 * math.pi, len(columns), endpoint=False)
    closed = np.append(angles, angles[0])
    finite = norm.to_numpy()[np.isfinite(norm.to_numpy())]
    low = max(0.0, math.floor((finite.min() - 5) / 10) * 10) if finite.size else 0.0
    fig = Figure(figsize=(6.4, 6.4), dpi=100)
    ax = fig.add_subplot(projection="polar")
    for (_, row), (_, values) in zip(table.iterrows(), norm.iterrows(), strict=True):
        data = values.to_numpy(dtype="float64")
        ax.plot(closed, np.append(data, data[0]), linewidth=1.5, label=str(row[label]))
        ax.fill(closed, np.append(data, data[0]), alpha=0.08)
    ax.set_xticks(angles, list(columns))
    ax.tick_params(axis="x", pad=6)
    ax.set_ylim(low, 100.0)
    ax.set_rlabel_position(90)
    ax.set_title(title or "Metrics as % of the best row (per-axis, as NAS)", pad=22, fontsize=11)
    ax.legend(loc="upper right", bbox_to_anchor=(1.3, 1.12), fontsize=8, frameon=False)
    return fig


def category_bars(
    table: pd.DataFrame,
    breakdown: str,
    *,
    columns: Sequence[str] = ("AAS", *PAPER_COLUMNS),
    title: str = "",
) -> Figure:
    """Grouped bars per category of one breakdown, one panel per metric, one colour per method.

    ``table`` is a per-category report frame (columns breakdown, category, method, values).
    """
    rows = table[table["breakdown"] == breakdown]
    categories = list(dict.fromkeys(rows["category"]))
    methods = list(dict.fromkeys(rows["method"]))
    ncols = 4
    nrows = math.ceil(len(columns) / ncols)
    fig = Figure(figsize=(4.0 * ncols, 2.8 * nrows + 0.6), dpi=100, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    width = 0.8 / max(1, len(methods))
    x = np.arange(len(categories))
    for ax, col in zip(axes, columns, strict=False):
        for i, method in enumerate(methods):
            values = rows[rows["method"] == method].set_index("category")[col].reindex(categories)
            ax.bar(x + (i - (len(methods) - 1) / 2) * width, values.to_numpy(dtype="float64"), width, label=method)
        ax.set_title(col, fontsize=10)
        ax.set_xticks(x, categories, rotation=30, ha="right", fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
    for ax in axes[len(columns) :]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(methods), 6), fontsize=8, frameon=False)
    fig.suptitle(title or f"Per-category means: {breakdown}", fontsize=11)
    return fig


def save_figure(
    fig: Figure, stem: str | Path, formats: Sequence[str] = FIGURE_FORMATS, *, tight: bool = False
) -> list[Path]:
    """Save ``stem.png`` and ``stem.svg`` without timestamps or random ids (reproducible files)."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    with matplotlib.rc_context({"svg.hashsalt": "jtbench", "svg.fonttype": "path"}):
        for fmt in formats:
            path = stem.with_suffix(f".{fmt}")
            metadata = {"Date": None} if fmt == "svg" else {"Software": None}
            fig.savefig(path, format=fmt, metadata=metadata, bbox_inches="tight" if tight else None)
            paths.append(path)
    return paths


def write_figures(main: ReportTable, per_category: ReportTable | None, folder: str | Path) -> dict[str, list[Path]]:
    """The report's figures into ``folder``: ``radar`` from the main table, ``bars-<breakdown>`` per breakdown.

    The radar needs the ten paper metrics; a reference table with its own columns gets none.
    """
    folder = Path(folder)
    figures: dict[str, list[Path]] = {}
    if all(c in main.frame.columns for c in PAPER_COLUMNS):
        figures["radar"] = save_figure(radar_chart(main.frame, title=main.title[:80]), folder / "radar", tight=True)
    if per_category is not None:
        for dim in dict.fromkeys(per_category.frame["breakdown"]):
            figures[f"bars-{dim}"] = save_figure(category_bars(per_category.frame, dim), folder / f"bars-{dim}")
    return figures
