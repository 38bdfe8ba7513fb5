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

