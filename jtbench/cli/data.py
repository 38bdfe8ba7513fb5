"""`jtbench data prepare|verify`: build and check the prepared layout of SPEC §2."""

from __future__ import annotations

from pathlib import Path

import typer

from jtbench.errors import InputError

app = typer.Typer(
    help="Prepare and verify the benchmark data (subjects/<id>/00.jpg, motions/<id>/00.mp4, motions_49f/<id>/00.mp4)."
)


def _parse_sources(pairs: list[str]) -> dict[str, Path]:
    sources = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep:
            raise InputError(f"--source expects NAME=PATH, got {pair!r}", fix="e.g. --source jointtuner=~/JointTuner")
        sources[name.strip()] = Path(path).expanduser()
    return sources


@app.command()
def prepare(
    out: Path = typer.Option(..., "--out", help="Folder for the prepared data."),
    source: list[str] = typer.Option(
        [],
        "--source",
        help="NAME=PATH. Recommended: jointtuner=PATH, the JointTuner release (its five zips, the extracted "
        "datasets/JointTuner/ or a clone of the repository): the paper's own files, byte for byte. Fallback: "
        "rebuild from local copies of the original data sets in their published layouts (dreambooth, "
        "customconcept101, motiondirector, davis2016, ucf101). Repeatable.",
    ),
    subject: list[str] = typer.Option([], "--subject", help="Only these subjects (repeatable)."),
    motion: list[str] = typer.Option([], "--motion", help="Only these motions (repeatable)."),
    download: Path = typer.Option(
        None,
        "--download",
        help="Download the JointTuner release's five zips into this folder (needs the network); "
        "with --rebuild, the original data sets' archives instead.",
    ),
    rebuild: bool = typer.Option(
        False, "--rebuild", help="With --download: fetch the original data sets to rebuild from (the fallback)."
    ),
    demo: bool = typer.Option(False, "--demo", help="Draw and prepare the offline demo slice (procedural stand-ins)."),
) -> None:
    """Copy (JointTuner release) or rebuild (original data sets) the references into the prepared
    layout and write a lock file with every file's SHA-256 and source.

    With --subject or --motion, only what is named is prepared.
    """
    from jtbench.benchmark import prepare as prep
    from jtbench.benchmark.manifest import SOURCES
    from jtbench.benchmark.release import RELEASE_SOURCE, download_release

    if demo:
        from jtbench.benchmark.demo import prepare_demo

        root = prepare_demo(out)
        typer.echo(f"demo slice prepared in {root} (procedural stand-ins drawn by jtbench, not benchmark data)")
        return
    sources = _parse_sources(source)
    if rebuild and download is None:
        raise InputError("--rebuild only chooses what --download fetches", fix="add --download DIR, or drop --rebuild")
    if download is not None and rebuild:
        wanted = set(SOURCES) - set(sources)
        sources.update(prep.download_sources(sorted(wanted), download))
    elif download is not None and RELEASE_SOURCE not in sources:
        sources[RELEASE_SOURCE] = download_release(download)
    named = bool(subject or motion)
    report = prep.prepare(out, sources, subjects=subject if named else None, motions=motion if named else None)
    removed = f", {len(report.removed)} left from an earlier preparation removed" if report.removed else ""
    typer.echo(
        f"prepared {len(report.written)} files ({len(report.skipped)} already up to date{removed}) in {out}; "
        f"reference set: {report.reference_set}"
    )


@app.command()
def verify(out: Path = typer.Argument(..., help="A folder made by `jtbench data prepare`.")) -> None:
    """Re-hash every prepared file against the lock file; name every missing or altered one."""
    from jtbench.benchmark.prepare import verify as check
    from jtbench.benchmark.prepared import lock_reference_set, read_lock

    problems = check(out)
    for line in problems:
        typer.secho(line, fg=typer.colors.RED, err=True)
    if problems:
        raise typer.Exit(1)
    lock = read_lock(out) or {}
    typer.echo(
        f"{out}: all {len(lock.get('files', {}))} prepared files match the lock file "
        f"(reference set: {lock_reference_set(lock)})"
    )
