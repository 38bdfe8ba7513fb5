"""`jtbench run --profile NAME`: the profile's metrics join the run's, parsed as `score --profile` parses them."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from jtbench.cli.app import app
from jtbench.cli.run import RunOptions, build_request
from jtbench.metrics.base import PAPER_METRICS
from jtbench.metrics.profiles import get_profile


def _options(tmp_path: Path, **changes) -> RunOptions:
    fields = dict(
        methods=["dummy"], base="zeroscope", out=tmp_path / "run", data=None, demo=True, backbones="tiny",
        device="cpu", precision="fp32", score_precision="anchor", offline=True, combinations=[], subject=[],
        motion=[], subject_category=[], motion_category=[], backgrounds=[], seeds="0", limit=1, metrics=[],
        report=["md"], overrides=[],
    )  # fmt: skip
    return RunOptions(**(fields | changes))


def test_profile_metrics_follow_the_ten(tmp_path):
    request = build_request(_options(tmp_path, profiles=["dreamvideo"]), prepare=False)
    assert request.metrics == (*PAPER_METRICS, *get_profile("dreamvideo").metrics)
    assert build_request(_options(tmp_path), prepare=False).metrics == ()  # the ten, as before
    chosen = build_request(_options(tmp_path, metrics=["CLIP-T"], profiles=["dreamvideo"]), prepare=False)
    assert chosen.metrics == ("CLIP-T", *get_profile("dreamvideo").metrics)


def test_unknown_profile_fails_before_anything_runs(tmp_path):
    args = ["run", "--methods", "dummy", "--demo", "--profile", "dreamvidoe", "--dry-run", "--out", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "dreamvideo" in result.output
