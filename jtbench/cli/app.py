"""The typer root: one sub-module per command group; heavy imports happen inside commands."""

from __future__ import annotations

import sys

import typer

from jtbench import __version__
from jtbench.errors import JtbenchError

app = typer.Typer(
    name="jtbench",
    help="The JointTuner benchmark: score videos, train reference methods, regenerate the paper's tables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"jtbench {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """jtbench command line."""


def _register() -> None:
    from jtbench.cli import data, listing

    app.add_typer(listing.app, name="list")
    app.add_typer(data.app, name="data")
    from jtbench.cli import report

    app.command("report")(report.report)
    from jtbench.cli import score, weights

    app.command("score")(score.score)
    app.add_typer(weights.app, name="weights")
    from jtbench.cli import doctor, run

    app.command("run")(run.run)
    app.command("doctor")(doctor.doctor)
    from jtbench.cli import methods

    app.add_typer(methods.app, name="methods")


_register()


def main() -> None:
    """Entry point: JtbenchError becomes a one-line message and exit code 2, never a traceback."""
    try:
        app()
    except JtbenchError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
