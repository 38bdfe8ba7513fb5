"""Synthetic judgments: perturbed copies whose worse side is known, scored by the normal scorer.

The plan (``DIR/perturb/plan.csv``) lists, for every scored video of the input results, its
original (scored again here, so both sides share one scorer, one backbone set and one device), a
*control* copy and one copy per frame perturbation and severity, plus index rows that score the
original video against another case's prompt, another subject's photo or another motion's clip.
Copies are written losslessly (x264 CRF 0): a control copy goes through the same encoder, so a
frame perturbation is compared with its control and the codec cancels out — shuffling a clip's
frames then leaves every per-frame value exactly as it was. ``DIR/perturb/index.csv`` is an ordinary
``jtbench score --index`` file (SPEC §6); the scorer's own resumption makes the pass resumable.

What each perturbation should do to each metric is data (``data_manifests/perturbations.yaml``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from jtbench.benchmark.combinations import Benchmark
from jtbench.errors import InputError
from jtbench.io.digest import file_sha256
from jtbench.io.layout import INDEX_COLUMNS
from jtbench.io.perturb import Perturbation
from jtbench.io.video import count_frames, read_video, write_video
from jtbench.metaeval.agreement import Stat
from jtbench.report.thumbnails import resolve_video

CONTROL = "control"
#: |Δ| up to this (on the metrics' 0-100 scale) counts as "did not move": float summation order only.
INVARIANCE_TOLERANCE = 1e-3
SIGNS = {"down": -1.0, "up": 1.0}


def _label(method: str, perturbation: str, severity: float | None = None) -> str:
    return f"{method}~{perturbation}" + (f"@{severity:g}" if severity is not None else "")


def _other(values: list[str], current: str, offset: int) -> str | None:
    """A deterministic other value (the next one in sorted order, shifted by ``offset``)."""
    others = [v for v in sorted(set(values)) if v != current]
    return others[offset % len(others)] if others else None


def plan(
    results: pd.DataFrame,
    results_dir: Path,
    out: Path,
    perturbations: dict[str, Perturbation],
    benchmark: Benchmark,
    *,
    seed: int = 0,
) -> pd.DataFrame:
    """Write the perturbed copies (skipping ones already written) and return the plan."""
    rows = []
    have_case = results[results["case_id"].notna()]
    subjects = [s for s in have_case["subject"].dropna().unique() if _exists(benchmark.reference_image, s)]
    motions = list(have_case["motion"].dropna().unique())
    cases = list(have_case["case_id"].unique())
    for n, row in enumerate(have_case.itertuples(index=False)):
        source = resolve_video(row.video, results_dir)  # as recorded, else under the results folder, else the cwd
        if source is None:
            raise InputError(
                "a scored video is missing", file=row.video, fix="pass the run or score folder that holds it"
            )
        base = dict(
            case_id=row.case_id,
            seed=row.seed,
            base_model=row.base_model,
            origin_method=row.method,
            origin_sha256=row.video_sha256,
        )
        rows.append(
            dict(
                base,
                video=str(source),
                method=row.method,
                perturbation="original",
                severity=np.nan,
                video_sha256=row.video_sha256,
                baseline_method=row.method,
                baseline_sha256=row.video_sha256,
            )
        )
        clip = None
        for pid, p in perturbations.items():
            if p.kind == "frames":
                clip = clip if clip is not None else read_video(source)
                frames = clip.frames.numpy()
                control = out / "videos" / CONTROL / row.method / row.video_sha256[:16] / "0.mp4"
                if not control.is_file():
                    write_video(frames, control, fps=clip.fps, crf=0)
                control_label, control_sha = _label(row.method, CONTROL), file_sha256(control)
                if not any(r["method"] == control_label and r["origin_sha256"] == row.video_sha256 for r in rows):
                    rows.append(
                        dict(
                            base,
                            video=str(control),
                            method=control_label,
                            perturbation=CONTROL,
                            severity=np.nan,
                            video_sha256=control_sha,
                            baseline_method=row.method,
                            baseline_sha256=row.video_sha256,
                        )
                    )
                for severity in p.levels():
                    graded = severity if p.graded else None
                    target = out / "videos" / pid / f"{severity:g}" / row.method / row.video_sha256[:16] / "0.mp4"
                    if not target.is_file():
                        changed = p.apply(frames, severity=severity, seed=seed + n, fps=clip.fps)
                        write_video(changed, target, fps=clip.fps, crf=0)
                    rows.append(
                        dict(
                            base,
                            video=str(target),
                            method=_label(row.method, pid, graded),
                            perturbation=pid,
                            severity=severity if p.graded else np.nan,
                            video_sha256=file_sha256(target),
                            baseline_method=control_label,
                            baseline_sha256=control_sha,
                        )
                    )
                continue
            extra = _swap(p, row, source, benchmark, cases, subjects, motions, n)
            if extra is None:
                continue
            rows.append(
                dict(
                    base,
                    video=str(source),
                    method=_label(row.method, pid),
                    perturbation=pid,
                    severity=np.nan,
                    video_sha256=row.video_sha256,
                    baseline_method=row.method,
                    baseline_sha256=row.video_sha256,
                    **extra,
                )
            )
    return pd.DataFrame(rows)


def _exists(getter, name: str) -> bool:
    try:
        return getter(name).is_file()
    except InputError:
        return False


def _swap(p: Perturbation, row, source: Path, benchmark: Benchmark, cases, subjects, motions, n: int) -> dict | None:
    """The index fields that score ``row``'s video against another prompt or reference (None: no other one)."""
    if p.kind == "prompt":
        mine = benchmark.case_by_id(row.case_id)
        pool = [
            c
            for c in cases
            if benchmark.case_by_id(c).subject != mine.subject and benchmark.case_by_id(c).motion != mine.motion
        ] or [c.case_id for c in benchmark.cases() if c.subject != mine.subject and c.motion != mine.motion]
        other = _other(pool, row.case_id, n)
        return None if other is None else {"prompt": benchmark.case_by_id(other).prompt}
    if p.kind == "subject_reference":
        other = _other(subjects, row.subject, n)
        return None if other is None else {"reference_image": str(benchmark.reference_image(other))}
    other = _other(motions, row.motion, n)
    if other is None:
        return None
    return {"reference_video": str(benchmark.reference_video(other, frames=count_frames(source)))}


def write_index(plan_frame: pd.DataFrame, folder: Path) -> Path:
    """``folder/index.csv`` (SPEC §6 columns) and ``folder/plan.csv`` (the plan, for the analysis)."""
    folder.mkdir(parents=True, exist_ok=True)
    index = plan_frame.reindex(columns=list(INDEX_COLUMNS))
    index = index.drop(columns=[c for c in ("reference_images",) if c in index.columns])
    tmp = folder / ".index.csv.tmp"
    index.to_csv(tmp, index=False)
    tmp.replace(folder / "index.csv")
    plan_frame.to_csv(folder / ".plan.csv.tmp", index=False)
    (folder / ".plan.csv.tmp").replace(folder / "plan.csv")
    return folder / "index.csv"


def analyse(
    plan_frame: pd.DataFrame, scored: pd.DataFrame, perturbations: dict[str, Perturbation], metrics: list[str]
) -> list[Stat]:
    """Per perturbation × metric: directional accuracy, Δ/σ, invariance violations, Spearman vs severity."""
    value = scored.set_index(["method", "video_sha256"])
    out: list[Stat] = []
    originals = plan_frame[plan_frame["perturbation"] == "original"]
    for pid, p in perturbations.items():
        rows = plan_frame[plan_frame["perturbation"] == pid]
        for column, expected in p.expected.items():
            if column not in metrics or rows.empty or not scored[column].notna().any():
                continue  # not scored in this pass (--metrics)
            after = _lookup(value, rows["method"], rows["video_sha256"], column)
            before = _lookup(value, rows["baseline_method"], rows["baseline_sha256"], column)
            base = _lookup(value, originals["method"], originals["video_sha256"], column)
            sigma = float(np.nanstd(base, ddof=1)) if np.isfinite(base).sum() > 1 else np.nan
            delta = after - before
            ok = np.isfinite(delta)
            kind = "by construction" if column in p.by_construction else ("bias" if column in p.bias else "expected")
            dim, test = f"perturb:{pid}", f"{kind}: {expected}"
            if not ok.any():
                out.append(Stat(column, dim, "directional_accuracy", np.nan, n=0, test=test, note="no scored pairs"))
                continue
            if expected == "same":
                moved = np.abs(delta[ok]) > INVARIANCE_TOLERANCE
                note = f"largest |Δ| = {np.abs(delta[ok]).max():.3g}"
                out.append(
                    Stat(
                        column, dim, "invariance_violations", float(moved.sum()), n=int(ok.sum()), test=test, note=note
                    )
                )
            else:
                right = np.sign(delta[ok]) == SIGNS[expected]
                out.append(Stat(column, dim, "directional_accuracy", float(right.mean()), n=int(ok.sum()), test=test))
            with np.errstate(invalid="ignore", divide="ignore"):
                out.append(
                    Stat(
                        column,
                        dim,
                        "effect_size",
                        float(np.mean(delta[ok]) / sigma),
                        n=int(ok.sum()),
                        test=test,
                        note=f"mean Δ / σ of the originals (σ = {sigma:.3g})",
                    )
                )
            if p.graded:
                out.append(_severity(rows, after, before, column, dim, test))
    return out


def _lookup(value: pd.DataFrame, methods: pd.Series, shas: pd.Series, column: str) -> np.ndarray:
    keys = list(zip(methods, shas, strict=True))
    found = value[column].reindex(pd.MultiIndex.from_tuples(keys, names=["method", "video_sha256"]))
    return found.to_numpy(dtype=float)


def _severity(rows: pd.DataFrame, after: np.ndarray, before: np.ndarray, column: str, dim: str, test: str) -> Stat:
    """Mean over videos of Spearman(severity, value), the control at severity 0."""
    rhos = []
    frame = pd.DataFrame(
        {
            "video": rows["origin_method"] + "/" + rows["origin_sha256"],
            "severity": rows["severity"],
            "after": after,
            "before": before,
        }
    )
    for _, group in frame.groupby("video"):
        x = np.r_[0.0, group["severity"].to_numpy()]
        y = np.r_[group["before"].iloc[0], group["after"].to_numpy()]
        if np.isfinite(y).all() and np.ptp(y) > 0:
            rhos.append(spearmanr(x, y).statistic)
    value = float(np.mean(rhos)) if rhos else np.nan
    return Stat(
        column,
        dim,
        "spearman_severity",
        value,
        n=len(rhos),
        test=test,
        note="mean over videos of Spearman(severity, score), control copy at severity 0",
    )
