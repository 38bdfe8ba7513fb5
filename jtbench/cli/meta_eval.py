"""`jtbench meta-eval [RATINGS] RESULTS… --out DIR [--perturb]`: how well each metric agrees with people.

RATINGS is SPEC §7's ratings.parquet, a VBench human_anno JSON or a FastChat battles file; RESULTS are
results.parquet files or run / score folders. With ``--perturb`` RATINGS may be left out: perturbed
copies of the results' videos are scored through the normal scorer (``jtbench score --index``) and
reported as synthetic judgments. Exit codes: 0 written; 1 written, but some perturbed inputs could not
be scored; 2 nothing written (bad input, named).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import typer

from jtbench.cli.score import Backbones, parse_metric_names
from jtbench.errors import InputError, JtbenchError


def _is_results(path: Path) -> bool:
    if path.is_dir():
        return (path / "results.parquet").is_file()
    if path.suffix.lower() != ".parquet" or not path.is_file():
        return False
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except Exception:  # noqa: BLE001 - an unreadable file is reported by the reader that owns it
        return False
    return "video_sha256" in names and "rater_id" not in names


def _digest(path: Path) -> str:
    from jtbench.io.digest import file_sha256

    return file_sha256(path / "results.parquet" if path.is_dir() else path)


@dataclass(frozen=True)
class Request:
    """The command's options, as given."""

    inputs: list[Path]
    out: Path
    resamples: int
    seed: int
    allow_mixed: bool
    perturb: bool
    perturbations: list[str] | None
    manifest: Path | None
    metrics: list[str] | None
    methods: list[str] | None
    backbones: str
    data: Path | None
    device: str
    offline: bool


def meta_eval(
    inputs: list[Path] = typer.Argument(..., help="[RATINGS] RESULTS…: ratings file, then results tables or folders."),
    out: Path = typer.Option(..., "--out", help="Output folder: meta_eval.parquet/.md/.tex, meta_eval/index.html."),
    resamples: int = typer.Option(1000, "--resamples", min=10, help="Bootstrap resamples and permutations."),
    seed: int = typer.Option(0, "--seed", help="Seed of the resampling (and of the perturbations)."),
    allow_mixed: bool = typer.Option(
        False, "--allow-mixed", help="Accept results of mixed backbones / metric versions."
    ),
    perturb: bool = typer.Option(
        False, "--perturb", help="Add synthetic judgments from perturbed copies of the videos."
    ),
    perturbations: list[str] = typer.Option([], "--perturbations", help="Perturbation ids (default: all in the YAML)."),
    manifest: Path = typer.Option(
        None, "--perturbations-file", help="A perturbations.yaml (default: the shipped one)."
    ),
    metrics: list[str] = typer.Option([], "--metrics", help="--perturb: metrics to score (default: the ten)."),
    methods: list[str] = typer.Option([], "--methods", help="--perturb: only these methods' videos (a,b)."),
    backbones: Backbones = typer.Option(Backbones.paper, "--backbones", help="--perturb: paper or tiny backbones."),
    data: Path = typer.Option(None, "--data", help="--perturb: prepared data (default: RESULTS/data when present)."),
    device: str = typer.Option("cpu", "--device", help="--perturb: cpu, cuda, …"),
    offline: bool = typer.Option(False, "--offline", help="--perturb: never touch the network."),
) -> None:
    """Metric/human agreement with confidence intervals (SPEC §7), and --perturb synthetic judgments."""
    request = Request(
        inputs=list(inputs), out=out, resamples=resamples, seed=seed, allow_mixed=allow_mixed, perturb=perturb,
        perturbations=parse_metric_names(perturbations), manifest=manifest, metrics=parse_metric_names(metrics),
        methods=parse_metric_names(methods), backbones=backbones.value, data=data, device=device, offline=offline,
    )  # fmt: skip
    try:
        code = _run(request)
    except JtbenchError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    raise typer.Exit(code)


def _run(req: Request) -> int:
    from jtbench.io.tables import read_results
    from jtbench.metaeval.evaluate import MetaEval, empty_result, meta_evaluate
    from jtbench.metaeval.join import combine_results
    from jtbench.metaeval.ratings import read_ratings
    from jtbench.metaeval.report import write_meta_eval
    from jtbench.provenance import git_commit, utc_now

    inputs, perturb, methods = req.inputs, req.perturb, req.methods
    ratings_path = None if _is_results(inputs[0]) else inputs[0]
    result_paths = inputs[1:] if ratings_path is not None else inputs
    if not result_paths:
        raise InputError("no results given", fix="pass RATINGS then one or more results.parquet files or run folders")
    if ratings_path is None and not perturb:
        raise InputError(
            f"{inputs[0]} is a results table, and no ratings were given",
            fix="pass the ratings file first, or --perturb for synthetic judgments only",
        )
    for path in result_paths:
        if not _is_results(path):
            raise InputError(
                "not a results table (needs video_sha256; ratings go first)",
                file=path,
                fix="pass results.parquet files or folders holding one",
            )
    tables = [read_results(p) for p in result_paths]
    results = combine_results(tables, allow_mixed=req.allow_mixed, names=[str(p) for p in result_paths])
    provenance = dict(
        command="jtbench meta-eval",
        created_at=utc_now(),
        git_commit=git_commit(),
        resamples=req.resamples,
        seed=req.seed,
        results={str(p): _digest(p) for p in result_paths},
        ratings={str(ratings_path): _digest(ratings_path)} if ratings_path else None,
    )
    if ratings_path is not None:
        result: MetaEval = meta_evaluate(read_ratings(ratings_path), results, resamples=req.resamples, seed=req.seed)
    else:
        result = empty_result()
    code = 0
    tiny = any("tiny" in str(b) for b in results["backbones"].dropna().unique()) or (
        perturb and req.backbones == "tiny"
    )
    if perturb:
        chosen = results if not methods else results[results["method"].isin(methods)]
        if chosen.empty:
            raise InputError(
                f"no results rows for --methods {methods}", fix=f"choose from {sorted(set(results['method']))}"
            )
        code = _perturb(req, result, chosen, result_paths, provenance)
    write_meta_eval(result, req.out, provenance=provenance, tiny=tiny)
    _summary(result, req.out, tiny)
    return code


def _perturb(req: Request, result, results, result_paths, provenance) -> int:
    from jtbench.benchmark import Benchmark
    from jtbench.cli.score import _score
    from jtbench.io.perturb import load_perturbations
    from jtbench.io.tables import metric_columns, read_results
    from jtbench.metaeval import perturb as synthetic
    from jtbench.metaeval.evaluate import add_synthetic

    known = load_perturbations(req.manifest)
    chosen = req.perturbations or list(known)
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise InputError(f"unknown perturbation(s) {unknown}", fix=f"choose from {', '.join(known)}")
    if len(result_paths) != 1:
        raise InputError("--perturb takes one results table (its videos are perturbed)", fix="pass one run folder")
    source = result_paths[0] if result_paths[0].is_dir() else result_paths[0].parent
    data = req.data if req.data is not None or not (source / "data").is_dir() else source / "data"
    folder = Path(req.out) / "perturb"
    selected = {k: known[k] for k in chosen}
    plan = synthetic.plan(results, source, folder, selected, Benchmark.load(data_root=data), seed=req.seed)
    index = synthetic.write_index(plan, folder)
    if results["case_id"].isna().any():
        typer.secho(
            f"perturb: {results['case_id'].isna().sum()} prompt-only row(s) left out (no case to swap)", err=True
        )
    typer.echo(f"perturb: {len(plan)} index rows ({(plan['perturbation'] != 'original').sum()} copies) → {index}")
    # the normal scorer, as `jtbench score --index`: one pass, resumable through results.parquet
    code = _score(None, index, folder, None, None, req.metrics, data, req.device, 16, "anchor", req.backbones,
                  req.offline, [], False)  # fmt: skip
    scored = read_results(folder)
    add_synthetic(result, synthetic.analyse(plan, scored, selected, metric_columns(scored)))
    provenance["perturb"] = dict(
        perturbations=chosen,
        backbones=req.backbones,
        index=str(index),
        plan_sha256=hashlib.sha256(plan.to_csv(index=False).encode()).hexdigest(),
        manifest=str(req.manifest) if req.manifest else "data_manifests/perturbations.yaml",
    )
    return 0 if code == 0 else 1


def _summary(result, out: Path, tiny: bool) -> None:
    for warning in result.warnings:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    typer.echo(
        f"meta-eval: {len(result.table)} statistics → {out / 'meta_eval.parquet'}, meta_eval.md, meta_eval.tex, "
        f"{out / 'meta_eval' / 'index.html'}"
    )
    if tiny:
        typer.secho(
            "NOTE: tiny random backbones — the pages show the pipeline, not the metrics.", fg="yellow", err=True
        )
