"""`jtbench leaderboard`: groups, paper rows, per-table composites, Evaluated-by from validation only, browser."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from jtbench.cli.app import app
from jtbench.metrics.base import PAPER_COLUMNS
from jtbench.report.composites import add_composites
from jtbench.share.bundle import make_bundle
from jtbench.share.submission import read_info
from jtbench.share.validate import validate_bundle, validation_path

from .conftest import FAST_METRICS, results_copy, write_info


def _dit_with_profiles(df: pd.DataFrame) -> pd.DataFrame:
    """The dummy rows as if sampled on CogVideoX-2B, with a registered profile column and an unknown one."""
    df = df[df["method"] == "dummy"].copy()
    df["base_model"] = "cogvideox-2b"
    df["CLIP-T@DreamVideo"] = np.linspace(0.2, 0.3, len(df))
    df["Flicker@Elsewhere"] = np.linspace(0.9, 0.95, len(df))  # a profile this jtbench does not know
    return df


@pytest.fixture(scope="module")
def site(bundles, demo_run, tiny_hub, tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    folder = tmp_path_factory.mktemp("board")
    paths = {k: Path(shutil.copy(v, folder / v.name)) for k, v in bundles.items()}
    validate_bundle(paths["dummy"], sample=1, data=demo_run / "data", hub_factory=lambda kind: tiny_hub,
                    allow_tiny=True, metrics=FAST_METRICS)  # fmt: skip
    # a validation record that passed, but for other bytes: must not count
    fake = json.loads(validation_path(paths["dummy"]).read_text()) | {"bundle_sha256": "0" * 64}
    validation_path(paths["dummy-noise"]).write_text(json.dumps(fake))
    source = results_copy(demo_run, folder / "dit", _dit_with_profiles)
    paths["dit"] = make_bundle(source, read_info(write_info(folder, model_name="DiT dummy")), folder / "dit.zip",
                               allow_tiny=True).path  # fmt: skip
    args = ["leaderboard", *map(str, paths.values()), "--out", str(folder / "site")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return folder / "site", paths


def test_groups_paper_rows_and_composites_per_table(site):
    board = pd.read_csv(site[0] / "leaderboard.csv")
    assert list(board["group"].unique()) == ["UNet", "DiT"]
    unet = board[board["group"] == "UNet"]
    assert (unet["kind"] == "submission").sum() == 3 and (unet["kind"] == "paper").sum() == 6  # Table 1 + Table A3
    assert (board[board["group"] == "DiT"]["kind"] == "submission").sum() == 1
    for _, rows in board.groupby("group"):
        again = add_composites(rows[list(PAPER_COLUMNS)].reset_index(drop=True))
        for column in ("ARS", "NAS", "AAS"):
            np.testing.assert_allclose(rows[column].to_numpy(), again[column].to_numpy(), rtol=1e-12)
    assert json.loads((site[0] / "leaderboard.json").read_text())[0]["Model"] == board["Model"].iloc[0]


def test_evaluated_by_comes_only_from_a_matching_validation(site):
    board = pd.read_csv(site[0] / "leaderboard.csv").set_index("bundle")
    assert board.loc["dummy.zip", "Evaluated by"].startswith("re-scored by jtbench (1 videos sampled, 4 of 10 metrics")
    assert bool(board.loc["dummy.zip", "rescored"]) is True
    assert board.loc["dummy-noise.zip", "Evaluated by"] == "jtbench tests (self-reported)"  # sha differs
    assert board.loc["dummy-static.zip", "Evaluated by"] == "jtbench tests (self-reported)"  # never validated


def test_profile_columns_get_their_own_tables(site):
    page = (site[0] / "index.html").read_text()
    board = pd.read_csv(site[0] / "leaderboard.csv")
    assert {"CLIP-T@DreamVideo", "Flicker@Elsewhere"} <= set(board.columns)
    assert 'data-table="profile-dreamvideo"' in page and 'data-table="profile-Elsewhere"' in page
    assert "Per-category breakdown (UNet)" in page and 'data-table="per-category-UNet"' in page
    assert "<script>" in page and "<script src" not in page and "<link" not in page  # opens from disk, no CDN


@pytest.mark.browser
def test_site_in_chromium_sorts_on_click_and_shows_the_csv_values(site, chromium_browser):
    folder = site[0]
    board = pd.read_csv(folder / "leaderboard.csv")
    page = chromium_browser.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((folder / "index.html").as_uri())
    table = page.locator('table[data-table="main-UNet"]')
    headers = table.locator("thead th").all_inner_texts()
    column = headers.index("AAS↑")
    table.locator("thead th").nth(column).click()
    cells = table.locator("tbody tr").evaluate_all(
        f"rows => rows.map(r => [r.cells[0].innerText, parseFloat(r.cells[{column}].dataset.value)])"
    )
    values = [v for _, v in cells]
    assert values == sorted(values, reverse=True)  # descending after one click
    table.locator("thead th").nth(column).click()
    script = f"rows => rows.map(r => parseFloat(r.cells[{column}].dataset.value))"
    again = table.locator("tbody tr").evaluate_all(script)
    assert again == sorted(values)
    unet = board[board["group"] == "UNet"].set_index("Model")
    shown = table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => [r.cells[0].querySelector('a') ? r.cells[0].querySelector('a').innerText"
        " : r.cells[0].childNodes[0].textContent.trim(), Array.from(r.cells).map(c => c.innerText.trim())])"
    )
    for model, texts in shown:
        row = unet.loc[model]
        for name in ("ARS", "NAS", "AAS", *PAPER_COLUMNS):
            index = next(i for i, h in enumerate(headers) if h.rstrip("↑↓") == name)
            assert texts[index] == f"{row[name]:.2f}", (model, name)
    assert errors == []
    page.close()
