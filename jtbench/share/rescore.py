"""Re-score a seeded sample of a bundle's videos through the normal Scorer and compare every cell.

A leaderboard number is only "evaluated by jtbench" when jtbench itself scored the submitted files:
the sample is drawn with ``numpy.random.default_rng(seed)`` over the rows in bundle order, the videos
come from the bundle (or a folder given by the user, checked against ``videos.sha256``), and each
metric column the rows carry, the ten and any profile's, is scored again with the same backbones kind
and compared within ``max(atol, rtol·|bundled|)``. Dyn-Deg is 0 or 100 per video, so a flip always fails.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jtbench.io.digest import file_sha256
from jtbench.io.layout import VideoEntry
from jtbench.io.tables import read_results
from jtbench.share.archive import BundleArchive

RTOL, ATOL = 0.005, 0.01  # relative to the bundled value; absolute floor (values near 0)
REFERENCE_DIGESTS = ("reference_image_sha256", "reference_video_sha256", "reference_images_sha256")


@dataclass
class RescoreOutcome:
    """What re-scoring found: the drawn rows, every compared cell, and the problems."""

    sample: list[str]
    figures: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    videos_verified: bool = True  # every sampled file is the one listed in videos.sha256

    @property
    def ok(self) -> bool:
        return not self.problems


def draw_sample(n_rows: int, n: int, seed: int) -> list[int]:
    """Row positions to re-score: ``n`` of ``n_rows`` without replacement, seeded, in bundle order."""
    rng = np.random.default_rng(seed)
    return sorted(int(i) for i in rng.choice(n_rows, size=min(n, n_rows), replace=False))


def within(bundled: float, rescored: float, rtol: float = RTOL, atol: float = ATOL) -> bool:
    if math.isnan(bundled) or math.isnan(rescored):
        return math.isnan(bundled) and math.isnan(rescored)
    return abs(rescored - bundled) <= max(atol, rtol * abs(bundled))


def video_source(bundle: Path, names: list[str], videos_dir: Path | None) -> str | None:
    """``dir`` when a folder was given, ``bundle`` when the bundle carries videos, else None."""
    if videos_dir is not None:
        return "dir"
    return "bundle" if any(n.startswith("videos/") for n in names) else None


def fetch_video(member: str, bundle: Path, videos_dir: Path | None, into: Path) -> Path | None:
    """The file of ``videos/<case>/<seed>.mp4``: from DIR (``DIR/<case>/<seed>.mp4`` or ``DIR/videos/…``)
    or extracted from the bundle into ``into``; None when absent."""
    if videos_dir is not None:
        inner = member.removeprefix("videos/")
        for candidate in (videos_dir / inner, videos_dir / member):
            if candidate.is_file():
                return candidate
        return None
    target = into / member
    target.parent.mkdir(parents=True, exist_ok=True)
    with BundleArchive(bundle) as archive:
        if member not in archive.names:
            return None
        target.write_bytes(archive.read(member))
    return target


def rescore(
    bundle: Path, rows: pd.DataFrame, columns: list[str], *, videos_dir: Path | None, n: int, seed: int, hub: Any,
    data: Path | None, rtol: float = RTOL, atol: float = ATOL,
) -> RescoreOutcome:  # fmt: skip
    """Draw ``n`` rows, score their videos with ``columns``' metrics through ``hub`` and compare each cell."""
    from jtbench.benchmark import Benchmark
    from jtbench.metrics.scorer import Scorer

    picked = rows.iloc[draw_sample(len(rows), n, seed)]
    outcome = RescoreOutcome(sample=list(picked["video"]))
    with tempfile.TemporaryDirectory(prefix="jtbench-validate-") as tmp:
        work = Path(tmp)
        entries = []
        for row in picked.itertuples():
            path = fetch_video(row.video, bundle, videos_dir, work / "in")
            if path is None:
                outcome.problems.append(f"{row.video}: video not found")
                outcome.videos_verified = False
                continue
            if (digest := file_sha256(path)) != row.video_sha256:
                outcome.problems.append(f"{row.video}: sha256 {digest[:12]}… ≠ the bundle's {row.video_sha256[:12]}…")
                outcome.videos_verified = False
            local = work / "videos" / row.video  # the bundle path, so the re-scored row names it the same way
            local.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, local)
            entries.append(VideoEntry(video=local, origin=row.video, case_id=row.case_id,
                                      seed=None if pd.isna(row.seed) else int(row.seed),
                                      method=row.method, base_model=row.base_model))  # fmt: skip
        if entries:
            scorer = Scorer(columns, hub=hub, benchmark=Benchmark.load(data_root=data), method=picked["method"].iloc[0])
            report = scorer.score(entries, work / "scores")
            outcome.problems += [f"{u.video}: could not be re-scored: {u.problem}" for u in report.unscorable]
            fresh = read_results(work / "scores") if (work / "scores" / "results.parquet").is_file() else None
            if fresh is not None:
                _compare(picked, fresh, work / "videos", columns, outcome, rtol, atol)
    return outcome


def _compare(
    picked: pd.DataFrame, fresh: pd.DataFrame, root: Path, columns: list[str], outcome: RescoreOutcome,
    rtol: float, atol: float,
) -> None:  # fmt: skip
    by_video = {Path(v).resolve(): r for v, r in zip(fresh["video"], fresh.to_dict("records"), strict=True)}
    for row in picked.to_dict("records"):
        new = by_video.get((root / row["video"]).resolve())
        if new is None:
            continue  # reported as unscorable or missing above
        for ref in REFERENCE_DIGESTS:
            if row.get(ref) and new.get(ref) and row[ref] != new[ref]:
                outcome.problems.append(f"{row['video']}: {ref.removesuffix('_sha256')} differs from the one the "
                                        "bundle was scored against (pass the same --data)")  # fmt: skip
        for column in columns:
            bundled, again = float(row[column]), float(new.get(column, math.nan))
            ok = within(bundled, again, rtol, atol)
            outcome.figures.append({"video": row["video"], "metric": column, "bundled": bundled, "rescored": again,
                                    "diff": again - bundled, "ok": ok})  # fmt: skip
            if not ok:
                outcome.problems.append(f"{row['video']}, {column}: re-scored {again:.4f}, bundle says {bundled:.4f} "
                                        f"(tolerance {max(atol, rtol * abs(bundled)):.4f})")  # fmt: skip
