"""A small pairwise study built once from the session's demo run (3 dummy methods × 2 cases)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jtbench.study.create import CreateOptions, create_study

DEMO_OPTIONS = CreateOptions(raters=4, per_item=2, gold_per_rater=1, repeats_per_rater=1, seed=0)


@pytest.fixture(scope="session")
def demo_study(demo_run, tmp_path_factory) -> Path:
    """Read-only: use ``study`` for a copy a test may rate into."""
    out = tmp_path_factory.mktemp("demo_study") / "study"
    create_study([demo_run], demo_run / "data", out, DEMO_OPTIONS, progress=False)
    return out


@pytest.fixture
def study(demo_study, tmp_path) -> Path:
    copy = tmp_path / "study"
    shutil.copytree(demo_study, copy)
    return copy


@pytest.fixture(scope="session")
def demo_secrets(demo_run) -> set[str]:
    """What must never be served: method names, case ids (the videos' folders), the videos' and photos'
    original paths (a bare ``0.mp4`` would match the end of a token name by chance, so never alone)."""
    from jtbench.io.tables import read_results

    results = read_results(demo_run)
    names = set(results["method"]) | set(results["case_id"]) | set(results["video_sha256"])
    for video in results["video"]:
        parts = Path(video).parts
        names |= {"/".join(parts[-2:]), "/".join(parts[-3:])}
    for photo in (demo_run / "data" / "subjects").glob("*/*.jpg"):
        names.add(f"{photo.parent.name}/{photo.name}")
    return names

