"""The report job: merge the per-video score shards into ``results.parquet``, then the report.

The merge is deterministic (rows sorted by method, case and seed, keyed by
(method, video_sha256) as everywhere), so an interrupted-and-resumed run writes the same table
as an uninterrupted one, apart from ``created_at``. Video paths are stored relative to the run
folder, so a run folder can be moved or compared with another one.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from jtbench.errors import JtbenchError
from jtbench.execution.jobs import RunRequest, shard_dir
from jtbench.execution.store import ArtifactStore

RESULTS = "results.parquet"
REPORT_MD = "report.md"
REPORT_HTML_DIR = "report"
TINY_NOTE = (
    "These numbers come from tiny backbones with random weights (--backbones tiny): they exercise the "
    "pipeline and mean nothing about video quality."
)


def collect_rows(request: RunRequest, store: ArtifactStore, score_keys: Sequence[str]) -> pd.DataFrame:
    """Rows of every score shard of this plan (failed metrics included, as NaN with their errors)."""
    from jtbench.io.tables import normalise, read_results

    frames = []
    for key in score_keys:
        shard = shard_dir(request, key) / RESULTS
        if shard.is_file():
            frames.append(read_results(shard))
    if not frames:
        return normalise([])
    df = pd.concat(frames, ignore_index=True)
    df["video"] = [_relative(v, request.out_dir) for v in df["video"]]
    df = df.sort_values(["method", "base_model", "case_id", "seed"], kind="stable").reset_index(drop=True)
    return normalise(df)


def _relative(video: Any, root: Path) -> Any:
    if not isinstance(video, str) or not os.path.isabs(video):
        return video
    try:
        return os.path.relpath(video, root)
    except ValueError:
        return video


def write_tables(request: RunRequest, store: ArtifactStore, score_keys: Sequence[str]) -> dict[str, Any]:
    """``results.parquet``, ``summary.csv`` and the report.

    Rows of this plan replace any older row of the same (method, base model, case, seed), e.g.
    one sampled under a previous config; rows of other cases, methods or base models already
    in the table are kept, so slices of the benchmark can be run one after another.
    """
    from jtbench.metrics.scorer import summarise

    out = request.out_dir
    rows = collect_rows(request, store, score_keys)
    if rows.empty:
        raise JtbenchError(
            "no video was scored, so there is no table to write",
            file=out,
            fix="see the failed jobs listed above; fix them and re-run",
        )
    table = merge_into(out / RESULTS, rows)
    summarise(table).to_csv(out / "summary.csv", index=False)
    written: dict[str, Any] = {"results": str(out / RESULTS), "rows": len(rows), "summary": str(out / "summary.csv")}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written.update(write_report(request, out / RESULTS))
    written["warnings"] = sorted({str(w.message) for w in caught})
    return written


CASE_KEY = ["method", "base_model", "case_id", "seed"]


def merge_into(path: Path, rows: pd.DataFrame) -> pd.DataFrame:
    """Replace the rows of ``rows``' cases in the table at ``path`` (one atomic write)."""
    from jtbench.io.tables import KEY, normalise, read_results, write_atomic

    if path.is_file():
        old = normalise(read_results(path))
        mine = pd.MultiIndex.from_frame(rows[CASE_KEY].astype(object))
        stale = pd.MultiIndex.from_frame(old[CASE_KEY].astype(object)).isin(mine)
        rows = pd.concat([old[~stale], rows], ignore_index=True)
    table = normalise(rows.drop_duplicates(subset=list(KEY), keep="last").reset_index(drop=True))
    write_atomic(table, path)
    return table


def write_report(request: RunRequest, results: Path) -> dict[str, str]:
    """The report files named by ``request.report_formats`` (md, html) through the report package."""
    from jtbench.report.build import ReportOptions
    from jtbench.report.inputs import gather

    tiny = request.settings.backbones == "tiny"
    title = f"jtbench run: {', '.join(request.methods)} on {request.base_model}"
    options = ReportOptions(title=title + (" (tiny random backbones: NOT the paper's metrics)" if tiny else ""))
    inputs = gather([results], base=request.base_model)
    written: dict[str, str] = {}
    for fmt in request.report_formats:
        written.update(REPORT_WRITERS[fmt](request, inputs, options))
    return written


def _markdown(request: RunRequest, inputs: Any, options: Any) -> dict[str, str]:
    from jtbench.io.atomic import write_text
    from jtbench.report.api import report_text

    text = report_text(inputs, fmt="md", table="main", options=options)
    if request.settings.backbones == "tiny":
        text = f"> **Note.** {TINY_NOTE}\n\n{text}"
    path = write_text(request.out_dir / REPORT_MD, text)
    return {"report_md": str(path)}


def _html(request: RunRequest, inputs: Any, options: Any) -> dict[str, str]:
    from jtbench.report.html import write_html_report

    folder = write_html_report(inputs, request.out_dir / REPORT_HTML_DIR, options=options)
    return {"report_html": str(Path(folder) / "index.html")}


#: Report formats `jtbench run --report` can write, by name.
REPORT_WRITERS = {"md": _markdown, "html": _html}
