"""`jtbench weights list|verify|download`: which model files are present, missing or corrupt.

The catalog is the set of :class:`~jtbench.weights.catalog.WeightSpec` that backbone modules
register on import, so the command first imports every backbone module (and every metric, which
imports the backbones it uses) — the list is then exactly what the code would load.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

import typer

from jtbench.cli.output import OutputFormat, emit
from jtbench.errors import JtbenchError
from jtbench.weights.catalog import WEIGHTS, WeightSpec
from jtbench.weights.resolve import WeightResolver

app = typer.Typer(help="List, verify and download the model weights the metrics need (offline-first).")

FormatOpt = typer.Option(OutputFormat.table, "--format", "-f", help="table, csv or json")
WeightsOpt = typer.Option([], "--weights", help="ID=PATH: use this file for weight ID (repeatable).")
IdsArg = typer.Argument(None, help="Weight ids (default: all).")


def load_catalog() -> tuple[list[WeightSpec], list[str]]:
    """Import every backbone and metric module so their WeightSpecs register; return specs and import problems."""
    import jtbench.models
    from jtbench.metrics.base import METRICS
    from jtbench.models.base import BACKBONES

    problems = []
    for info in pkgutil.iter_modules(jtbench.models.__path__, "jtbench.models."):
        try:
            importlib.import_module(info.name)
        except Exception as exc:  # one broken optional back-end must not hide the others
            problems.append(f"{info.name}: {type(exc).__name__}: {exc}")
    for name in METRICS.names():
        try:
            METRICS.get(name)
        except Exception as exc:
            problems.append(f"metric {name}: {type(exc).__name__}: {exc}")
    for name in BACKBONES.names():
        try:
            BACKBONES.get(name)
        except Exception as exc:
            problems.append(f"backbone {name}: {type(exc).__name__}: {exc}")
    return [WEIGHTS.get(n) for n in WEIGHTS.names()], problems


def _select(specs: list[WeightSpec], ids: list[str] | None) -> list[WeightSpec]:
    if not ids:
        return specs
    return [WEIGHTS.get(i) for i in ids]  # unknown ids raise with did-you-mean


def _source(spec: WeightSpec) -> str:
    if spec.urls:
        return spec.urls[0] + (f" ({spec.archive_member} inside)" if spec.archive_member else "")
    if spec.hf_repo:
        return f"hf:{spec.hf_repo}"
    if spec.torch_hub:
        return f"torch.hub:{spec.torch_hub}"
    return "by hand"


def describe(spec: WeightSpec, resolver: WeightResolver, *, check: bool) -> dict[str, Any]:
    """One catalog row; ``check`` hashes the found file (slow for multi-GB files)."""
    found = resolver.find(spec)
    if found is None:
        sha = "n/a"
    elif not check:
        sha = "not checked" if spec.sha256 else "unknown"
    else:
        verdict = resolver.verify(spec, found)
        sha = {True: "ok", False: "mismatch", None: "unknown"}[verdict]
    vbench = spec.vbench_path and "VBench cache: " + spec.vbench_path
    return {
        "id": spec.id,
        "used_by": ", ".join(spec.used_by),
        "status": "found" if found else "missing",
        "path": str(found) if found else "",
        "put_it_at": str(resolver.home(spec)) + (f" (or {vbench})" if vbench else ""),
        "sha256": sha,
        "checked_against": " + ".join(resolver.expected_digests(spec)) or "nothing known",
        "source": _source(spec),
        "licence": spec.licence,
    }


def _resolver(weights: list[str], offline: bool = True) -> WeightResolver:
    from jtbench.cli.score import parse_weight_overrides

    return WeightResolver(offline=offline, overrides=parse_weight_overrides(weights))


def _warn(problems: list[str]) -> None:
    for line in problems:
        typer.secho(f"warning: could not import {line}", fg=typer.colors.YELLOW, err=True)


@app.command("list")
def list_weights(ids: list[str] = IdsArg, weights: list[str] = WeightsOpt, fmt: OutputFormat = FormatOpt) -> None:
    """Every weight file: where it was found (or 'missing'), where it must go, licence. No hashing."""
    specs, problems = load_catalog()
    _warn(problems)
    resolver = _resolver(weights)
    rows = [describe(s, resolver, check=False) for s in _select(specs, ids)]
    emit(rows, fmt, title=f"{len(rows)} weight files")


@app.command()
def verify(ids: list[str] = IdsArg, weights: list[str] = WeightsOpt, fmt: OutputFormat = FormatOpt) -> None:
    """Hash every found file against the catalog; exit 1 when any is missing or mismatched."""
    specs, problems = load_catalog()
    _warn(problems)
    resolver = _resolver(weights)
    rows = [describe(s, resolver, check=True) for s in _select(specs, ids)]
    emit(rows, fmt, title="weights verified")
    bad = [r for r in rows if r["status"] == "missing" or r["sha256"] == "mismatch"]
    for row in bad:
        what = "missing" if row["status"] == "missing" else f"checksum mismatch at {row['path']}"
        typer.secho(
            f"{row['id']}: {what} — fix: get {row['source']} and put it at {row['put_it_at']}",
            fg=typer.colors.RED,
            err=True,
        )
    if bad:
        raise typer.Exit(1)


def download_one(spec: WeightSpec, resolver: WeightResolver) -> Path:
    """Fetch one missing weight into jtbench's cache (direct URL or Hugging Face repo)."""
    from jtbench.errors import WeightsError

    if spec.urls:
        return resolver.download(spec)
    if spec.hf_repo:
        from huggingface_hub import snapshot_download

        from jtbench.weights.lock import weight_digest

        target = resolver.home(spec) if spec.is_dir else resolver.home(spec).parent
        snapshot_download(spec.hf_repo, local_dir=target, allow_patterns=None if spec.is_dir else [spec.filename])
        resolver.lock.record(spec.id, weight_digest(resolver.home(spec)), f"hf:{spec.hf_repo}")
        return resolver.home(spec)
    raise WeightsError(
        f"{spec.id} has no download address ({_source(spec)})",
        file=resolver.home(spec),
        fix=f"get {spec.torch_hub or spec.filename} by hand and put it at {resolver.home(spec)}",
    )


@app.command()
def download(
    ids: list[str] = IdsArg,
    weights: list[str] = WeightsOpt,
    offline: bool = typer.Option(False, "--offline", help="Refuse (and say where to put files by hand)."),
) -> None:
    """Download missing weights into $JTBENCH_CACHE/weights/<id>/ (never with --offline).

    Each first download's SHA-256 is recorded in $JTBENCH_CACHE/weights/weights.lock.json; later
    downloads, `jtbench weights verify` and every load are checked against it (and against the
    published SHA-256 where there is one).
    """
    specs, problems = load_catalog()
    _warn(problems)
    resolver = _resolver(weights, offline=offline)
    missing = [s for s in _select(specs, ids) if resolver.find(s) is None]
    if not missing:
        typer.echo("all selected weights are present")
        return
    if offline:
        typer.secho("offline: no download attempted. Put these files by hand:", fg=typer.colors.RED, err=True)
        for spec in missing:
            typer.secho(f"  {spec.id}: {_source(spec)} → {resolver.home(spec)}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    failed = 0
    for spec in missing:
        try:
            path = download_one(spec, resolver)
            typer.echo(f"{spec.id}: {path}")
        except (JtbenchError, OSError, ImportError) as exc:
            failed += 1
            typer.secho(f"{spec.id}: {exc}", fg=typer.colors.RED, err=True)
        except Exception as exc:  # huggingface_hub raises its own error family
            failed += 1
            typer.secho(f"{spec.id}: {type(exc).__name__}: {exc}", fg=typer.colors.RED, err=True)
    if failed:
        raise typer.Exit(1)
