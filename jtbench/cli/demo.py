"""`jtbench demo`: the three jobs a researcher comes for, on the drawn demo slice, in minutes on a CPU.

1. ``jtbench run`` trains, samples, scores and reports three demo methods that differ where the
   metrics look (``dummy`` follows the reference motion, ``dummy-static`` holds still,
   ``dummy-noise`` is noise);
2. ``jtbench score`` scores a folder of videos named by the benchmark's rule, as a user's own method
   (here: each case's reference motion clip, copied);
3. ``jtbench report`` puts all of them beside the paper's Table 1, in Markdown and LaTeX.

Every command is printed as a user would type it and run in this process (models stay loaded).
Everything uses tiny random backbones, needs no weights, no data and no network, and says so.
"""

from __future__ import annotations

import shlex
import shutil
import time
from pathlib import Path

import click
import typer

from jtbench.errors import JtbenchError

DEMO_METHODS = ("dummy", "dummy-static", "dummy-noise")
MY_METHOD = "my_method"  # the folder's name is the method's name in the results


def demo_steps(out: Path, device: str, metrics: str | None = None) -> list[tuple[str, list[str]]]:
    """(what it shows, the jtbench command line) for each step, in order."""
    run, mine, scores = out / "run", out / MY_METHOD, out / f"{MY_METHOD}_scores"
    report = [str(run), str(scores), "--reference", "paper-zeroscope"]
    only = ["--metrics", metrics] if metrics else []
    return [
        ("train, sample, score and report three demo methods",
         ["run", "--methods", ",".join(DEMO_METHODS), "--demo", "--backbones", "tiny", "--device", device,
          *only, "--out", str(run)]),
        ("score a folder of your own videos (<case_id>.mp4)",
         ["score", str(mine), "--data", str(run / "data"), "--backbones", "tiny", "--device", device,
          *only, "--out", str(scores), "--no-progress"]),
        ("your rows beside the paper's Table 1 (Markdown)", ["report", *report, "--out", str(out / "table1.md")]),
        ("the same table in LaTeX", ["report", *report, "--format", "latex", "--out", str(out / "table1.tex")]),
    ]  # fmt: skip


def write_my_method(out: Path) -> Path:
    """``out/my_method/<case_id>.mp4``: the videos "your method" made — copies of each case's reference clip."""
    from jtbench.benchmark import Benchmark
    from jtbench.benchmark.demo import demo_backgrounds, demo_combinations

    data, folder = out / "run" / "data", out / MY_METHOD
    bench = Benchmark.load(data_root=data)
    for combo in demo_combinations(bench):
        for background in demo_backgrounds():
            case = bench.case(combo, background)
            target = folder / f"{case.case_id}.mp4"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(bench.motion_clips(combo.motion)[0], target)
    return folder


def _invoke(root: click.Command, args: list[str]) -> int:
    """Run one ``jtbench`` command line through ``root`` (the command the demo runs under), in this process."""
    typer.secho(f"\n$ jtbench {shlex.join(args)}", bold=True)
    try:
        code = root(args, standalone_mode=False)
    except JtbenchError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        return 2
    return int(code or 0)


def demo(
    ctx: typer.Context,
    out: Path = typer.Option(Path("runs/demo"), "--out", help="Folder for everything the demo writes."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    metrics: str = typer.Option(None, "--metrics", help="Only these metrics, comma-separated (default: the ten)."),
) -> None:
    """Run the three jobs (run, score your videos, report beside the paper) on the offline demo slice."""
    started = time.perf_counter()
    steps = demo_steps(out, device, metrics)
    for i, (title, args) in enumerate(steps, 1):
        typer.secho(f"\n[{i}/{len(steps)}] {title}", fg=typer.colors.CYAN, bold=True)
        if args[0] == "score":
            typer.echo(f"(writing {out / MY_METHOD}/<case_id>.mp4: your method's videos — here, the reference clips)")
            write_my_method(out)
        code = _invoke(ctx.find_root().command, args)
        if code != 0:
            typer.secho(f"demo step {i} failed (exit code {code}); see the messages above", fg="red", err=True)
            raise typer.Exit(code)
    typer.echo("\n" + (out / "table1.md").read_text())
    _print_outputs(out, time.perf_counter() - started)


def _print_outputs(out: Path, wall_s: float) -> None:
    run, scores = out / "run", out / f"{MY_METHOD}_scores"
    typer.secho(f"demo finished in {wall_s:.0f} s. Outputs:", fg=typer.colors.GREEN, bold=True)
    typer.echo(
        f"  1. jtbench run:    {run / 'results.parquet'}, {run / 'report.md'}, {run / 'report' / 'index.html'}\n"
        f"  2. jtbench score:  {scores / 'results.parquet'}, {scores / 'summary.csv'}\n"
        f"  3. jtbench report: {out / 'table1.md'}, {out / 'table1.tex'}"
    )
    typer.secho(
        "Every number above comes from tiny random backbones on drawn stand-in media: it shows the pipeline "
        "works and says nothing about any method.",
        fg=typer.colors.YELLOW,
    )
    typer.echo(
        "Next, for real use (needs the network once):\n"
        "  jtbench weights download                                     # every metric's checkpoint, SHA-256 locked\n"
        "  jtbench data prepare --out data/ --download ~/dl             # or --source NAME=PATH for local copies\n"
        "  jtbench score my_videos/ --data data/ --out scores/          # <case_id>.mp4 or <case_id>/<seed>.mp4\n"
        "  jtbench report scores/ --reference paper-zeroscope --format latex"
    )
