"""`jtbench run`: train every chosen method on every combination, sample, score, report.

Resumable at every stage: re-running the same command does only what is missing or
invalidated (a changed config gives new job keys). Exit codes: 0 everything done; 1 some jobs
failed (listed, with how to retry), the rest written; 2 nothing could start.
"""

from __future__ import annotations

import fnmatch
import os
import sys
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import typer

from jtbench.cli.score import PROFILE_OPTION, Backbones, Precision, selected_metrics
from jtbench.errors import InputError, JtbenchError

#: Environment variables forwarded to every worker (cache and weight locations).
FORWARDED_ENV = ("JTBENCH_", "VBENCH_", "HF_", "TORCH_HOME", "TRANSFORMERS_")


def _base_enum() -> type[Enum]:
    """``--base`` choices: every registry entry of :mod:`jtbench.methods.t2v.bases` (UNet and DiT)."""
    from jtbench.methods.t2v.bases import BASES

    return Enum("Base", {name: name for name in BASES.names()}, type=str)


Base = _base_enum()


class ExecutorName(str, Enum):
    local = "local"
    ray = "ray"


def _method_precision(precision: Precision | None, base: str) -> str:
    """``--precision``, else the base's recipe precision (CogVideoX-2B fp16, 5B bf16, the Wan port bf16), else fp16."""
    if precision is not None:
        return precision.value
    from jtbench.methods.t2v.bases import BASES

    return (BASES.get(base).precision if base in BASES else None) or "fp16"


def _csv(values: list[str] | str | None) -> list[str]:
    items = [values] if isinstance(values, str) else list(values or [])
    return [x.strip() for v in items for x in v.split(",") if x.strip()]


def run(
    methods: str = typer.Option(None, "--methods", help="Methods, comma-separated (see `jtbench list methods`)."),
    base: Base = typer.Option(Base("zeroscope"), "--base", help="Base text-to-video model (UNet or DiT)."),
    out: Path = typer.Option(None, "--out", help="Run folder (default runs/demo with --demo)."),
    data: Path = typer.Option(None, "--data", help="Prepared data root (made by `jtbench data prepare`)."),
    demo: bool = typer.Option(
        False, "--demo", help="Draw, prepare and use the offline demo slice (procedural stand-ins, not benchmark data)."
    ),
    executor: ExecutorName = typer.Option(ExecutorName.local, "--executor", help="local or ray."),
    address: str = typer.Option("auto", "--address", help="Ray cluster address: auto, local, or HOST:PORT."),
    backbones: Backbones = typer.Option(Backbones.paper, "--backbones", help="paper checkpoints or tiny test models."),
    device: str = typer.Option(None, "--device", help="cpu, cuda (default: cuda when available)."),
    precision: Precision = typer.Option(
        None, "--precision", help="Training/sampling precision of methods (default fp16; a DiT base: its recipe's)."
    ),
    score_precision: Precision = typer.Option(Precision.anchor, "--score-precision", help="Precision of metrics."),
    offline: bool = typer.Option(False, "--offline", help="Never touch the network (missing weights fail)."),
    combinations: list[str] = typer.Option([], "--combinations", help="subject__motion ids or globs, comma-separated."),
    subject: list[str] = typer.Option([], "--subject", help="Subject ids or globs."),
    motion: list[str] = typer.Option([], "--motion", help="Motion ids or globs."),
    subject_category: list[str] = typer.Option([], "--subject-category", help="rigid, non_humanoid, humanoid."),
    motion_category: list[str] = typer.Option([], "--motion-category", help="rigid, non_human, human_no_props, …"),
    backgrounds: list[str] = typer.Option([], "--backgrounds", help="Background ids (default: all five)."),
    seeds: str = typer.Option("0", "--seeds", help="Sampling seeds, comma-separated."),
    limit: int = typer.Option(None, "--limit", min=1, help="Only the first N selected combinations."),
    metrics: list[str] = typer.Option([], "--metrics", help="Metric names or columns (default: the ten)."),
    profile: list[str] = PROFILE_OPTION,
    max_memory: str = typer.Option(None, "--max-memory", help="Memory scoring may use, e.g. 8GB (default: all free)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan and its estimated GPU-hours, run nothing."),
    report: str = typer.Option("md,html", "--report", help="Report formats to write: md (report.md), html (report/)."),
    overrides: list[str] = typer.Option(
        [], "--set", help="KEY=VALUE hyperparameter override passed to every method (repeatable); gives new job keys."
    ),
) -> None:
    """Train, sample, score and report: writes DIR/results.parquet, DIR/report.md and DIR/report/."""
    opts = RunOptions(
        methods=_csv(methods), base=base.value, out=out, data=data, demo=demo, backbones=backbones.value,
        device=device, precision=_method_precision(precision, base.value), score_precision=score_precision.value,
        offline=offline,
        combinations=_csv(combinations), subject=_csv(subject), motion=_csv(motion),
        subject_category=_csv(subject_category), motion_category=_csv(motion_category),
        backgrounds=_csv(backgrounds), seeds=seeds, limit=limit, metrics=_csv(metrics), report=_csv(report),
        overrides=overrides, profiles=_csv(profile),
    )  # fmt: skip
    try:
        if max_memory:  # read by every scorer, in this process and in workers (JTBENCH_* is forwarded)
            from jtbench.metrics.memory import MAX_MEMORY_ENV, parse_memory

            parse_memory(max_memory)
            os.environ[MAX_MEMORY_ENV] = max_memory
        request = build_request(opts, prepare=not dry_run)
        code = _dry_run(request) if dry_run else _execute(request, executor.value, address)
    except JtbenchError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    raise typer.Exit(code)


@dataclass(frozen=True)
class RunOptions:
    """The command line, parsed but not yet checked against the benchmark."""

    methods: list[str]
    base: str
    out: Path | None
    data: Path | None
    demo: bool
    backbones: str
    device: str | None
    precision: str
    score_precision: str
    offline: bool
    combinations: list[str]
    subject: list[str]
    motion: list[str]
    subject_category: list[str]
    motion_category: list[str]
    backgrounds: list[str]
    seeds: str
    limit: int | None
    metrics: list[str]
    report: list[str]
    overrides: list[str]
    profiles: list[str] = field(default_factory=list)  # --profile: their metrics are scored after the ten


def build_request(opts: RunOptions, *, prepare: bool = True):
    """Check the options and turn them into a RunRequest (preparing the demo data when asked)."""
    from jtbench.benchmark import Benchmark
    from jtbench.execution.jobs import RunRequest
    from jtbench.execution.reporting import REPORT_WRITERS
    from jtbench.methods.base import METHODS, RunSettings

    if not opts.methods:
        raise InputError("no method chosen", fix="pass --methods, e.g. --methods dummy or --methods jointtuner")
    for name in opts.methods:
        METHODS.canonical(name)  # unknown names fail here, with did-you-mean
    for fmt in opts.report:
        if fmt not in REPORT_WRITERS:
            raise InputError(f"unknown report format {fmt!r}", fix=f"use {', '.join(REPORT_WRITERS)}")
    if opts.out is None and not opts.demo:
        raise InputError("no run folder given", fix="pass --out DIR")
    out = (opts.out or Path("runs/demo")).resolve()
    bench = Benchmark.load()
    data, combos, default_backgrounds = _slice(opts, bench, out, prepare)
    backgrounds = opts.backgrounds or default_backgrounds
    for bg in backgrounds:
        if bg not in bench.manifest.backgrounds:
            raise InputError(f"unknown background {bg!r}", fix=f"use one of {', '.join(bench.manifest.backgrounds)}")
    try:
        seeds = tuple(int(s) for s in _csv(opts.seeds))
    except ValueError as exc:
        raise InputError(f"--seeds expects integers, got {opts.seeds!r}", fix="e.g. --seeds 0,1,2") from exc
    settings = RunSettings(
        base_model=opts.base, backbones=opts.backbones, device=opts.device or _default_device(),
        precision=opts.precision, offline=opts.offline, overrides=parse_overrides(opts.overrides),
    )  # fmt: skip
    return RunRequest(
        methods=tuple(opts.methods), base_model=opts.base, out_dir=out, data_root=data.resolve(),
        combinations=tuple(combos), backgrounds=tuple(backgrounds), seeds=seeds or (0,), settings=settings,
        metrics=tuple(selected_metrics(opts.metrics, opts.profiles) or ()), score_precision=opts.score_precision,
        env={k: v for k, v in os.environ.items() if k.startswith(FORWARDED_ENV)}, report_formats=tuple(opts.report),
    )  # fmt: skip


def _slice(opts: RunOptions, bench, out: Path, prepare: bool) -> tuple[Path, list, list[str]]:
    """The data root, the selected combinations and the default backgrounds (demo or full benchmark)."""
    if opts.demo:
        from jtbench.benchmark.demo import demo_backgrounds, demo_combinations, prepare_demo

        data = out / "data"
        if prepare:
            typer.echo(f"preparing the demo slice → {data} (procedural stand-ins drawn by jtbench, not benchmark data)")
            prepare_demo(data)
        combos, backgrounds = demo_combinations(bench), demo_backgrounds()
    else:
        data = opts.data or Path(os.environ.get("JTBENCH_DATA", "data/prepared"))
        if not (data / "subjects").is_dir():
            raise InputError(
                "no prepared benchmark data here", file=data.resolve(),
                fix="run `jtbench data prepare --out DIR` and pass --data DIR (or --demo for the offline demo)",
            )  # fmt: skip
        combos, backgrounds = bench.combinations(), list(bench.manifest.backgrounds)
    allowed = {
        c.id
        for c in bench.combinations(
            subject=opts.subject or None,
            motion=opts.motion or None,
            subject_category=opts.subject_category or None,
            motion_category=opts.motion_category or None,
        )
    }
    wanted = opts.combinations
    combos = [c for c in combos if c.id in allowed and (not wanted or any(fnmatch.fnmatch(c.id, p) for p in wanted))]
    combos = combos[: opts.limit] if opts.limit is not None else combos
    if not combos:
        raise InputError("the filters select no combination", fix="see `jtbench list combinations`")
    return data, combos, backgrounds


def parse_overrides(pairs: list[str]) -> dict[str, object]:
    """``["lr=1e-4", "steps=500"]`` → ``{"lr": 1e-4, "steps": 500}`` (values read as YAML scalars)."""
    import yaml

    parsed: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set expects KEY=VALUE, got {pair!r}", fix="e.g. --set max_train_steps=500")
        parsed[key.strip()] = yaml.safe_load(value)
    return parsed


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


# -- --dry-run ------------------------------------------------------------------------------------
def _dry_run(request) -> int:
    from jtbench.cli.output import OutputFormat, emit
    from jtbench.execution.estimate import estimate, projection_basis, total_hours
    from jtbench.execution.jobs import STAGES, build_plan
    from jtbench.execution.runner import done_flags
    from jtbench.execution.store import ArtifactStore

    plan = build_plan(request)
    store = ArtifactStore(request.out_dir)
    flags = done_flags(plan, store)
    pending = [j for j, done in zip(plan.jobs, flags, strict=True) if not done and j.kind != "report"]
    rows = []
    order = {kind: i for i, kind in enumerate(STAGES)}
    for (kind, method), total in sorted(plan.counts().items(), key=lambda item: (order[item[0][0]], item[0][1])):
        if kind == "report":
            continue
        done = sum(1 for j, d in zip(plan.jobs, flags, strict=True) if d and j.kind == kind and j.method == method)
        rows.append({"stage": kind, "method": method, "jobs": total, "done": done, "to run": total - done})
    emit(rows, OutputFormat.table, title=f"plan for {request.out_dir}")
    typer.echo(
        f"{len(request.combinations)} combinations × {len(request.backgrounds)} backgrounds × "
        f"{len(request.seeds)} seeds = {len(request.combinations) * len(request.backgrounds) * len(request.seeds)} "
        f"videos per method, base model {request.base_model}"
    )
    est = estimate(pending, store, base=request.base_model)
    emit(
        [
            {
                "method": r.method, "stage": r.kind, "jobs": r.jobs,
                "s/job": "?" if r.seconds_each is None else f"{r.seconds_each:.1f}",
                "GPU-h": "?" if r.gpu_hours is None else f"{r.gpu_hours:.2f}", "figure": r.source,
            }
            for r in est
        ],
        OutputFormat.table,
        title="estimated GPU time of the work to run",
    )  # fmt: skip
    typer.echo(f"projection from: {projection_basis()}")
    unknown = [f"{r.method}/{r.kind}" for r in est if r.gpu_hours is None]
    typer.echo(
        f"estimated total: {total_hours(est):.1f} GPU-hours" + (f" + unknown ({', '.join(unknown)})" if unknown else "")
    )
    return 0


# -- the run -------------------------------------------------------------------------------------
def _make_executor(name: str, address: str):
    from jtbench.execution.executor import EXECUTORS

    cls = EXECUTORS.get(name)
    return cls(address) if name == "ray" else cls()


def _execute(request, executor_name: str, address: str) -> int:
    from jtbench.execution.jobs import build_plan
    from jtbench.execution.runner import run_plan
    from jtbench.execution.store import ArtifactStore, python_command
    from jtbench.metrics.scorer import resolve_metrics

    started = time.perf_counter()
    resolve_metrics(request.metrics or None)  # an unknown or unimportable metric stops the run before it starts
    plan = build_plan(request)
    store = ArtifactStore(request.out_dir)
    if request.settings.backbones == "tiny":
        typer.secho(
            "NOTE: --backbones tiny: metrics use random tiny models; the numbers exercise the pipeline and are NOT "
            "the paper's metrics.",
            fg=typer.colors.YELLOW, err=True,
        )  # fmt: skip
    with store.lock(python_command()), _make_executor(executor_name, address) as executor:
        outcome = run_plan(plan, executor, on_event=_printer())
    _print_outcome(request, outcome, time.perf_counter() - started)
    return 0 if outcome.ok else 1


def _printer():
    """Stage headers, every failure, and progress lines every tenth of a stage."""
    state = {"todo": 0, "finished": 0, "start": time.perf_counter()}

    def on_event(name: str, payload) -> None:
        if name == "stage":
            state.update(todo=payload["todo"], finished=0, start=time.perf_counter())
            if payload["todo"] or payload["done"]:
                typer.echo(f"{payload['kind']}: {payload['todo']} to run, {payload['done']} already done")
            return
        state["finished"] += 1
        if not payload.ok:
            what = "skipped" if payload.skipped else "FAILED"
            typer.secho(f"  {what} {payload.key}: {payload.error}", fg=typer.colors.RED, err=True)
        step = max(1, state["todo"] // 10)
        if state["todo"] > 1 and (state["finished"] % step == 0 or state["finished"] == state["todo"]):
            elapsed = time.perf_counter() - state["start"]
            typer.echo(f"  {payload.kind}: {state['finished']}/{state['todo']} finished ({elapsed:.0f} s)")

    return on_event


def _print_outcome(request, outcome, wall_s: float) -> None:
    from jtbench.cli.output import OutputFormat, emit
    from jtbench.execution.runner import failure_summary

    ran = ", ".join(f"{k} {v}" for k, v in outcome.ran().items()) or "nothing"
    done = ", ".join(f"{k} {v}" for k, v in outcome.already_done.items()) or "nothing"
    typer.echo(f"ran: {ran}; already done: {done}; wall time {wall_s:.1f} s")
    report = outcome.report
    if report:
        typer.echo(f"results: {report.get('results')} ({report.get('rows')} rows)")
        for label, key in (("report", "report_md"), ("html report", "report_html"), ("summary", "summary")):
            if report.get(key):
                typer.echo(f"{label}: {report[key]}")
        for warning in report.get("warnings", []):
            typer.secho(f"report warning: {warning}", fg=typer.colors.YELLOW, err=True)
    if request.settings.backbones == "tiny":
        typer.secho(
            "These numbers come from tiny random backbones: they test the pipeline, not the videos.",
            fg=typer.colors.YELLOW, err=True,
        )  # fmt: skip
    if outcome.failed:
        from rich.markup import escape

        rows = [{k: escape(v) for k, v in row.items()} for row in failure_summary(outcome)]
        typer.secho(f"{len(rows)} job(s) failed or were skipped:", fg=typer.colors.RED, err=True)
        emit(rows, OutputFormat.table)
        typer.secho(
            "to retry them: fix the cause and run the same command again — completed jobs are skipped, only the "
            f"failed ones run (errors are kept in {request.out_dir / '.jtbench' / 'failures'}):\n  "
            + " ".join(sys.argv),
            fg=typer.colors.RED, err=True,
        )  # fmt: skip
