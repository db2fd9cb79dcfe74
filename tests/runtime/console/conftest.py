"""Fixtures for the console: Debian's Chromium driven by Playwright (never a downloaded
browser), and a folder for screenshots (test-artifacts/, git-ignored)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .helpers import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")
def chromium():
    """Playwright driving Debian's Chromium. Skips where there is none (a developer's
    machine without `.ci/setup`); in CI a missing browser is a failure. Module-scoped:
    Playwright's sync API runs an event loop in this thread while it lives, which would
    break later tests that call asyncio.run()."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/setup installs Debian's chromium")
        pytest.skip(f"no {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
