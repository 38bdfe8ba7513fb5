"""The paper's dataset-level aggregate: per method, the mean of each metric over its videos.

JointTuner averages per-video scores per folder and the paper reports the mean over all 450
videos (every printed Dyn-Deg is k/450); with equal folder sizes both are the same number.
VBench's own frame-pair-weighted Subj-Con/Bkgd-Con aggregate is *not* what the paper used
(JointTuner calls VBench one video at a time), so it is not used here.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from jtbench.benchmark.prepared import rows_reference_set
from jtbench.io.tables import metric_columns
from jtbench.metrics.profiles import profile_of_column

GROUP_KEYS = ("method", "base_model", "backbones")


def _mentioned(df: pd.DataFrame, column: str) -> bool:
    """Whether any row's ``errors`` has a line for ``column`` (it was tried and failed)."""
    if "errors" not in df:
        return False
    return bool(
        df["errors"].dropna().map(lambda text: any(ln.startswith(f"{column}:") for ln in text.splitlines())).any()
    )


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (method, base_model, backbones): ``videos``, the metric means, ``missing``,
    ``reference_set`` (the reference set(s) the rows were scored against, ``+``-joined).

    NaN values are left out of a mean and counted in ``missing`` ("Mot-Fid: 2"), so a gap in
    the data is visible next to the number it affects. Columns no video was scored on (never
    selected, so no value and no error line) are left out. Paper-profile columns
    (``CLIP-T@DreamVideo`` …) come after the ten and their variants, on their profile's scale.
    """
    columns = [c for c in metric_columns(df) if df[c].notna().any() or _mentioned(df, c)]
    columns.sort(key=lambda c: profile_of_column(c) is not None)  # paper profiles' columns last, apart
    keys = list(GROUP_KEYS)
    rows = []
    for group, part in df.groupby(keys, dropna=False, sort=True):
        row: dict[str, Any] = dict(zip(keys, group, strict=True))
        row["videos"] = len(part)
        row.update({c: part[c].mean(skipna=True) for c in columns})
        gaps = {c: int(part[c].isna().sum()) for c in columns if part[c].isna().any()}
        row["missing"] = ", ".join(f"{c}: {n}" for c, n in gaps.items()) or None
        row["reference_set"] = rows_reference_set(part["reference_set"]) if "reference_set" in part else None
        rows.append(row)
    return pd.DataFrame(rows, columns=[*keys, "videos", *columns, "missing", "reference_set"])
