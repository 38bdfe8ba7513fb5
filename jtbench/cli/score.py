"""`jtbench score (FOLDER | --index FILE) --out DIR`: score externally generated videos.

Exit codes: 0 every input scored with every metric; 1 some inputs could not be scored
(``DIR/errors.csv``) or some metric failed on some video (the row's ``errors``), everything
else still written; 2 nothing could start (bad index, bad option, missing metric module).
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path

import typer

from jtbench.errors import InputError, JtbenchError


class Precision(str, Enum):
    anchor = "anchor"
    fp32 = "fp32"
    fp16 = "fp16"
    bf16 = "bf16"


class Backbones(str, Enum):
    paper = "paper"
    tiny = "tiny"


def parse_weight_overrides(pairs: list[str]) -> dict[str, Path]:
    """``["ID=PATH", …]`` → ``{ID: PATH}``; a malformed pair says how to write it."""
    overrides = {}
    for pair in pairs:
        wid, sep, path = pair.partition("=")
        if not sep or not wid.strip() or not path.strip():
            raise InputError(
                f"--weights expects ID=PATH, got {pair!r}", fix="e.g. --weights openai-clip-vit-b-32=ViT-B-32.pt"
            )
        overrides[wid.strip()] = Path(path.strip()).expanduser()
    return overrides


def parse_metric_names(values: list[str]) -> list[str] | None:
    """``--metrics a,b --metrics c`` → ``[a, b, c]``; None (all ten) when not given."""
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    return names or None


def selected_metrics(metrics: list[str], profiles: list[str]) -> list[str] | None:
    """``--metrics`` (default: the ten) plus every metric of each ``--profile``; None = the ten alone."""
    from jtbench.metrics.base import PAPER_METRICS
    from jtbench.metrics.profiles import profile_metrics

    names = parse_metric_names(metrics)
    chosen = parse_metric_names(profiles)
    if not chosen:
        return names
    return [*(names or PAPER_METRICS), *profile_metrics(chosen)]


#: ``--profile NAME`` of `score` and `run` (parsed by :func:`selected_metrics`).
PROFILE_OPTION = typer.Option(
    [], "--profile", help="Also score a paper profile's columns (e.g. dreamvideo; `jtbench list profiles`)."
)


def score(
    folder: Path = typer.Argument(None, help="A folder of <case_id>.mp4 or <case_id>/<seed>.mp4 videos."),
    index: Path = typer.Option(None, "--index", help="A CSV or JSON index (video, case_id or prompt, ...)."),
    out: Path = typer.Option(..., "--out", help="Output folder: results.parquet, summary.csv, errors.csv."),
    method: str = typer.Option(
        None, "--method", help="Method name for rows that do not give one (default: the folder's name, or 'external')."
    ),
    base_model: str = typer.Option(None, "--base-model", "--base", help="Base model for rows that do not give one."),
    metrics: list[str] = typer.Option([], "--metrics", help="Metric names or paper columns, comma-separated."),
    profile: list[str] = PROFILE_OPTION,
    data: Path = typer.Option(None, "--data", help="Prepared data (subjects/<id>/00.jpg, motions/<id>/00.mp4)."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:1, ..."),
    batch_size: int = typer.Option(16, "--batch-size", min=1, help="At most this many frames per model call."),
    max_memory: str = typer.Option(
        None, "--max-memory", help="Memory the scoring may use, e.g. 8GB (default: what the device has free)."
    ),
    precision: Precision = typer.Option(
        Precision.anchor, "--precision", help="anchor = the official runs: openai-clip fp16 on CUDA, fp32 elsewhere."
    ),
    backbones: Backbones = typer.Option(
        Backbones.paper, "--backbones", help="paper = published checkpoints; tiny = random test models."
    ),
    offline: bool = typer.Option(False, "--offline", help="Never touch the network (missing weights fail)."),
    weights: list[str] = typer.Option([], "--weights", help="ID=PATH: use this file for weight ID (repeatable)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar with ETA."),
) -> None:
    """Score videos with the paper's ten metrics (or --metrics), plus any --profile, into DIR/results.parquet."""
    try:
        code = _score(
            folder, index, out, method, base_model, selected_metrics(metrics, profile), data, device, batch_size,
            precision.value, backbones.value, offline, weights, progress, max_memory,
        )  # fmt: skip
    except JtbenchError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    raise typer.Exit(code)


def _score(
    folder, index, out, method, base_model, metrics, data, device, batch_size, precision, backbones, offline, weights,
    progress, max_memory=None,
) -> int:  # fmt: skip
    from jtbench.benchmark import Benchmark
    from jtbench.io.layout import read_index, scan_folder
    from jtbench.metrics.memory import parse_memory
    from jtbench.metrics.scorer import DEFAULT_METHOD, Scorer, TimedHub
    from jtbench.weights.resolve import WeightResolver

    if (folder is None) == (index is None):
        raise InputError("give either a FOLDER or --index FILE (not both)", fix="see `jtbench score --help`")
    if folder is not None:
        entries = scan_folder(folder, method=method or Path(folder).resolve().name)
    else:
        entries = read_index(index, method=method, base_model=base_model, data_root=data)
    if offline:  # libraries that could reach a hub on their own must not either
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
            os.environ[name] = "1"
    resolver = WeightResolver(offline=offline, overrides=parse_weight_overrides(weights))
    hub = TimedHub(backbones=backbones, device=device, precision=precision, resolver=resolver)
    scorer = Scorer(
        metrics,
        hub=hub,
        benchmark=Benchmark.load(data_root=data),
        batch_size=batch_size,
        method=method or DEFAULT_METHOD,
        base_model=base_model,
        max_memory=parse_memory(max_memory),
    )
    if backbones == "tiny":
        typer.secho(
            "warning: --backbones tiny uses random test models; these numbers are NOT the paper's metrics.",
            fg=typer.colors.YELLOW,
            err=True,
        )
    with _progress_bar(progress and sys.stderr.isatty(), len(entries)) as advance:
        report = scorer.score(entries, out, on_video=advance)
    _print_summary(report, out, backbones)
    return 0 if report.ok else 1


class _progress_bar:
    """A rich progress bar with elapsed time and ETA, yielding ``advance(name)``."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled, self.total = enabled, total

    def __enter__(self):
        if not self.enabled:
            return lambda name: None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("[bold]scoring"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.description}"),
            console=Console(stderr=True),
        )
        self._bar.__enter__()
        task = self._bar.add_task("", total=self.total)
        return lambda name: self._bar.update(task, advance=1, description=name)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._bar.__exit__(*exc)


def _print_summary(report, out: Path, backbones: str) -> None:
    from jtbench.metrics.scorer import ERRORS_FILE, RESULTS_FILE, SUMMARY_FILE

    typer.echo(
        f"scored {report.scored} video(s), skipped {report.skipped} already scored, "
        f"{len(report.unscorable)} could not be scored → {out / RESULTS_FILE}"
    )
    summary = out / SUMMARY_FILE
    if summary.is_file():
        typer.echo(f"per-method means: {summary}")
        typer.echo(summary.read_text().rstrip())
    for column, count in sorted(report.metric_failures.items()):
        if count:
            typer.secho(
                f"{column} failed on {count} video(s): NaN in results, reason in the 'errors' column",
                fg=typer.colors.RED,
                err=True,
            )
    if report.unscorable:
        typer.secho(f"{len(report.unscorable)} input(s) not scored, listed in {out / ERRORS_FILE}:", fg="red", err=True)
        for item in report.unscorable[:10]:
            typer.secho(f"  {item.video}: {item.problem} — fix: {item.fix}", fg=typer.colors.RED, err=True)
        if len(report.unscorable) > 10:
            typer.secho(f"  … and {len(report.unscorable) - 10} more", fg=typer.colors.RED, err=True)
    if backbones == "tiny":
        typer.secho("NOTE: tiny random backbones — NOT the paper's numbers.", fg=typer.colors.YELLOW, err=True)
