"""`jtbench list methods` and `jtbench methods info`: descriptions, trainable parameters on the meta-device UNet."""

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


def test_list_methods_describes_every_method_and_names_the_table3_row():
    import yaml

    from jtbench.cli.app import app
    from jtbench.methods.base import METHODS

    result = CliRunner().invoke(app, ["list", "methods", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row["description"] for row in json.loads(result.stdout)}
    assert set(rows) == set(METHODS.names())
    ours = [name for name in rows if METHODS.get(name).__module__.startswith(("jtbench.", "baselines."))]
    assert len(ours) >= 12 and all(rows[name] for name in ours), {name: rows[name] for name in ours}
    jointtuner = METHODS.get("jointtuner")
    variants = yaml.safe_load(jointtuner.config_path.read_text())["variants"]
    for name in METHODS.names():
        variant = getattr(METHODS.get(name), "fixed_variant", None)
        if variant is not None:
            assert repr(variants[variant]["paper_row"]) in rows[name]
