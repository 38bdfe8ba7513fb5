"""`jtbench list prompts|combinations|subjects|motions|metrics|profiles|methods`."""

from __future__ import annotations

from dataclasses import asdict

import typer

from jtbench.benchmark import Benchmark
from jtbench.cli.output import OutputFormat, emit

app = typer.Typer(help="List the benchmark's prompts, combinations, subjects, motions, metrics, profiles and methods.")

FormatOpt = typer.Option(OutputFormat.table, "--format", "-f", help="table, csv or json")
SubjectOpt = typer.Option(None, "--subject", help="Subject id or glob (repeatable).")
MotionOpt = typer.Option(None, "--motion", help="Motion id or glob (repeatable).")
SubjectCatOpt = typer.Option(None, "--subject-category", help="rigid, non_humanoid, humanoid")
MotionCatOpt = typer.Option(None, "--motion-category", help="rigid, non_human, human_no_props, human_props")
PairingOpt = typer.Option(None, "--pairing", help="e.g. humanoid/human_props")
BackgroundOpt = typer.Option(None, "--background", help="Background id or glob (repeatable).")


def _filters(subject, motion, subject_category, motion_category, pairing) -> dict:
    return dict(
        subject=subject or None,
        motion=motion or None,
        subject_category=subject_category or None,
        motion_category=motion_category or None,
        pairing=pairing or None,
    )


@app.command()
def prompts(
    subject: list[str] = SubjectOpt,
    motion: list[str] = MotionOpt,
    subject_category: list[str] = SubjectCatOpt,
    motion_category: list[str] = MotionCatOpt,
    pairing: list[str] = PairingOpt,
    background: list[str] = BackgroundOpt,
    fmt: OutputFormat = FormatOpt,
) -> None:
    """The 450 prompt cases (case_id is the key; prompts repeat across the 'walking' motions)."""
    bench = Benchmark.load()
    cases = bench.cases(
        backgrounds=background or None, **_filters(subject, motion, subject_category, motion_category, pairing)
    )
    emit([c.as_dict() for c in cases], fmt, title=f"{len(cases)} prompts")


@app.command()
def combinations(
    subject: list[str] = SubjectOpt,
    motion: list[str] = MotionOpt,
    subject_category: list[str] = SubjectCatOpt,
    motion_category: list[str] = MotionCatOpt,
    pairing: list[str] = PairingOpt,
    fmt: OutputFormat = FormatOpt,
) -> None:
    """The 90 subject × motion combinations allowed by the six pairing rules."""
    combos = Benchmark.load().combinations(**_filters(subject, motion, subject_category, motion_category, pairing))
    rows = [dict(combination=c.id, **asdict(c), pairing=c.pairing) for c in combos]
    emit(rows, fmt, title=f"{len(rows)} combinations")


@app.command()
def subjects(fmt: OutputFormat = FormatOpt) -> None:
    """The 15 subjects with category, phrase and source concept."""
    rows = [asdict(s) for s in Benchmark.load().manifest.subjects.values()]
    emit(rows, fmt, title="subjects")


@app.command()
def motions(fmt: OutputFormat = FormatOpt) -> None:
    """The 12 motions with category, phrase, source, stride and clips."""
    rows = [{**asdict(m), "clips": ",".join(m.clips)} for m in Benchmark.load().manifest.motions.values()]
    emit(rows, fmt, title="motions")


@app.command()
def metrics(fmt: OutputFormat = FormatOpt) -> None:
    """The registered metrics (the paper's ten and named variants)."""
    from jtbench.metrics.base import METRICS, PAPER_METRICS

    rows = []
    for name in METRICS.names():
        spec = METRICS.get(name).spec
        rows.append(
            dict(
                name=name,
                column=spec.column,
                paper=name in PAPER_METRICS,
                version=spec.version,
                higher_is_better=spec.higher_is_better,
                profile=spec.profile or "",
                backbones=",".join(spec.backbones),
                description=spec.description,
            )
        )
    emit(rows, fmt, title="metrics")


@app.command()
def profiles(fmt: OutputFormat = FormatOpt) -> None:
    """Paper profiles: other papers' metrics, computed as their scripts do (`jtbench score --profile NAME`)."""
    from jtbench.metrics.profiles import PROFILES

    rows = []
    for name in PROFILES.names():
        profile = PROFILES.get(name)
        rows.append(
            dict(name=name, columns=",".join(profile.columns), scale=profile.scale, source=profile.source)
        )
    emit(rows, fmt, title="profiles")


@app.command()
def methods(fmt: OutputFormat = FormatOpt) -> None:
    """The registered method adapters."""
    from jtbench.methods.base import METHODS

    rows = []
    for name in METHODS.names():
        try:
            cls = METHODS.get(name)
            doc = cls.description or (cls.__doc__ or "").strip().partition("\n")[0]  # third parties: docstring
        except ImportError as exc:  # an optional extra is missing: list it, say why
            doc = f"unavailable: {exc}"
        rows.append(dict(name=name, description=doc))
    emit(rows, fmt, title="methods")
