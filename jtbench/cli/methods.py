"""`jtbench methods info METHOD --base BASE`: trainable parameters per part (UNet or DiT bases).

The real-size base UNet is built on the meta device (diffusers' UNet3DConditionModel config for
ZeroScope/ModelScope, no weights, no memory), the method injects its trainable modules, and the
counts are reported per part (spatial, temporal, gate, adapter, embedding) and in total.
"""

from __future__ import annotations

import typer

from jtbench.cli.output import OutputFormat, emit

app = typer.Typer(help="Inspect the reference methods.", no_args_is_help=True)

PART_ORDER = ("spatial", "temporal", "gate", "adapter", "embedding")


def parameter_rows(method: str, base: str) -> list[dict[str, object]]:
    from jtbench.methods.base import get_method

    adapter = get_method(method)
    adapter.check_base(base)
    counts = adapter.trainable_parameter_counts(base)
    parts = sorted(counts, key=lambda p: (PART_ORDER.index(p) if p in PART_ORDER else len(PART_ORDER), p))
    rows: list[dict[str, object]] = [
        {"method": adapter.name, "base": base, "part": part, "parameters": counts[part],
         "millions": f"{counts[part] / 1e6:.2f}M"}
        for part in parts
    ]
    total = sum(counts.values())
    rows.append({"method": adapter.name, "base": base, "part": "total", "parameters": total,
                 "millions": f"{total / 1e6:.2f}M"})
    return rows


@app.command("info")
def info(
    method: str = typer.Argument(..., help="Method name (see `jtbench list methods`)."),
    base: str = typer.Option(
        "zeroscope", "--base", help="Base model: zeroscope, modelscope, cogvideox-2b, cogvideox-5b or wan2.1-1.3b."
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table, csv or json."),
) -> None:
    """Trainable parameter counts of METHOD on the real-size base UNet (built on the meta device)."""
    from jtbench.methods.t2v.bases import BASES

    label = BASES.get(base).label if base in BASES else None
    title = f"{method} on {base}: trainable parameters" + (f" ({label})" if label else "")
    emit(parameter_rows(method, base), fmt, title=title)
    if label and fmt == OutputFormat.table:
        typer.echo(f"note: {base} is a {label}")
