"""`jtbench report [RESULTS...] --reference NAME[,NAME] --format md|latex|csv|html --table ... --out PATH`."""

from __future__ import annotations

import sys
import warnings
from enum import Enum
from pathlib import Path

import typer


class ReportFormat(str, Enum):
    md = "md"
    latex = "latex"
    csv = "csv"
    html = "html"


class Thumbnails(str, Enum):
    gif = "gif"
    mp4 = "mp4"


class TableKind(str, Enum):
    main = "main"
    ablation = "ablation"
    per_category = "per-category"
    per_video = "per-video"
    paired = "paired"
    profile = "profile"


def report(
    results: list[Path] = typer.Argument(None, help="results.parquet files or folders holding one."),
    reference: str = typer.Option(
        "",
        "--reference",
        "-r",
        help="Paper rows: paper-zeroscope (Table 1), paper-modelscope (A3), paper-ablation (3), customttt-supp.",
    ),
    profile: str = typer.Option(
        None, "--profile", help="A table of one paper profile's columns (e.g. dreamvideo; `jtbench list profiles`)."
    ),
    fmt: ReportFormat = typer.Option(ReportFormat.md, "--format", "-f", help="md, latex, csv or html."),
    table: TableKind = typer.Option(
        TableKind.main, "--table", "-t", help="main, ablation, per-category, per-video, paired, profile."
    ),
    out: Path = typer.Option(None, "--out", "-o", help="File for md/latex/csv (stdout when absent); folder for html."),
    base: str = typer.Option(None, "--base", help="Keep only result rows of this base model (zeroscope, modelscope)."),
    methods: str = typer.Option(None, "--methods", help="Keep only these methods: a,b."),
    ci: bool = typer.Option(False, "--ci", help="Add 95% bootstrap confidence intervals over videos."),
    ci_resamples: int = typer.Option(1000, "--ci-resamples", help="Bootstrap resamples."),
    ci_level: float = typer.Option(0.95, "--ci-level", help="Confidence level."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    compare: str = typer.Option(None, "--compare", help="Two methods A,B for --table paired (Wilcoxon)."),
    by: str = typer.Option(
        None, "--by", help="Per-category breakdowns: pairing,subject_category,motion_category,background."
    ),
    allow_mixed: bool = typer.Option(
        False, "--allow-mixed", help="Mix base models / metric versions without a warning."
    ),
    title: str = typer.Option(None, "--title", help="Table title (caption)."),
    plots: Path = typer.Option(None, "--plots", help="Also write the radar and per-category charts (PNG, SVG) here."),
    thumbnails: Thumbnails = typer.Option(Thumbnails.gif, "--thumbnails", help="HTML video previews: gif or mp4."),
) -> None:
    """Regenerate the paper's tables from result tables and the paper's reference rows."""
    from jtbench.errors import InputError
    from jtbench.io.atomic import write_text
    from jtbench.report.api import report_text, write_plots, write_report
    from jtbench.report.build import ReportOptions, parse_breakdowns, parse_compare
    from jtbench.report.inputs import gather

    options = ReportOptions(
        ci=ci,
        ci_resamples=ci_resamples,
        ci_level=ci_level,
        seed=seed,
        compare=parse_compare(compare),
        breakdowns=parse_breakdowns(by),
        allow_mixed=allow_mixed,
        title=title,
        profile=profile,
    )
    if profile is not None:
        table = TableKind.profile
    method_list = [m.strip() for m in methods.split(",")] if methods else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if fmt is ReportFormat.html:
            if out is None:
                raise InputError("--format html writes a folder", fix="pass --out DIR")
            path = write_report(
                out,
                results or [],
                reference or None,
                fmt="html",
                options=options,
                base=base,
                methods=method_list,
                thumbnails=thumbnails.value,
            )
            typer.echo(f"wrote {path / 'index.html'}")
        else:
            inputs = gather(results or [], reference or None, base=base, methods=method_list)
            text = report_text(inputs, fmt=fmt.value, table=table.value, options=options)
            if out is None:
                sys.stdout.write(text)
            else:
                write_text(out, text)
                typer.echo(f"wrote {out}", err=True)
        if plots is not None:
            inputs = gather(results or [], reference or None, base=base, methods=method_list)
            for path in write_plots(inputs, plots, options):
                typer.echo(f"wrote {path}", err=True)
    for warning in caught:
        typer.secho(f"warning: {warning.message}", fg=typer.colors.YELLOW, err=True)
