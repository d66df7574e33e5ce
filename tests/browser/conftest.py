"""The browser tests' page: a fresh headless Chromium per test, failing on page errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, sync_playwright

from chromium_support import ARGS, CHROMIUM


@pytest.fixture
def page() -> Iterator[Page]:
    """A page of a new browser; the test fails if the page raised a script error."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            pg = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            pg.on("pageerror", lambda exc: errors.append(str(exc)))
            yield pg
            assert errors == []
        finally:
            browser.close()
