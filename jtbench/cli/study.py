"""`jtbench study create | serve | status | export`: a blinded human-rating study of scored videos."""

from __future__ import annotations

from pathlib import Path

import typer

from jtbench.cli.output import OutputFormat, emit

app = typer.Typer(help="A blinded human-rating study: build it from results, serve it to raters, export the ratings.")


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@app.command("create")
def create(
    results: list[Path] = typer.Argument(
        ..., help="results.parquet files (or folders holding one): score/run outputs."
    ),
    data: Path = typer.Option(..., "--data", help="The prepared data folder (reference photos and motion clips)."),
    out: Path = typer.Option(..., "--out", help="The study folder to write (re-running the same command resumes)."),
    design: str = typer.Option("pairwise", "--design", help="pairwise (two methods side by side) or absolute (1-5)."),
    dimensions: str = typer.Option(None, "--dimensions", help="Comma-separated dimension ids (default: all four)."),
    raters: int = typer.Option(10, "--raters", help="Number of rater slots."),
    per_item: int = typer.Option(3, "--ratings-per-item", help="Raters per item (overlap for agreement)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the selection, assignment, order and sides."),
    cases: str = typer.Option(None, "--cases", help="Comma-separated case ids or glob patterns."),
    limit: int = typer.Option(None, "--limit", help="At most this many cases, stratified over the pairings."),
    gold: int = typer.Option(2, "--gold", help="Gold pairs (known worse side) per rater; pairwise only."),
    repeats: int = typer.Option(2, "--repeats", help="Items shown again with the sides swapped, per rater."),
    trim: str = typer.Option(None, "--trim", help="'shortest': cut clips of different lengths/fps to the shortest."),
    code: str = typer.Option(None, "--completion-code", help="The code shown (and sent to Prolific) at the end."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the transcoding progress bar."),
) -> None:
    """Build a study folder: study.json, private/key.json (never served) and blinded media/."""
    from jtbench.study.create import CreateOptions, create_study

    opts = CreateOptions(
        design=design,
        dimensions=_split(dimensions),
        raters=raters,
        per_item=per_item,
        seed=seed,
        cases=_split(cases),
        limit=limit,
        gold_per_rater=gold,
        repeats_per_rater=repeats,
        trim=trim,
        completion_code=code,
    )
    doc = create_study(results, data, out, opts, progress=progress)
    kinds: dict[str, int] = {}
    for item in doc["items"]:
        kinds[item["kind"]] = kinds.get(item["kind"], 0) + 1
    per_rater = sorted(len(a["items"]) for a in doc["assignments"])
    counts = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    typer.echo(
        f"study {doc['study_id']} in {out}: {len(doc['items'])} items ({counts}), "
        f"{len(per_rater)} rater slots with {per_rater[0]}-{per_rater[-1]} items each"
    )
    fmt = doc["media"]
    size = f"{fmt['width']}x{fmt['height']}"
    typer.echo(f"media: {fmt['codec']} {fmt['container']} {size}, {fmt['frames']} frames at {fmt['fps']:g} fps")
    for note in doc["report"]:
        typer.echo(f"  note: {note}")
    typer.echo(f"next: jtbench study serve {out}")


@app.command("serve")
def serve(
    study: Path = typer.Argument(..., help="The study folder."),
    port: int = typer.Option(8765, "--port", help="Port on 127.0.0.1."),
) -> None:
    """Serve the rating page on 127.0.0.1 (raters open /?rater=ID, or Prolific's PROLIFIC_PID link)."""
    from jtbench.study.server import serve as run_server

    run_server(study, port)


@app.command("status")
def status(
    study: Path = typer.Argument(..., help="The study folder."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="table, csv or json"),
) -> None:
    """Per rater: judgments done / assigned, failed gold judgments, median seconds per item."""
    from jtbench.study.export import status_frame

    df, problems = status_frame(study)
    for problem in problems:
        typer.secho(f"warning: {problem}", fg=typer.colors.YELLOW, err=True)
    rows = [{k: (None if v != v else v) for k, v in r.items()} for r in df.to_dict("records")]  # NaN -> empty
    if not rows:
        typer.echo("no rater has joined yet")
        return
    emit(rows, fmt, title=f"study {study}")


@app.command("export")
def export(
    study: Path = typer.Argument(..., help="The study folder."),
    out: Path = typer.Option(..., "--out", help="Folder for ratings.parquet and the other formats."),
) -> None:
    """ratings.parquet (SPEC §7, the input of meta-eval) + VBench human_anno, FastChat battles, VideoAlign CSV."""
    from jtbench.study.export import export_study

    written, df, notes = export_study(study, out)
    for note in notes:
        typer.secho(f"warning: {note}", fg=typer.colors.YELLOW, err=True)
    typer.echo(f"{len(df)} judgments by {df['rater_id'].nunique()} rater(s)")
    for name, path in written.items():
        typer.echo(f"  {name}: {path}")
