"""The HTML report: a self-contained folder, checked structurally and in headless Chromium."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from jtbench.report import gather
from jtbench.report.build import ReportOptions
from jtbench.report.html import STYLE, video_grid, write_html_report

from .chromium import Page, chromium_binary


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def html_report(results_dir, tmp_path_factory) -> Path:
    options = ReportOptions(ci=True, ci_resamples=100, compare=("alpha", "gamma"), breakdowns=("pairing", "background"))
    out = tmp_path_factory.mktemp("html_report")
    return write_html_report(gather([results_dir], "paper-zeroscope"), out, options=options)


def test_html_folder_is_self_contained(html_report):
    page = (html_report / "index.html").read_text()
    parser = _Collector()
    parser.feed(page)
    refs = [a.get("src") or a.get("href") for t, a in parser.tags if t in ("img", "video", "link", "a")]
    local = [r for r in refs if r and not r.startswith(("data:", "#"))]
    assert local and all(not re.match(r"^[a-z]+://", r) for r in local), "no external URLs"
    missing = [r for r in local if not (html_report / r).is_file()]
    assert not missing, missing
    tables = [a.get("data-table") for t, a in parser.tags if t == "table" and a.get("data-table")]
    assert tables == ["main", "main-ci", "per-category", "paired"]
    grid_images = [a["src"] for t, a in parser.tags if t == "img" and a.get("src", "").startswith("media/")]
    assert len(grid_images) == 24 and len(set(grid_images)) == 24
    tabs = [a["id"] for t, a in parser.tags if t == "input" and a.get("type") == "radio"]
    assert tabs == ["tab-grass", "tab-snow"]
    for stem in ("radar", "bars-pairing", "bars-background"):
        assert (html_report / "assets" / "figures" / f"{stem}.png").stat().st_size > 1000
        assert "<svg" in (html_report / "assets" / "figures" / f"{stem}.svg").read_text()[:2000]


def test_grid_says_when_a_video_is_missing(tmp_path):
    from jtbench.io.tables import upsert_results

    from .conftest import synthetic_rows

    rows = synthetic_rows(tmp_path, with_videos=False)[:2]
    upsert_results(tmp_path / "results.parquet", rows)
    grid, rules, notes = video_grid(gather([tmp_path]).results, tmp_path / "html")
    assert grid.count("video not found") == 2 and notes == [
        "2 scored videos were not found on disk; their cells say so."
    ]
    assert "#tab-grass:checked ~ #panel-grass" in rules and "#tab-snow:checked ~ #panel-snow" in rules


@pytest.mark.browser
@pytest.mark.skipif(chromium_binary() is None, reason="chromium not installed (run `make browser`)")
def test_html_report_in_headless_chromium(html_report, results_dir, tmp_path):
    pytest.importorskip("websocket", reason="websocket-client (dev extra) drives Chromium's DevTools")
    with Page(tmp_path / "profile", width=1400, height=1200) as page:
        # the error capture itself works (a page that logs an error is caught)
        page.goto("data:text/html,<script>console.error('planted')</script>")
        assert any("planted" in e for e in page.errors)
        page.errors.clear()

        page.goto((html_report / "index.html").as_uri())
        main_rows = page.evaluate("document.querySelectorAll('table[data-table=main] tbody tr').length")
        assert main_rows == 6
        first = page.evaluate("document.querySelector('table[data-table=main] tbody tr').innerText")
        assert first.startswith("MotionDirector (paper)") and "70.73" in first
        bold = page.evaluate("Array.from(document.querySelectorAll('table[data-table=main] b')).length")
        assert bold >= 13  # one best per column at least
        assert page.evaluate("document.querySelectorAll('table.grid img').length") == 24

        def panel_ready(bg: str) -> bool:
            # previews load lazily: bring the panel into view first
            page.evaluate(f"document.getElementById('panel-{bg}').scrollIntoView()")
            return page.evaluate(
                f"getComputedStyle(document.getElementById('panel-{bg}')).display === 'block' && "
                f"Array.from(document.querySelectorAll('#panel-{bg} img'))"
                ".every(i => i.complete && i.naturalWidth > 0)"
            )

        def wait(predicate, timeout=30.0) -> bool:
            import time

            deadline = time.monotonic() + timeout
            while not predicate():
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.2)
            return True

        assert wait(lambda: panel_ready("grass")), "grass tab not shown or its previews did not load"
        assert page.evaluate("getComputedStyle(document.getElementById('panel-snow')).display") == "none"
        page.evaluate("document.querySelector('label[for=tab-snow]').click()")
        assert wait(lambda: panel_ready("snow")), "snow tab did not open or its previews did not load"
        assert page.evaluate("Array.from(document.querySelectorAll('figure img')).every(i => i.naturalWidth > 0)")
        shot = page.screenshot(tmp_path / "report.png")
        assert shot.stat().st_size > 10_000
        assert page.errors == []

        # MP4 previews (h264) play in the same browser
        grid, rules, _ = video_grid(gather([results_dir]).results, tmp_path / "mp4", fmt="mp4")
        (tmp_path / "mp4" / "index.html").write_text(
            f"<!DOCTYPE html><html><head><style>{STYLE}{rules}</style></head><body>{grid}</body></html>"
        )
        page.goto((tmp_path / "mp4" / "index.html").as_uri())
        assert page.evaluate("document.querySelectorAll('video').length") == 24
        ready = "Array.from(document.querySelectorAll('#panel-grass video')).every(v => v.readyState >= 2 && !v.error)"
        assert wait(lambda: page.evaluate(ready)), "mp4 previews did not decode"
        assert page.errors == []
