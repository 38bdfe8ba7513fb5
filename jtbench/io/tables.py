"""The per-video result table (SPEC §6): schema, atomic keyed Parquet writes, CSV/JSON export.

Row key: (method, video_sha256). Writing a video again replaces its row. Every write goes to
a temporary file that is renamed over the old one, so a crash never leaves a half-written table.
After the SPEC §6 columns come the reference columns: the files a row was scored against (path
relative to ``--data``, SHA-256), their reference set (``jointtuner-release``, ``rebuilt`` …) and
the reference image folder of the paper profiles (its path and one digest over its ``.jpg`` files);
tables written before them read with nulls there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from jtbench.errors import InputError
from jtbench.io.atomic import atomic_write
from jtbench.metrics.base import PAPER_COLUMNS

KEY = ("method", "video_sha256")
TEXT_COLUMNS = (
    "case_id",
    "prompt",
    "method",
    "base_model",
    "subject",
    "motion",
    "background",
    "video",
    "video_sha256",
)
PROVENANCE_COLUMNS = (
    "errors",
    "metric_versions",
    "backbones",
    "device",
    "dtype",
    "jtbench_version",
    "manifest_digest",
    "weights_digest",
    "created_at",
)
REFERENCE_COLUMNS = (
    "reference_image",
    "reference_image_sha256",
    "reference_video",
    "reference_video_sha256",
    "reference_set",
    "reference_images",  # the image folder of the dreamvideo profile's CLIP-I / DINO-I
    "reference_images_sha256",  # one digest over its .jpg files (names and contents)
)


def result_schema(extra_metric_columns: Iterable[str] = ()) -> pa.Schema:
    """The Parquet schema: SPEC §6 columns in order, then any variant metric columns."""
    fields = [pa.field(c, pa.string()) for c in TEXT_COLUMNS[:7]]
    fields.insert(7, pa.field("seed", pa.int64()))
    fields += [pa.field("video", pa.string()), pa.field("video_sha256", pa.string())]
    fields += [pa.field(c, pa.float64()) for c in PAPER_COLUMNS]
    fields += [pa.field(c, pa.float64()) for c in extra_metric_columns if c not in PAPER_COLUMNS]
    fields += [pa.field(c, pa.string()) for c in (*PROVENANCE_COLUMNS, *REFERENCE_COLUMNS)]
    return pa.schema(fields)


def metric_columns(df: pd.DataFrame) -> list[str]:
    """Paper columns first, then variant columns (float columns between sha and provenance)."""
    known = set(TEXT_COLUMNS) | set(PROVENANCE_COLUMNS) | set(REFERENCE_COLUMNS) | {"seed"}
    extra = [c for c in df.columns if c not in known and c not in PAPER_COLUMNS and pd.api.types.is_float_dtype(df[c])]
    return [c for c in PAPER_COLUMNS if c in df.columns] + extra


def normalise(rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Coerce rows to the schema: missing columns filled (NaN / null), types fixed, order fixed."""
    df = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    extra = [c for c in df.columns if c not in result_schema().names]
    schema = result_schema(extra)
    for f in schema:
        if f.name not in df.columns:
            df[f.name] = np.nan if pa.types.is_floating(f.type) else None
    df = df[schema.names]
    for f in schema:
        if pa.types.is_floating(f.type):
            df[f.name] = pd.to_numeric(df[f.name], errors="coerce").astype("float64")
        elif pa.types.is_integer(f.type):
            df[f.name] = pd.array(df[f.name], dtype="Int64")
        else:
            df[f.name] = df[f.name].astype(object).where(df[f.name].notna(), None)
    return df


def read_results(path: str | Path) -> pd.DataFrame:
    """Read a results.parquet (or a folder holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.parquet"
    if not path.is_file():
        raise InputError("no results table here", file=path, fix="pass a results.parquet written by `jtbench score`")
    try:
        df = pq.read_table(path).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"not a readable Parquet file: {exc}", file=path, fix="re-run `jtbench score`") from exc
    # pandas' string dtype reads a null cell back as NaN (a float); every caller expects None there
    for column in (c for c in (*TEXT_COLUMNS, *PROVENANCE_COLUMNS, *REFERENCE_COLUMNS) if c in df.columns):
        df[column] = df[column].astype(object).where(df[column].notna(), None)
    return df


def rows_by_key(path: str | Path) -> dict[tuple[str, str], dict[str, Any]]:
    """The rows of a results table by their key (method, video_sha256); empty when there is none yet."""
    if not Path(path).is_file():
        return {}
    return {(r["method"], r["video_sha256"]): r for r in read_results(path).to_dict("records")}


def write_atomic(df: pd.DataFrame, path: Path) -> Path:
    """Write Parquet through a temp file + rename (readers never see a partial file)."""
    table = pa.Table.from_pandas(df, schema=result_schema(metric_columns(df)), preserve_index=False)
    return atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def upsert_results(path: str | Path, rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Merge ``rows`` into the table at ``path`` keyed by (method, video_sha256); new rows win."""
    path = Path(path)
    new = normalise(rows)
    if new[list(KEY)].isna().any().any():
        raise ValueError("every result row needs method and video_sha256")
    if path.is_file():
        old = normalise(read_results(path))
        merged = pd.concat([old, new], ignore_index=True)
    else:
        merged = new
    merged = merged.drop_duplicates(subset=list(KEY), keep="last").reset_index(drop=True)
    merged = normalise(merged)
    write_atomic(merged, path)
    return merged


def export_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Export to ``.csv`` or ``.json`` (records, one object per video), by suffix."""
    path = Path(path)
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
    elif path.suffix == ".json":
        records = json.loads(df.to_json(orient="records"))
        path.write_text(json.dumps(records, indent=1))
    else:
        raise InputError(f"unknown export format {path.suffix!r}", file=path, fix="use .csv or .json")
    return path
