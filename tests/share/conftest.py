"""Bundles made from the session's demo run (tiny backbones, so the test-only allowance is passed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from jtbench.io.tables import read_results, write_atomic
from jtbench.paths import manifests_dir

#: The shipped example, made to fit the demo run (tiny 64 px clips of the demo slice).
INFO = yaml.safe_load((manifests_dir() / "submission_example.yaml").read_text()) | {
    "model_name": "Dummy", "team": "jtbench tests", "sampled_by": "jtbench tests", "evaluated_by": "jtbench tests",
    "resolution": "64x64", "slice": "demo",
}  # fmt: skip


#: Cheap columns to re-score in the mechanism tests (tiny RAFT, AMT and MUSIQ take minutes per video on
#: 2 loaded cores); test_validate.py's slow test re-scores all ten.
FAST_METRICS = ("CLIP-T", "CLIP-I", "Subj-Con", "Bkgd-Con")


def write_info(folder: Path, **changes) -> Path:
    info = {**INFO, **changes}
    for key in [k for k, v in changes.items() if v is None]:
        info.pop(key)
    path = folder / f"info-{abs(hash(tuple(sorted(map(str, info.items())))))}.yaml"
    path.write_text(yaml.safe_dump(info, sort_keys=False))
    return path


def results_copy(demo_run: Path, folder: Path, change=None) -> Path:
    """The demo run's results (optionally changed by ``change(df) -> df``) as a new results.parquet."""
    df = read_results(demo_run / "results.parquet")
    if change is not None:
        df = change(df)
    folder.mkdir(parents=True, exist_ok=True)
    return write_atomic(df, folder / "results.parquet")


@pytest.fixture(scope="session")
def bundles(demo_run, tmp_path_factory) -> dict[str, Path]:
    """One bundle per demo method: ``dummy`` carries its videos, the other two do not."""
    from jtbench.share.bundle import make_bundle
    from jtbench.share.submission import read_info

    folder = tmp_path_factory.mktemp("bundles")
    out = {}
    for method, name in (("dummy", "Dummy"), ("dummy-static", "Static"), ("dummy-noise", "Noise")):
        info = read_info(write_info(folder, model_name=name))
        out[method] = make_bundle(demo_run, info, folder / f"{method}.zip", method=method,
                                  videos=method == "dummy", allow_tiny=True).path  # fmt: skip
    return out
