"""`jtbench data prepare|verify`: build and check the prepared layout of SPEC §2."""

from __future__ import annotations

from pathlib import Path

import typer

from jtbench.errors import InputError

app = typer.Typer(help="Prepare and verify the benchmark data (subjects/<id>/00.jpg, motions/<id>/00.mp4).")


def _parse_sources(pairs: list[str]) -> dict[str, Path]:
    sources = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep:
            raise InputError(f"--source expects NAME=PATH, got {pair!r}", fix="e.g. --source davis2016=/data/DAVIS")
        sources[name.strip()] = Path(path).expanduser()
    return sources


@app.command()
def prepare(
    out: Path = typer.Option(..., "--out", help="Folder for the prepared data."),
    source: list[str] = typer.Option(
        [],
        "--source",
        help="NAME=PATH of a local copy in its published layout (dreambooth, customconcept101, "
        "motiondirector, davis2016, ucf101). Repeatable.",
    ),
    subject: list[str] = typer.Option([], "--subject", help="Only these subjects (repeatable)."),
    motion: list[str] = typer.Option([], "--motion", help="Only these motions (repeatable)."),
    download: Path = typer.Option(
        None, "--download", help="Download the missing sources' archives into this folder (needs the network)."
    ),
    demo: bool = typer.Option(False, "--demo", help="Draw and prepare the offline demo slice (procedural stand-ins)."),
) -> None:
    """Convert source layouts into the prepared layout and write a SHA-256 lock file.

    With --subject or --motion, only what is named is prepared.
    """
    from jtbench.benchmark import prepare as prep

    if demo:
        from jtbench.benchmark.demo import prepare_demo

        root = prepare_demo(out)
        typer.echo(f"demo slice prepared in {root} (procedural stand-ins drawn by jtbench, not benchmark data)")
        return
    sources = _parse_sources(source)
    if download is not None:
        wanted = {"dreambooth", "customconcept101", "motiondirector", "davis2016", "ucf101"} - set(sources)
        sources.update(prep.download_sources(sorted(wanted), download))
    named = bool(subject or motion)
    report = prep.prepare(out, sources, subjects=subject if named else None, motions=motion if named else None)
    typer.echo(f"prepared {len(report.written)} files ({len(report.skipped)} already up to date) in {out}")


@app.command()
def verify(out: Path = typer.Argument(..., help="A folder made by `jtbench data prepare`.")) -> None:
    """Re-hash every prepared file against the lock file; name every missing or altered one."""
    from jtbench.benchmark.prepare import verify as check

    problems = check(out)
    for line in problems:
        typer.secho(line, fg=typer.colors.RED, err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"{out}: all prepared files match the lock file")
