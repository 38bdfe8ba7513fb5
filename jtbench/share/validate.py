"""`jtbench validate`: check everything a bundle claims, and write ``NAME.validation.json`` beside it.

Checks, each a line of the verdict: the archive's members; every member's digest; submission.json's
fields; the rows' schema; agreement between submission, rows and ``videos.sha256``; completeness (every
declared case with ``samples_per_case`` distinct seeds, nothing else); paper backbones only; one
version per metric; NaN cells only as recorded; ``summary.csv`` (the means the composites start from)
recomputable from the rows; with videos, every listed file's digest and a re-scored sample
(:mod:`jtbench.share.rescore`). The leaderboard reads the JSON, never the submitter's own claims.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from jtbench import __version__
from jtbench.errors import InputError, JtbenchError
from jtbench.io.digest import file_sha256
from jtbench.io.tables import result_schema
from jtbench.metrics.summary import summarise
from jtbench.provenance import utc_now
from jtbench.share.archive import DIGESTS, BundleArchive
from jtbench.share.bundle import (
    PAPER_BACKBONES,
    REQUIRED_MEMBERS,
    SUMMARY,
    Bundle,
    read_bundle,
    scored_columns,
    versions_by_metric,
)  # fmt: skip
from jtbench.share.rescore import ATOL, RTOL, RescoreOutcome, fetch_video, rescore, video_source
from jtbench.share.submission import check_submission, slice_cases

VALIDATION_FORMAT = "jtbench-validation/1"
SHOWN = 8


@dataclass
class Check:
    name: str
    ok: bool | None  # None: not run (nothing to check, or an earlier failure made it meaningless)
    detail: str


@dataclass
class Validation:
    bundle: Path
    sha256: str
    checks: list[Check] = field(default_factory=list)
    rescore: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return all(c.ok is not False for c in self.checks)

    def record(self, **extra: Any) -> dict[str, Any]:
        return {
            "format": VALIDATION_FORMAT, "bundle": self.bundle.name, "bundle_sha256": self.sha256,
            "ok": self.ok, "jtbench_version": __version__, "validated_at": utc_now(),
            "checks": [vars(c) for c in self.checks], "rescore": self.rescore, **extra,
        }  # fmt: skip


def validation_path(bundle: str | Path) -> Path:
    """``NAME.validation.json`` beside ``NAME.zip``."""
    bundle = Path(bundle)
    return bundle.with_name(bundle.name.removesuffix(".zip") + ".validation.json")


def _listing(items: list[str]) -> str:
    return ", ".join(items[:SHOWN]) + (f" … and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


# -- the checks (each returns a detail line or raises _Fail) -------------------------------------
class _Fail(Exception):
    pass


def _members(archive: BundleArchive) -> str:
    missing = [m for m in (*REQUIRED_MEMBERS, DIGESTS) if m not in archive.names]
    extra = [n for n in archive.names if n not in (*REQUIRED_MEMBERS, DIGESTS) and not n.startswith("videos/")]
    if missing or extra:
        raise _Fail("; ".join(filter(None, [missing and f"missing: {', '.join(missing)}",
                                            extra and f"unexpected: {', '.join(extra)}"])))  # fmt: skip
    return f"{len(archive.names)} members"


def _digests(archive: BundleArchive) -> str:
    if problems := archive.digest_problems():
        raise _Fail("; ".join(problems))
    return f"all {len(archive.names) - 1} member digests hold"


def _schema(bundle: Bundle) -> str:
    rows = bundle.rows
    if problems := check_submission(bundle.submission):
        raise _Fail("submission.json: " + "; ".join(problems))
    missing = [f.name for f in result_schema() if f.name not in rows.columns]
    floats = [c for c in scored_columns(rows) if not pd.api.types.is_float_dtype(rows[c])]
    if missing or floats:
        raise _Fail("; ".join(filter(None, [missing and f"results.parquet lacks {', '.join(missing)}",
                                            floats and f"not float64: {', '.join(floats)}"])))  # fmt: skip
    return f"submission.json complete; {len(rows)} rows with the SPEC §6 columns"


def _agreement(bundle: Bundle) -> str:
    s, rows, problems = bundle.submission, bundle.rows, []
    for key in ("method", "base_model"):
        values = sorted(set(map(str, rows[key].dropna())))
        if values != [str(s.get(key))]:
            problems.append(f"{key}: submission says {s.get(key)!r}, rows say {', '.join(values)}")
    versions = {k: sorted(v)[-1] for k, v in versions_by_metric(rows).items()}
    if versions != s.get("metric_versions"):
        problems.append("metric_versions differ between submission.json and the rows")
    if s.get("rows") != len(rows):
        problems.append(f"submission.json says {s.get('rows')} rows, results.parquet has {len(rows)}")
    listed = dict(zip(rows["video"], rows["video_sha256"], strict=True))
    if listed != bundle.video_list:
        odd = sorted(set(listed.items()) ^ set(bundle.video_list.items()))
        problems.append(f"videos.sha256 and the rows disagree on {_listing([p for p, _ in odd])}")
    if problems:
        raise _Fail("; ".join(problems))
    return "submission.json, results.parquet and videos.sha256 agree"


def _completeness(bundle: Bundle) -> str:
    rows, per_case = bundle.rows, int(bundle.submission["samples_per_case"])
    declared = slice_cases(bundle.submission.get("slice", "full"))
    seeds = rows.groupby("case_id")["seed"].nunique()
    absent = [c for c in declared if c not in seeds.index]
    short = [f"{c} ({seeds[c]} of {per_case})" for c in declared if c in seeds.index and seeds[c] != per_case]
    outside = sorted(set(seeds.index) - set(declared))
    if absent or short or outside:
        raise _Fail("; ".join(filter(None, [
            absent and f"{len(absent)} declared case(s) missing: {_listing(absent)}",
            short and f"cases without {per_case} distinct seeds: {_listing(short)}",
            outside and f"cases outside the declared slice: {_listing(outside)}",
        ])))  # fmt: skip
    return f"{len(declared)} cases × {per_case} seed(s) of slice {_slice_name(bundle)}"


def _slice_name(bundle: Bundle) -> str:
    value = bundle.submission.get("slice", "full")
    return value if isinstance(value, str) else f"custom ({len(value)} cases)"


def _backbones(bundle: Bundle, allow_tiny: bool) -> str:
    odd = bundle.rows[bundle.rows["backbones"].astype(str) != PAPER_BACKBONES]
    if len(odd) and not allow_tiny:
        raise _Fail(f"{len(odd)} row(s) scored with {odd['backbones'].iloc[0]}: "
                    f"{_listing([f'{r.case_id} seed {r.seed}' for r in odd.itertuples()])}")  # fmt: skip
    return "paper backbones" if not len(odd) else f"TEST ONLY: {len(odd)} tiny-backbone rows allowed"


def _versions(bundle: Bundle) -> str:
    mixed = {k: v for k, v in versions_by_metric(bundle.rows).items() if len(v) > 1}
    if mixed:
        raise _Fail("; ".join(f"{k}: {', '.join(sorted(v))}" for k, v in sorted(mixed.items())))
    return f"one version for each of {len(versions_by_metric(bundle.rows))} metrics"


def _missing(bundle: Bundle) -> str:
    cells = int(bundle.rows[scored_columns(bundle.rows)].isna().sum().sum())
    allowed = bundle.submission.get("allow_missing") and cells == bundle.submission.get("missing_cells")
    if cells and not allowed:
        raise _Fail(f"{cells} NaN cell(s), recorded: {bundle.submission.get('missing_cells')} "
                    f"(allow_missing {bundle.submission.get('allow_missing')})")  # fmt: skip
    return "no NaN cells" if not cells else f"{cells} NaN cell(s), allowed and recorded (--allow-missing)"


def _summary(bundle: Bundle, archive: BundleArchive) -> str:
    shipped = pd.read_csv(io.BytesIO(archive.read(SUMMARY)))
    again = summarise(bundle.rows)
    columns = scored_columns(bundle.rows)
    bad = [c for c in columns if c not in shipped or not all(
        math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))
        for a, b in zip(shipped[c].astype(float), again[c].astype(float), strict=False))]  # fmt: skip
    if bad or len(shipped) != len(again):
        raise _Fail(f"summary.csv means are not those of the rows: {', '.join(bad) or 'row count'}")
    undefined = [c for c in columns if not math.isfinite(float(again[c].iloc[0]))]
    if undefined:
        raise _Fail(f"no mean for {', '.join(undefined)}: ARS/NAS/AAS cannot be computed")
    return f"means of {len(columns)} columns recomputed; composites defined"


def _video_files(bundle: Bundle, videos_dir: Path) -> str:
    wrong = []
    for member, digest in bundle.video_list.items():
        path = fetch_video(member, bundle.path, videos_dir, videos_dir)
        if path is None:
            wrong.append(f"{member} (missing)")
        elif file_sha256(path) != digest:
            wrong.append(f"{member} (sha256 differs)")
    if wrong:
        raise _Fail(f"{len(wrong)} video(s) are not the bundle's: {_listing(wrong)}")
    return f"all {len(bundle.video_list)} videos in {videos_dir} match videos.sha256"


def _run(validation: Validation, name: str, check: Callable[[], str]) -> bool:
    try:
        validation.checks.append(Check(name, True, check()))
        return True
    except (_Fail, JtbenchError) as exc:
        validation.checks.append(Check(name, False, str(exc)))
        return False


def validate_bundle(
    path: str | Path, *, videos_dir: Path | None = None, sample: int = 5, seed: int = 0, data: Path | None = None,
    hub_factory: Callable[[str], Any] | None = None, allow_tiny: bool = False, rtol: float = RTOL, atol: float = ATOL,
    metrics: Sequence[str] | None = None, write: bool = True,
) -> Validation:  # fmt: skip
    """Run every check; re-score ``sample`` videos when videos are at hand. Writes NAME.validation.json.

    ``metrics`` re-scores only those columns (default: every metric column of the rows); the record
    says how many of the rows' columns were re-scored."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no bundle here", file=path, fix="pass a NAME.zip written by `jtbench bundle`")
    validation = Validation(path, file_sha256(path))
    try:
        archive = BundleArchive(path)
    except JtbenchError as exc:
        validation.checks.append(Check("archive", False, str(exc)))
        return _finish(validation, write, allow_tiny)
    with archive:
        _run(validation, "archive", lambda: _members(archive))
        _run(validation, "digests", lambda: _digests(archive))
        try:
            bundle = read_bundle(path, verify=False)
        except JtbenchError as exc:
            validation.checks.append(Check("schema", False, str(exc)))
            return _finish(validation, write, allow_tiny)
        if not _run(validation, "schema", lambda: _schema(bundle)):
            return _finish(validation, write, allow_tiny)
        _run(validation, "agreement", lambda: _agreement(bundle))
        _run(validation, "completeness", lambda: _completeness(bundle))
        _run(validation, "backbones", lambda: _backbones(bundle, allow_tiny))
        _run(validation, "metric versions", lambda: _versions(bundle))
        _run(validation, "missing values", lambda: _missing(bundle))
        _run(validation, "composites", lambda: _summary(bundle, archive))
        source = video_source(path, archive.names, videos_dir)
    if videos_dir is not None:
        _run(validation, "video files", lambda: _video_files(bundle, Path(videos_dir)))
    if source is None or sample <= 0:
        validation.checks.append(Check("re-score", None, "no videos (bundle without --videos and no --videos DIR)"
                                       if source is None else "--sample 0"))  # fmt: skip
    else:
        _rescore(validation, bundle, source, videos_dir, sample, seed, data, hub_factory, allow_tiny, rtol, atol,
                 metrics)
    return _finish(validation, write, allow_tiny)


def _rescore(
    validation, bundle, source, videos_dir, sample, seed, data, hub_factory, allow_tiny, rtol, atol, metrics
) -> None:  # fmt: skip
    kind = "tiny" if str(bundle.submission.get("backbones", "")).startswith("tiny") else "paper"
    if kind == "tiny" and not allow_tiny:
        validation.checks.append(Check("re-score", False, "tiny-backbone rows are re-scored only in tests"))
        return
    carried, columns = scored_columns(bundle.rows), []
    try:
        columns = carried if metrics is None else _chosen_columns(metrics, carried)
        hub = hub_factory(kind) if hub_factory else _default_hub(kind)
        outcome = rescore(bundle.path, bundle.rows, columns, videos_dir=videos_dir, n=sample, seed=seed, hub=hub,
                          data=data, rtol=rtol, atol=atol)  # fmt: skip
    except JtbenchError as exc:
        outcome = RescoreOutcome(sample=[], problems=[f"re-scoring could not run: {exc}"], videos_verified=False)
    validation.rescore = {
        "n": len(outcome.sample), "seed": seed, "columns": columns, "all_columns": set(columns) == set(carried),
        "backbones": kind, "videos_source": source, "rtol": rtol, "atol": atol,
        "videos_verified": outcome.videos_verified, "sample": outcome.sample, "figures": outcome.figures,
        "tolerance": "|re-scored − bundled| ≤ max(atol, rtol × |bundled|) per cell",
    }  # fmt: skip
    detail = "; ".join(outcome.problems) or (
        f"{len(outcome.sample)} video(s) × {len(columns)} metrics within max({atol}, {rtol}×|value|)")
    validation.checks.append(Check("re-score", outcome.ok, detail))


def _chosen_columns(metrics: Sequence[str], carried: list[str]) -> list[str]:
    """``--metrics`` names or columns → the rows' columns to re-score (each must be carried)."""
    from jtbench.metrics.base import resolve_metrics

    columns = [m.spec.column for m in resolve_metrics(metrics)]
    absent = [c for c in columns if c not in carried]
    if absent:
        raise InputError(f"the bundle's rows carry no {', '.join(absent)}", fix=f"choose from {', '.join(carried)}")
    return columns


def _default_hub(kind: str) -> Any:
    from jtbench.models.base import TimedHub

    return TimedHub(backbones=kind, device="cpu")


def _finish(validation: Validation, write: bool, allow_tiny: bool) -> Validation:
    if write:
        from jtbench.io.atomic import write_text

        record = validation.record(test_only_tiny_allowed=allow_tiny)
        write_text(validation_path(validation.bundle), json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    return validation


def read_validation(bundle: str | Path) -> dict[str, Any] | None:
    """The NAME.validation.json beside a bundle, or None."""
    path = validation_path(bundle)
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        return None
