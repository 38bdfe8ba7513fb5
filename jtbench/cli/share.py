"""`jtbench bundle`, `jtbench validate`, `jtbench leaderboard` and `jtbench export hf` (SPEC §8).

Exit codes: 0 done (validate: every check holds); 1 validate found a failing check; 2 bad input or a
refused bundle (the message names the rows or members).
"""

from __future__ import annotations

from pathlib import Path

import typer

from jtbench.cli.score import Precision, parse_metric_names, parse_weight_overrides
from jtbench.errors import JtbenchError

export_app = typer.Typer(help="Export bundles for other platforms (hf: a Hugging Face dataset folder).")

#: Hidden, test-only: accept tiny random backbones (the demo's), which every real bundle refuses.
TEST_TINY = typer.Option(False, "--test-only-allow-tiny-backbones", hidden=True)


def _fail(exc: JtbenchError) -> typer.Exit:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    return typer.Exit(2)


def bundle(
    results: Path = typer.Argument(..., help="A results.parquet (or its folder) written by `jtbench score` or `run`."),
    info: Path = typer.Option(..., "--info", help="YAML or JSON submission fields (SPEC §8; README: 'Sharing')."),
    out: Path = typer.Option(..., "--out", help="The bundle to write: NAME.zip."),
    method: str = typer.Option(None, "--method", help="The method to bundle when the results hold several."),
    videos: bool = typer.Option(False, "--videos", help="Put the scored videos in the bundle (checked by SHA-256)."),
    allow_missing: bool = typer.Option(False, "--allow-missing", help="Bundle NaN cells (recorded in the bundle)."),
    allow_tiny: bool = TEST_TINY,
) -> None:
    """One method's results as a checkable archive: submission.json, results.parquet, digests, optional videos."""
    from jtbench.share.bundle import make_bundle
    from jtbench.share.submission import read_info

    try:
        result = make_bundle(results, read_info(info), out, method=method, videos=videos,
                             allow_missing=allow_missing, allow_tiny=allow_tiny)  # fmt: skip
    except JtbenchError as exc:
        raise _fail(exc) from exc
    typer.echo(f"bundle: {result.path} ({result.rows} rows, {result.videos} videos, {result.size_bytes} bytes)")
    typer.echo(f"sha256: {result.sha256}")


def validate(
    bundle_path: Path = typer.Argument(..., metavar="BUNDLE", help="A NAME.zip written by `jtbench bundle`."),
    videos: Path = typer.Option(None, "--videos", help="Folder of the bundle's videos (<case_id>/<seed>.mp4)."),
    sample: int = typer.Option(5, "--sample", min=0, help="Videos to re-score (drawn at random, seeded)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the draw."),
    data: Path = typer.Option(None, "--data", help="Prepared data the bundle was scored against (references)."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, ..."),
    precision: Precision = typer.Option(Precision.anchor, "--precision", help="Precision of the metrics."),
    offline: bool = typer.Option(False, "--offline", help="Never touch the network (missing weights fail)."),
    weights: list[str] = typer.Option([], "--weights", help="ID=PATH: use this file for weight ID (repeatable)."),
    rtol: float = typer.Option(None, "--rtol", help="Relative tolerance per re-scored cell (default 0.005)."),
    atol: float = typer.Option(None, "--atol", help="Absolute floor of the tolerance (default 0.01)."),
    metrics: list[str] = typer.Option([], "--metrics", help="Re-score only these columns (default: all carried)."),
    allow_tiny: bool = TEST_TINY,
) -> None:
    """Check a bundle (schema, digests, completeness, backbones, versions); with videos, re-score a sample."""
    from jtbench.share.rescore import ATOL, RTOL
    from jtbench.share.validate import validate_bundle, validation_path

    def hub_factory(kind: str):
        from jtbench.models.base import TimedHub
        from jtbench.weights.resolve import WeightResolver

        resolver = WeightResolver(offline=offline, overrides=parse_weight_overrides(weights))
        return TimedHub(backbones=kind, device=device, precision=precision.value, resolver=resolver)

    try:
        result = validate_bundle(
            bundle_path, videos_dir=videos, sample=sample, seed=seed, data=data, hub_factory=hub_factory,
            allow_tiny=allow_tiny, rtol=RTOL if rtol is None else rtol, atol=ATOL if atol is None else atol,
            metrics=parse_metric_names(metrics),
        )  # fmt: skip
    except JtbenchError as exc:
        raise _fail(exc) from exc
    _print_verdict(result)
    typer.echo(f"written: {validation_path(bundle_path)}")
    raise typer.Exit(0 if result.ok else 1)


def _print_verdict(result) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{result.bundle.name}  sha256 {result.sha256[:16]}…")
    for column in ("check", "verdict", "detail"):
        table.add_column(column, overflow="fold")
    for check in result.checks:
        verdict = {True: "[green]pass[/]", False: "[red]FAIL[/]", None: "[yellow]not run[/]"}[check.ok]
        table.add_row(check.name, verdict, escape(check.detail))
    console = Console(width=max(Console().width, 120))
    console.print(table)
    console.print("[green]valid[/]" if result.ok else "[red]NOT valid[/]: see the failing checks")


def leaderboard(
    bundles: list[Path] = typer.Argument(..., metavar="BUNDLE...", help="Bundles (NAME.zip), validated or not."),
    out: Path = typer.Option(..., "--out", help="Site folder: index.html, leaderboard.csv, leaderboard.json."),
    reference: str = typer.Option(None, "--reference", help="Paper tables beside the rows (default: every main one)."),
    profile: list[str] = typer.Option([], "--profile", help="Only these profiles' tables (default: all)."),
) -> None:
    """A static leaderboard (opens from disk): one table per base-model group, paper rows beside, sortable."""
    from jtbench.share.site import write_site

    references = [r.strip() for r in reference.split(",") if r.strip()] if reference else None
    try:
        site = write_site(bundles, out, references=references, profiles=[p for v in profile for p in v.split(",")])
    except JtbenchError as exc:
        raise _fail(exc) from exc
    typer.echo(f"leaderboard: {site / 'index.html'} (raw numbers: leaderboard.csv, leaderboard.json)")


@export_app.command("hf")
def export_hf(
    bundles: list[Path] = typer.Argument(..., metavar="BUNDLE...", help="Bundles (NAME.zip)."),
    out: Path = typer.Option(..., "--out", help="Dataset folder: README.md, data/<config>/…parquet, videos/."),
    shard_rows: int = typer.Option(10_000, "--shard-rows", min=1, help="At most this many rows per Parquet file."),
) -> None:
    """A Hugging Face dataset folder (configs prompts, leaderboard, per_video; videos as a video folder)."""
    from jtbench.share.hf_export import export_hf as write

    try:
        folder = write(bundles, out, rows_per_shard=shard_rows)
    except JtbenchError as exc:
        raise _fail(exc) from exc
    typer.echo(f"dataset folder: {folder} (datasets.load_dataset('{folder}', 'per_video'))")
