"""Trainable parameters of each reference method on both base models (real-size UNet, meta device).

    .venv/bin/python benchmarks/method_params.py [--methods jointtuner,motiondirector] [--format table|csv|json]

Builds diffusers' UNet3DConditionModel with the ZeroScope/ModelScope config on the meta device
(no weights, no memory), injects each method's trainable modules and counts them per part —
the numbers `jtbench methods info METHOD --base BASE` prints, for every method at once.
Reference: CustomTTT's supplementary Table 1 lists MotionDirector with 21.26 M.
"""

from __future__ import annotations

import argparse

from jtbench.cli.methods import parameter_rows
from jtbench.cli.output import OutputFormat, emit
from jtbench.errors import JtbenchError

DEFAULT_METHODS = (
    "jointtuner", "jointtuner-no-lora-gating", "motiondirector", "dreamvideo", "customttt",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS))
    parser.add_argument("--bases", default="zeroscope,modelscope")
    parser.add_argument("--format", default="table", choices=[f.value for f in OutputFormat])
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    for method in args.methods.split(","):
        for base in args.bases.split(","):
            try:
                rows += [r for r in parameter_rows(method, base) if r["part"] == "total" or args.format != "table"]
            except (JtbenchError, ImportError, NotImplementedError) as exc:
                rows.append({"method": method, "base": base, "part": "total", "parameters": None,
                             "millions": f"not available: {exc}"})
    emit(rows, OutputFormat(args.format), title="Trainable parameters (real-size UNet on the meta device)")


if __name__ == "__main__":
    main()
