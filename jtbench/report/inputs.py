"""What a report is made from: result tables (per-video Parquet) and the paper's reference rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from jtbench.errors import InputError
from jtbench.io.tables import KEY, read_results
from jtbench.report.aggregate import with_categories
from jtbench.report.reference import ReferenceTable, load_references

#: Column holding each result row's display label (method, or "method (base)" when bases mix).
LABEL = "_label"
#: Column holding the folder of the results file a row came from (to find its video).
SOURCE = "_source"


@dataclass
class ReportInputs:
    """Result rows (with labels and categories) plus reference tables, ready for the builders."""

    results: pd.DataFrame | None = None
    references: list[ReferenceTable] = field(default_factory=list)

    @property
    def has_results(self) -> bool:
        return self.results is not None and len(self.results) > 0


def load_results(
    paths: Sequence[str | Path],
    *,
    base: str | None = None,
    methods: Sequence[str] | None = None,
) -> pd.DataFrame | None:
    """Read and merge results.parquet files (or folders), optionally keeping one base model / some methods.

    The same video scored twice across files keeps the row of the later file (row key
    (method, video_sha256), as ``upsert_results``).
    """
    if not paths:
        return None
    frames = []
    for path in paths:
        df = read_results(path)
        folder = Path(path) if Path(path).is_dir() else Path(path).parent
        frames.append(df.assign(**{SOURCE: str(folder.resolve())}))
    results = pd.concat(frames, ignore_index=True).drop_duplicates(subset=list(KEY), keep="last")
    if base is not None:
        results = results[results["base_model"] == base]
    if methods:
        unknown = sorted(set(methods) - set(results["method"].dropna()))
        if unknown:
            raise InputError(
                f"--methods names {', '.join(unknown)}, which the results do not contain",
                file=", ".join(str(p) for p in paths),
                fix=f"methods present: {', '.join(sorted(set(results['method'].dropna())))}",
            )
        results = results[results["method"].isin(list(methods))]
    if results.empty:
        raise InputError(
            "no result rows left to report" + (f" for base model {base!r}" if base else ""),
            file=", ".join(str(p) for p in paths),
            fix="check --base/--methods against the base_model and method columns",
        )
    return label_rows(results.reset_index(drop=True))


def label_rows(results: pd.DataFrame) -> pd.DataFrame:
    """Add display labels and categories: "method", or "method (base)" when base models mix."""
    out = with_categories(results)
    bases = out["base_model"].dropna().unique() if "base_model" in out.columns else []
    if len(bases) > 1:
        base = out["base_model"].fillna("unknown base")
        out[LABEL] = out["method"].astype(str) + " (" + base.astype(str) + ")"
    else:
        out[LABEL] = out["method"].astype(str)
    return out


def gather(
    results: Sequence[str | Path] = (),
    references: str | Sequence[str] | None = None,
    *,
    base: str | None = None,
    methods: Sequence[str] | None = None,
) -> ReportInputs:
    """The CLI's inputs: RESULTS paths and ``--reference a,b`` names."""
    refs = load_references(references if isinstance(references, str) or references is None else list(references))
    loaded = load_results(list(results), base=base, methods=methods)
    if loaded is None and not refs:
        raise InputError("nothing to report", fix="pass RESULTS (results.parquet files or folders) or --reference NAME")
    return ReportInputs(results=loaded, references=refs)
