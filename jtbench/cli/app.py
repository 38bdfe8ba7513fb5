"""The typer root: one sub-module per command group; heavy imports happen inside commands."""

from __future__ import annotations

import os
import sys
import warnings

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
    from jtbench.cli import data, demo, doctor, listing, meta_eval, methods, report, run, score, share, study, weights

    app.add_typer(listing.app, name="list")
    app.add_typer(data.app, name="data")
    app.command("score")(score.score)
    app.command("report")(report.report)
    app.command("run")(run.run)
    app.command("doctor")(doctor.doctor)
    app.command("demo")(demo.demo)
    app.add_typer(weights.app, name="weights")
    app.add_typer(methods.app, name="methods")
    app.add_typer(study.app, name="study")
    app.command("meta-eval")(meta_eval.meta_eval)
    app.command("bundle")(share.bundle)
    app.command("validate")(share.validate)
    app.command("leaderboard")(share.leaderboard)
    app.add_typer(share.export_app, name="export")


_register()


def _quiet_third_party() -> None:
    """Silence upstream deprecation chatter and load bars that say nothing about the user's run."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # transformers' "Loading weights" bar
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    warnings.filterwarnings("ignore", message=r"`torch\.jit\.load` is deprecated", category=FutureWarning)


def main() -> None:
    """Entry point: JtbenchError becomes a one-line message and exit code 2, never a traceback."""
    _quiet_third_party()
    try:
        app()
    except JtbenchError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
