"""`jtbench meta-eval [RATINGS] RESULTS… --out DIR [--perturb]`: how well each metric agrees with people.

RATINGS is SPEC §7's ratings.parquet, a VBench human_anno JSON or a FastChat battles file; RESULTS are
results.parquet files or run / score folders. With ``--perturb`` RATINGS may be left out: perturbed
copies of the results' videos are scored through the normal scorer (``jtbench score --index``) and
reported as synthetic judgments. Exit codes: 0 written; 1 written, but some perturbed inputs could not
be scored; 2 nothing written (bad input, named).
"""

from __future__ import annotations

import hashlib
import json
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
    try:
        code = _run(
            inputs,
            out,
            resamples,
            seed,
            allow_mixed,
            perturb,
            perturbations,
            manifest,
            metrics,
            backbones.value,
            data,
            device,
            offline,
            parse_metric_names(methods),
        )
    except JtbenchError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    raise typer.Exit(code)


def _run(
    inputs,
    out,
    resamples,
    seed,
    allow_mixed,
    perturb,
    perturbations,
    manifest,
    metrics,
    backbones,
    data,
    device,
    offline,
    methods=None,
) -> int:
    from jtbench.io.tables import read_results
    from jtbench.metaeval.evaluate import MetaEval, empty_result, meta_evaluate
    from jtbench.metaeval.join import combine_results
    from jtbench.metaeval.ratings import read_ratings
    from jtbench.metaeval.report import write_meta_eval
    from jtbench.provenance import git_commit, utc_now

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
    results = combine_results(tables, allow_mixed=allow_mixed, names=[str(p) for p in result_paths])
    provenance = dict(
        command="jtbench meta-eval",
        created_at=utc_now(),
        git_commit=git_commit(),
        resamples=resamples,
        seed=seed,
        results={str(p): _digest(p) for p in result_paths},
        ratings={str(ratings_path): _digest(ratings_path)} if ratings_path else None,
    )
    if ratings_path is not None:
        result: MetaEval = meta_evaluate(read_ratings(ratings_path), results, resamples=resamples, seed=seed)
    else:
        result = empty_result()
    code = 0
    tiny = any("tiny" in str(b) for b in results["backbones"].dropna().unique()) or (perturb and backbones == "tiny")
    if perturb:
        chosen = results if not methods else results[results["method"].isin(methods)]
        if chosen.empty:
            raise InputError(
                f"no results rows for --methods {methods}", fix=f"choose from {sorted(set(results['method']))}"
            )
        code = _perturb(
            result,
            chosen,
            result_paths,
            out,
            perturbations,
            manifest,
            metrics,
            backbones,
            data,
            device,
            offline,
            seed,
            provenance,
        )
    write_meta_eval(result, out, provenance=provenance, tiny=tiny)
    _summary(result, out, tiny)
    return code


def _perturb(
    result, results, result_paths, out, ids, manifest, metrics, backbones, data, device, offline, seed, provenance
) -> int:
    from jtbench.benchmark import Benchmark
    from jtbench.cli.score import _score
    from jtbench.io.perturb import load_perturbations
    from jtbench.io.tables import metric_columns, read_results
    from jtbench.metaeval import perturb as synthetic
    from jtbench.metaeval.evaluate import add_synthetic

    known = load_perturbations(manifest)
    chosen = parse_metric_names(ids) or list(known)
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise InputError(f"unknown perturbation(s) {unknown}", fix=f"choose from {', '.join(known)}")
    if len(result_paths) != 1:
        raise InputError(
            "--perturb takes one results table (its videos are perturbed)", fix="pass one run or score folder"
        )
    source = result_paths[0] if result_paths[0].is_dir() else result_paths[0].parent
    if data is None and (source / "data").is_dir():
        data = source / "data"
    folder = Path(out) / "perturb"
    plan = synthetic.plan(
        results, source, folder, {k: known[k] for k in chosen}, Benchmark.load(data_root=data), seed=seed
    )
    index = synthetic.write_index(plan, folder)
    typer.echo(
        f"perturb: {len(plan)} index rows ({(plan['perturbation'] != 'original').sum()} perturbed or control) → {index}"
    )
    code = _score(
        None,
        index,
        folder,
        None,
        None,
        parse_metric_names(metrics),
        data,
        device,
        16,
        "anchor",
        backbones,
        offline,
        [],
        False,
    )
    scored = read_results(folder)
    stats = synthetic.analyse(plan, scored, {k: known[k] for k in chosen}, metric_columns(scored))
    add_synthetic(result, stats)
    provenance["perturb"] = dict(
        perturbations=chosen,
        backbones=backbones,
        index=str(index),
        plan_sha256=hashlib.sha256(plan.to_csv(index=False).encode()).hexdigest(),
        manifest=json.dumps(manifest and str(manifest)),
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
