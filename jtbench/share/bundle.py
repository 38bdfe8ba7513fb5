"""`jtbench bundle`: one method's results as a self-describing, deterministic archive (SPEC §8).

Members, in this order: ``submission.json`` (the declared fields plus what the rows record),
``results.parquet`` (the §6 rows, ``video`` rewritten to the bundle path ``videos/<case_id>/<seed>.mp4``),
``summary.csv``, ``provenance.json`` (the scoring run's, as written), ``videos.sha256``, with ``--videos``
the videos, and ``digests.sha256``. Rows that would make a leaderboard entry unverifiable are refused,
each refusal naming its rows: tiny random backbones, NaN cells (unless ``allow_missing``, recorded),
two versions of one metric, the same (case, seed) twice.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from jtbench.errors import InputError
from jtbench.io.digest import file_sha256
from jtbench.io.tables import metric_columns, normalise, read_results, result_schema
from jtbench.metrics.base import PAPER_COLUMNS
from jtbench.metrics.outcome import PROVENANCE_FILE
from jtbench.metrics.summary import summarise
from jtbench.share.archive import BundleArchive, BundleError, parse_digest_lines, sha256_bytes, write_zip
from jtbench.share.submission import FORMAT, check_submission, ordered, slice_cases

SUBMISSION, RESULTS, SUMMARY, PROVENANCE, VIDEOS_LIST = (
    "submission.json", "results.parquet", "summary.csv", "provenance.json", "videos.sha256",
)  # fmt: skip
REQUIRED_MEMBERS = (SUBMISSION, RESULTS, SUMMARY, PROVENANCE, VIDEOS_LIST)
PAPER_BACKBONES = "paper"
#: Rows named in a refusal before "… and N more".
SHOWN_ROWS = 8


class BundleRefused(InputError):
    """The rows cannot make a checkable bundle; the message names them."""


def video_member(case_id: str, seed: Any, suffix: str = ".mp4") -> str:
    """Where a row's video lives in the bundle (the SPEC §6 folder rule, under ``videos/``)."""
    seed_text = "0" if seed is None or pd.isna(seed) else str(int(seed))
    return f"videos/{case_id}/{seed_text}{suffix}"


def _names(rows: pd.DataFrame) -> str:
    keys = [f"{r.case_id} seed {r.seed}" for r in rows.itertuples()]
    more = f" … and {len(keys) - SHOWN_ROWS} more" if len(keys) > SHOWN_ROWS else ""
    return ", ".join(keys[:SHOWN_ROWS]) + more


def scored_columns(rows: pd.DataFrame) -> list[str]:
    """The ten, then every other metric column some row has a value for (any profile's, carried by name-free rule)."""
    return [c for c in metric_columns(rows) if c in PAPER_COLUMNS or rows[c].notna().any()]


def versions_by_metric(rows: pd.DataFrame) -> dict[str, set[str]]:
    """metric name → every version the rows record for it."""
    seen: dict[str, set[str]] = {}
    for text in rows["metric_versions"]:
        for name, version in json.loads(text or "{}").items():
            seen.setdefault(name, set()).add(str(version))
    return seen


def refusals(rows: pd.DataFrame, *, allow_missing: bool, allow_tiny: bool) -> list[str]:
    """Why these rows cannot be bundled (each problem names its rows); empty when they can."""
    problems = []
    tiny = rows[rows["backbones"].astype(str) != PAPER_BACKBONES]
    if len(tiny) and not allow_tiny:
        problems.append(f"{len(tiny)} row(s) not scored with the paper backbones ({tiny['backbones'].iloc[0]}): "
                        f"{_names(tiny)}")  # fmt: skip
    if not allow_missing:
        for column in scored_columns(rows):
            gaps = rows[rows[column].isna()]
            if len(gaps):
                problems.append(f"{column} is NaN in {len(gaps)} row(s): {_names(gaps)} (pass --allow-missing to "
                                "bundle them anyway; it is recorded)")  # fmt: skip
    for name, versions in sorted(versions_by_metric(rows).items()):
        if len(versions) > 1:
            recorded = rows["metric_versions"].map(lambda t, n=name: json.loads(t or "{}").get(n))
            odd = rows[recorded != sorted(versions)[-1]]
            problems.append(f"metric {name} has {len(versions)} versions ({', '.join(sorted(versions))}); rows not on "
                            f"{sorted(versions)[-1]}: {_names(odd)}")  # fmt: skip
    dup = rows[rows.duplicated(["case_id", "seed"], keep=False)]
    if len(dup):
        problems.append(f"{len(dup)} rows share a (case, seed): {_names(dup.sort_values(['case_id', 'seed']))}")
    return problems


def _select(rows: pd.DataFrame, method: str | None, source: Path) -> pd.DataFrame:
    """One method's rows on one base model, each with a benchmark case."""
    methods = sorted(rows["method"].dropna().unique())
    if method is not None:
        if method not in methods:
            raise InputError(f"no rows for method {method!r}", file=source, fix=f"methods here: {', '.join(methods)}")
        rows = rows[rows["method"] == method]
    elif len(methods) != 1:
        raise InputError(f"the results hold {len(methods)} methods ({', '.join(methods)}); a bundle is one method",
                         file=source, fix="pass --method NAME")  # fmt: skip
    bases = sorted(rows["base_model"].dropna().unique())
    if len(bases) != 1:
        raise InputError(f"a bundle is one base model; these rows name {bases or 'none'}", file=source,
                         fix="score with --base, or bundle each base model's rows separately")  # fmt: skip
    caseless = rows[rows["case_id"].isna()]
    if len(caseless):
        raise BundleRefused(f"{len(caseless)} row(s) have no benchmark case (prompt-only): "
                            f"{', '.join(map(str, caseless['video'].head(SHOWN_ROWS)))}", file=source,
                            fix="a submission covers benchmark cases; score videos named <case_id>.mp4")  # fmt: skip
    return rows.sort_values(["case_id", "seed"], kind="stable").reset_index(drop=True)


def _agree(info: Mapping[str, Any], rows: pd.DataFrame, source: Path) -> None:
    for key in ("method", "base_model"):
        declared, actual = info.get(key), rows[key].iloc[0]
        if declared not in (None, "") and declared != actual:
            raise InputError(f"the info says {key} {declared!r}, the rows say {actual!r}", file=source,
                             fix=f"correct {key} in the info file (or leave it out: the rows give it)")  # fmt: skip


def _provenance(results: Path) -> dict[str, Any]:
    """The scoring run's provenance.json: beside the table (`jtbench score`), else the score jobs' of a
    `jtbench run` folder (the first in path order, with the union of their weight digests)."""
    folder = results if results.is_dir() else results.parent
    if (folder / PROVENANCE_FILE).is_file():
        return json.loads((folder / PROVENANCE_FILE).read_text())
    jobs = sorted((folder / ".jtbench" / "scores").glob(f"*/{PROVENANCE_FILE}"))
    if not jobs:
        return {}
    records = [json.loads(p.read_text()) for p in jobs]
    weights = {k: v for r in records for k, v in (r.get("weights") or {}).items()}
    return {**records[0], "weights": dict(sorted(weights.items())), "score_jobs": len(records)}


def parquet_bytes(rows: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    table = pa.Table.from_pandas(rows, schema=result_schema(metric_columns(rows)), preserve_index=False)
    pq.write_table(table, sink)
    return sink.getvalue()


def _submission(info: Mapping[str, Any], table: pd.DataFrame, provenance: Mapping[str, Any], **recorded: Any) -> dict:
    versions = {k: sorted(v)[-1] for k, v in sorted(versions_by_metric(table).items())}
    record = {
        **info, "format": FORMAT, "method": table["method"].iloc[0], "base_model": table["base_model"].iloc[0],
        "jtbench_version": "+".join(sorted(set(map(str, table["jtbench_version"].dropna())))) or None,
        "metric_versions": versions,
        "weights_sha256": dict(sorted((provenance.get("weights") or {}).items()))
        or {"combined": sorted(set(map(str, table["weights_digest"].dropna())))},
        "reference_set": "+".join(sorted(set(map(str, table["reference_set"].dropna())))) or None,
        "backbones": "+".join(sorted(set(map(str, table["backbones"].dropna())))),
        "created_at": max(map(str, table["created_at"].dropna()), default=None),
        **recorded,
    }  # fmt: skip
    record.setdefault("date", (record["created_at"] or "")[:10] or None)
    return ordered(record)


@dataclass(frozen=True)
class BundleResult:
    path: Path
    sha256: str
    rows: int
    videos: int
    size_bytes: int


def make_bundle(
    results: str | Path, info: Mapping[str, Any], out: str | Path, *, method: str | None = None,
    videos: bool = False, allow_missing: bool = False, allow_tiny: bool = False,
) -> BundleResult:  # fmt: skip
    """Write ``out`` (NAME.zip) from a results table and checked submission info; refusals raise BundleRefused."""
    source = Path(results)
    rows = _select(read_results(source), method, source)
    _agree(info, rows, source)
    problems = refusals(rows, allow_missing=allow_missing, allow_tiny=allow_tiny)
    if problems:
        raise BundleRefused("; ".join(problems), file=source, fix="re-score those rows, or leave them out")
    members: list[tuple[str, bytes]] = []
    bundled = rows.copy()
    bundled["video"] = [video_member(c, s, Path(str(v)).suffix or ".mp4")
                        for c, s, v in zip(rows["case_id"], rows["seed"], rows["video"], strict=True)]  # fmt: skip
    if videos:
        members += _video_members(rows, bundled, source)
    missing_cells = int(rows[scored_columns(rows)].isna().sum().sum())
    submission = _submission(
        info, rows, _provenance(source), slice_cases=len(slice_cases(info.get("slice", "full"))), rows=len(rows),
        videos_included=videos, allow_missing=allow_missing, missing_cells=missing_cells,
    )  # fmt: skip
    listing = "".join(f"{d}  {p}\n" for d, p in zip(bundled["video_sha256"], bundled["video"], strict=True))
    head = [
        (SUBMISSION, (json.dumps(submission, indent=1, ensure_ascii=False) + "\n").encode()),
        (RESULTS, parquet_bytes(normalise(bundled))),
        (SUMMARY, summarise(bundled).to_csv(index=False).encode()),
        (PROVENANCE, (json.dumps(_provenance(source), indent=1, sort_keys=True) + "\n").encode()),
        (VIDEOS_LIST, listing.encode()),
    ]
    path = write_zip(Path(out), head + members)
    return BundleResult(path, file_sha256(path), len(rows), len(members), path.stat().st_size)


def _video_members(rows: pd.DataFrame, bundled: pd.DataFrame, source: Path) -> list[tuple[str, bytes]]:
    """The videos as members; each must still be the file that was scored (its SHA-256)."""
    out, wrong = [], []
    folder = source if source.is_dir() else source.parent  # `jtbench run` writes paths relative to its folder
    for original, member, digest in zip(rows["video"], bundled["video"], rows["video_sha256"], strict=True):
        path = Path(str(original))
        path = path if path.is_absolute() else folder / path
        if not path.is_file():
            wrong.append(f"{path} (missing)")
            continue
        data = path.read_bytes()
        if sha256_bytes(data) != digest:
            wrong.append(f"{path} (changed since it was scored)")
            continue
        out.append((member, data))
    if wrong:
        raise BundleRefused(f"--videos: {len(wrong)} video(s) are not the scored files: {', '.join(wrong[:8])}",
                            file=source, fix="bundle without --videos, or re-score the changed videos")  # fmt: skip
    return sorted(out)


# -- reading ----------------------------------------------------------------------------------
@dataclass
class Bundle:
    """A bundle's content, read (not yet validated)."""

    path: Path
    submission: dict[str, Any]
    rows: pd.DataFrame
    video_list: dict[str, str]  # bundle path → sha256

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(".zip")


def read_bundle(path: str | Path, *, verify: bool = True) -> Bundle:
    """Read ``submission.json``, the rows and the video list; with ``verify``, every digest must hold first."""
    with BundleArchive(path) as archive:
        if verify and (problems := archive.digest_problems()):
            raise BundleError("; ".join(problems), file=archive.path, fix="run `jtbench validate` on it; rebuild it")
        try:
            submission = json.loads(archive.read(SUBMISSION))
            rows = pq.read_table(io.BytesIO(archive.read(RESULTS))).to_pandas()
        except (ValueError, pa.ArrowInvalid) as exc:
            raise BundleError(f"unreadable member: {exc}", file=archive.path, fix="rebuild the bundle") from exc
        listing = parse_digest_lines(archive.read(VIDEOS_LIST).decode("utf-8", "replace"), VIDEOS_LIST)
    if problems := check_submission(submission):
        if verify:
            raise BundleError("submission.json: " + "; ".join(problems), file=path, fix="rebuild the bundle")
    return Bundle(Path(path), submission, rows, listing)
