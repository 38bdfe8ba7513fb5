"""`jtbench methods info`: trainable parameters on the real-size UNet built on the meta device."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner


def _counts(method: str, base: str) -> dict[str, int]:
    from jtbench.cli.app import app

    result = CliRunner().invoke(app, ["methods", "info", method, "--base", base, "--format", "json"])
    assert result.exit_code == 0, result.output
    return {row["part"]: row["parameters"] for row in json.loads(result.stdout)}


def test_motiondirector_matches_the_published_count():
    counts = _counts("motiondirector", "zeroscope")
    assert set(counts) == {"spatial", "temporal", "total"}
    assert round(counts["total"] / 1e6, 2) == 21.26  # CustomTTT supp. Table 1 lists MotionDirector at 21.26 M
    assert counts["total"] == counts["spatial"] + counts["temporal"]


def test_jointtuner_is_motiondirector_plus_one_gate_per_linear():
    from jtbench.methods.t2v.base_model import build_meta_unet
    from jtbench.methods.t2v.inject import SPATIAL_RULES, TEMPORAL_RULES, find_targets

    jt, md = _counts("jointtuner", "zeroscope"), _counts("motiondirector", "modelscope")
    targets = find_targets(build_meta_unet("zeroscope"), {**SPATIAL_RULES, **TEMPORAL_RULES})
    assert jt["gate"] == sum(t.linear.in_features for t in targets)
    assert (jt["spatial"], jt["temporal"]) == (md["spatial"], md["temporal"])
    assert jt["total"] == md["total"] + jt["gate"]
    assert _counts("jointtuner-no-lora-gating", "zeroscope")["total"] == md["total"]


def test_unknown_method_and_base_are_explained():
    from jtbench.cli.app import app
    from jtbench.errors import JtbenchError

    result = CliRunner().invoke(app, ["methods", "info", "jointuner"])
    assert isinstance(result.exception, JtbenchError) and "jointtuner" in str(result.exception)
    result = CliRunner().invoke(app, ["methods", "info", "jointtuner", "--base", "sd15"])
    assert isinstance(result.exception, JtbenchError) and "zeroscope" in str(result.exception)


@pytest.mark.parametrize("fmt", ["table", "csv"])
def test_other_formats(fmt):
    from jtbench.cli.app import app

    result = CliRunner().invoke(app, ["methods", "info", "motiondirector", "--format", fmt])
    assert result.exit_code == 0 and "21258240" in result.stdout
