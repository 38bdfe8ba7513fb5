"""Playwright on Debian's Chromium (``executable_path``): the browser tests' one way to start a browser."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

ARGS = ("--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required")


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def launch_chromium() -> Iterator:
    """A headless Chromium browser; the caller opens contexts/pages on it."""
    path = chromium_path()
    if path is None:
        pytest.skip("no chromium on PATH (make test installs Debian's chromium package)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is in the dev extra (make test installs it)"
    )
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=list(ARGS))
        try:
            yield browser
        finally:
            browser.close()
