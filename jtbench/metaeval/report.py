"""meta_eval.parquet / .md / .tex and meta_eval/index.html (with plots), written all-or-nothing.

Everything is rendered into a hidden folder next to the output first; only when every file exists
are they renamed into place, so an error never leaves a half-written meta-evaluation (and an older
one stays intact). Tables go through report/'s renderers (Markdown, LaTeX, HTML).
"""

from __future__ import annotations

import html
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from matplotlib.figure import Figure

from jtbench.metaeval.evaluate import TABLE_COLUMNS, MetaEval
from jtbench.report.html import STYLE, table_html
from jtbench.report.model import ReportTable
from jtbench.report.plots import save_figure
from jtbench.report.render import render

TINY_NOTE = (
    "These numbers come from tiny random backbones (--backbones tiny): this page shows the pipeline, not the metrics."
)
HEADLINE = ("acc23", "acc_no_ties", "acc23_vs_pool", "cluster", "method_pair_accuracy", "disagreement_gap_dyndeg")
ABSOLUTE = ("kendall_tau_b", "spearman", "pearson", "pearson_vs_pool")
PERTURB_NOTE = (
    "directional_accuracy: share of copies that moved the expected way; effect_size: mean Δ / σ of the "
    "originals; invariance_violations: copies that moved where nothing should (|Δ| > 1e-3); "
    "spearman_severity: mean over videos of Spearman(severity, score)"
)
#: drawn first in the Dyn-Deg plot: the metrics the paper says reward near-static videos, then the others
STATIC_QUESTION = ("CLIP-I", "Subj-Con", "Bkgd-Con", "Mot-Smth", "CLIP-T", "Aesth-Q", "Img-Q", "AAS")
COUNTS = ("cluster", "invariance_violations")
FLAG_COLUMNS = (
    "gold_n",
    "gold_failed",
    "repeat_n",
    "repeat_contradicted",
    "agreement_n",
    "agreement",
    "chance",
    "random_p",
    "flags",
)


def _cell(row: pd.Series) -> str | None:
    if not np.isfinite(row["value"]):
        return None
    digits = 0 if row["statistic"] in COUNTS or row["statistic"].startswith("rank_ub") else 3
    text = f"{row['value']:.{digits}f}"
    if np.isfinite(row["ci_low"]) and np.isfinite(row["ci_high"]):
        text += f" [{row['ci_low']:.{digits}f}, {row['ci_high']:.{digits}f}]"
    return text


def _wide(
    table: pd.DataFrame, statistics: tuple[str, ...], title: str, key: str, notes: list[str]
) -> ReportTable | None:
    rows = table[table["statistic"].isin(statistics)]
    if rows.empty:
        return None
    # A statistic with no value shows "–" (never a vanished column); the reason is in the row's note.
    cells = rows.assign(cell=rows.apply(_cell, axis=1).fillna("–"))
    wide = cells.pivot_table(index="metric", columns="statistic", values="cell", aggfunc="first", sort=False)
    wide = wide.reindex(columns=[s for s in statistics if s in wide.columns])
    reasons = rows.groupby("metric", sort=False)["note"].agg(lambda s: "; ".join(dict.fromkeys(x for x in s if x)))
    if reasons.str.len().any():
        wide["note"] = reasons.reindex(wide.index).fillna("")
    wide = wide.reset_index().astype(object)
    wide = wide.where(wide.notna(), None)
    return ReportTable(title=title, frame=wide, labels=["metric"], values=list(wide.columns[1:]), key=key, notes=notes)


def _long(
    table: pd.DataFrame,
    title: str,
    key: str,
    notes: list[str] | None = None,
    labels: tuple[str, ...] = ("metric", "statistic"),
    extra: tuple[str, ...] = (),
) -> ReportTable | None:
    if table.empty:
        return None
    frame = table.assign(value=table.apply(_cell, axis=1))[[*labels, "value", "n", *extra, "note"]]
    frame = frame.astype(object).where(frame.notna(), None)
    return ReportTable(
        title=title,
        frame=frame.reset_index(drop=True),
        labels=list(labels),
        values=["value", "n", *extra, "note"],
        key=key,
        notes=notes or [],
    )


def build_tables(result: MetaEval, tiny: bool) -> list[ReportTable]:
    """Every table of the report, in reading order."""
    t = result.table
    lead = ([TINY_NOTE] if tiny else []) + result.warnings
    tables: list[ReportTable | None] = []
    for dimension in result.dimensions:
        for subset in sorted(set(t["raters"]) - {"synthetic"}):
            here = t[(t["dimension"] == dimension) & (t["raters"] == subset)]
            slug = f"{dimension}-{subset}"
            notes = lead + ["value [95% bootstrap interval over cases]; cluster 1 = best (paired permutation tests)"]
            tables.append(
                _wide(
                    here[here["metric"] != "human"],
                    HEADLINE,
                    f"{dimension}: metrics vs people ({subset} raters)",
                    f"pairwise-{slug}",
                    notes,
                )
            )
            tables.append(
                _wide(
                    here[here["metric"] != "human"],
                    ABSOLUTE,
                    f"{dimension}: absolute ratings ({subset} raters)",
                    f"absolute-{slug}",
                    notes,
                )
            )
            people = here[(here["metric"] == "human")]
            tables.append(_long(people, f"{dimension}: people ({subset} raters)", f"human-{slug}", lead))
    synthetic = t[t["raters"] == "synthetic"]
    if len(synthetic):
        synthetic = synthetic.assign(dimension=synthetic["dimension"].str.removeprefix("perturb:"))
        tables.append(
            _long(
                synthetic.rename(columns={"dimension": "perturbation"}),
                "Synthetic judgments (--perturb)",
                "perturb",
                lead + [PERTURB_NOTE],
                ("perturbation", "metric", "statistic"),
                ("test",),
            )
        )
    if len(result.flags):
        flags = result.flags[["rater_id", *FLAG_COLUMNS]].copy()
        flags = flags.astype(object).where(flags.notna(), None)
        tables.append(
            ReportTable(
                title="Raters (flagged raters are kept; every table is given without them too)",
                frame=flags,
                labels=["rater_id"],
                values=list(FLAG_COLUMNS),
                key="raters",
                decimals={"agreement": 3, "chance": 3, "random_p": 3},
            )
        )
    return [x for x in tables if x is not None]


def accuracy_figure(table: pd.DataFrame, dimension: str) -> Figure | None:
    """acc23 per metric with its interval against the same leave-one-out pools as the human ceiling,
    which is drawn as a band (so the dots and the band are comparable)."""
    here = table[(table["dimension"] == dimension) & (table["raters"] == "all")]
    statistic = "acc23_vs_pool" if (here["statistic"] == "acc23_vs_pool").any() else "acc23"
    rows = here[(here["statistic"] == statistic) & np.isfinite(here["value"])].sort_values("value")
    if rows.empty:
        return None
    fig = Figure(figsize=(6.4, 0.3 * len(rows) + 1.4), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    err = np.vstack([rows["value"] - rows["ci_low"], rows["ci_high"] - rows["value"]]).clip(min=0)
    label = "acc23 vs the other raters' pool (95% CI)" if statistic == "acc23_vs_pool" else "acc23 (95% CI)"
    ax.errorbar(rows["value"], y, xerr=err, fmt="o", color="#1f77b4", capsize=2, label=label)
    ceiling = table[
        (table["dimension"] == dimension) & (table["raters"] == "all") & (table["statistic"] == "human_ceiling")
    ]
    if len(ceiling) and np.isfinite(ceiling["value"].iloc[0]):
        c = ceiling.iloc[0]
        ax.axvspan(c["ci_low"], c["ci_high"], color="#d62728", alpha=0.15)
        ax.axvline(c["value"], color="#d62728", label="human ceiling (leave one rater out)")
    ax.set_yticks(y, rows["metric"], fontsize=8)
    ax.set_xlabel("tie-aware pairwise accuracy (acc23)")
    ax.set_title(f"{dimension}: agreement with people", fontsize=11)
    ax.legend(fontsize=7, loc="lower right")
    return fig


def dyn_deg_figure(curves: pd.DataFrame, dimension: str, top: int = 8) -> Figure | None:
    """Metric–people disagreement against the Dyn-Deg gap (preferred − other), binned by quantile."""
    rows = curves[curves["dimension"] == dimension] if len(curves) else curves
    if rows.empty:
        return None
    fig = Figure(figsize=(6.4, 4.0), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    present = list(dict.fromkeys(rows["metric"]))
    shown = [m for m in STATIC_QUESTION if m in present] + [m for m in present if m not in STATIC_QUESTION]
    for metric in shown[:top]:
        line = rows[rows["metric"] == metric]
        ax.plot(line["gap"], line["disagreement"], marker="o", linewidth=1, label=metric)
    ax.set_xlabel("Dyn-Deg(video people preferred) − Dyn-Deg(other)")
    ax.set_ylabel("share of judgments the metric gets wrong")
    ax.set_title(f"{dimension}: disagreement vs Dyn-Deg difference", fontsize=11)
    ax.legend(fontsize=7, ncols=2)
    return fig


def _page(
    tables: list[ReportTable], figures: list[tuple[str, str]], result: MetaEval, provenance: dict, tiny: bool
) -> str:
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>jtbench meta-eval</title>\n'
        '<link rel="icon" href="data:,">\n<style>' + STYLE + "</style>\n</head>\n<body>\n<h1>jtbench meta-eval</h1>\n"
    ]
    if tiny:
        parts.append(f'<p class="tiny" data-testid="tiny-note"><b>{html.escape(TINY_NOTE)}</b></p>\n')
    parts += [f'<p class="warning">{html.escape(w)}</p>\n' for w in result.warnings]
    for src, caption in figures:
        parts.append(
            f'<figure><img src="{html.escape(src)}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>\n"
        )
    parts += [table_html(t) for t in tables]
    parts.append(
        "<h2>Provenance</h2>\n<pre>" + html.escape(json.dumps(provenance, indent=1, sort_keys=True)) + "</pre>\n"
    )
    return "".join(parts) + "</body>\n</html>\n"


def _markdown(tables: list[ReportTable], result: MetaEval, provenance: dict, tiny: bool) -> str:
    lines = ["# jtbench meta-eval", ""]
    lines += [f"> **{TINY_NOTE}**", ""] if tiny else []
    lines += [f"- warning: {w}" for w in result.warnings] + [""]
    lines += [render(t, "md") for t in tables]
    lines += ["### Provenance", "", "```json", json.dumps(provenance, indent=1, sort_keys=True), "```", ""]
    return "\n".join(lines)


def _latex(tables: list[ReportTable], tiny: bool) -> str:
    head = [f"% {TINY_NOTE}"] if tiny else []
    return "\n".join(head + [render(t, "latex") for t in tables]) + "\n"


def write_meta_eval(result: MetaEval, out: str | Path, *, provenance: dict[str, Any], tiny: bool = False) -> Path:
    """Write every output into ``out`` at once (see the module docstring); returns ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stage = out / f".meta_eval.partial-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "meta_eval").mkdir(parents=True)
    try:
        table = result.table[list(TABLE_COLUMNS)]
        arrow = pa.Table.from_pandas(table, preserve_index=False)
        arrow = arrow.replace_schema_metadata({b"jtbench.provenance": json.dumps(provenance, sort_keys=True).encode()})
        pq.write_table(arrow, stage / "meta_eval.parquet")
        tables = build_tables(result, tiny)
        (stage / "meta_eval.md").write_text(_markdown(tables, result, provenance, tiny), encoding="utf-8")
        (stage / "meta_eval.tex").write_text(_latex(tables, tiny), encoding="utf-8")
        figures = []
        for dimension in result.dimensions:
            for name, fig in (
                (f"accuracy-{dimension}", accuracy_figure(result.table, dimension)),
                (f"dyndeg-{dimension}", dyn_deg_figure(result.curves, dimension)),
            ):
                if fig is not None:
                    save_figure(fig, stage / "meta_eval" / name, formats=("png",))
                    figures.append((f"{name}.png", name.replace("-", ": ", 1)))
        (stage / "meta_eval" / "index.html").write_text(
            _page(tables, figures, result, provenance, tiny), encoding="utf-8"
        )
        result.flags.to_csv(stage / "rater_flags.csv", index=False)
        if len(result.unmatched):
            result.unmatched.to_csv(stage / "unmatched_ratings.csv", index=False)
        (stage / "provenance.json").write_text(json.dumps(provenance, indent=1, sort_keys=True), encoding="utf-8")
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    _commit(stage, out)
    return out


def _commit(stage: Path, out: Path) -> None:
    """Rename the staged files over the old ones (files one by one, the html folder as a whole)."""
    stale = out / "unmatched_ratings.csv"
    if stale.exists() and not (stage / "unmatched_ratings.csv").exists():
        stale.unlink()
    old = out / f".meta_eval.old-{os.getpid()}"
    if (out / "meta_eval").exists():
        os.replace(out / "meta_eval", old)
    os.replace(stage / "meta_eval", out / "meta_eval")
    for path in stage.iterdir():
        os.replace(path, out / path.name)
    shutil.rmtree(old, ignore_errors=True)
    stage.rmdir()
