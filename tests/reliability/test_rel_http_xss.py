"""Markup in agent outputs and error messages shows as text on the dashboard's run page
in a real headless Chromium, and never runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from rel_http_server import XSS_ERROR, XSS_NOTE, fast_graph, thread_server

from chromium_support import ARGS, CHROMIUM, NEEDS_CHROMIUM

pytestmark = NEEDS_CHROMIUM


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AGENTOS_FSYNC", "0")
    with thread_server(tmp_path / "data") as base:
        for name, agent in [("xss-note", "hostile_note"), ("xss-fail", "hostile_fail")]:
            graph = fast_graph(name, f"rel_http_server:{agent}")
            assert httpx.post(f"{base}/graphs", json=graph).status_code == 200
        yield base


def start(base: str, graph: str) -> str:
    res = httpx.post(f"{base}/runs", json={"graph": graph})
    assert res.status_code == 200, res.text
    return str(res.json()["run_id"])


def test_hostile_outputs_and_errors_show_as_text(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    note_run, fail_run = start(server, "xss-note"), start(server, "xss-fail")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            for run_id, text, status in [
                (note_run, XSS_NOTE, "succeeded"),
                (fail_run, XSS_ERROR, "failed"),
            ]:
                for _ in range(2):  # and again after a reload
                    page.goto(f"{server}/dashboard/runs/{run_id}")
                    expect(page.locator("#event-count")).to_contain_text("ended", timeout=30_000)
                    expect(page.locator("#totals")).to_have_attribute("data-status", status)
                    expect(page.locator("#events")).to_contain_text(text)
                    if status == "failed":
                        expect(page.locator("#panel .error").first).to_contain_text(text)
                    assert page.locator("#panel img, #events img, #panel script").count() == 0
                    assert page.evaluate("[window.__xss2, window.__xss3]") == [None, None]
            page.goto(f"{server}/dashboard")
            assert page.evaluate("[window.__xss2, window.__xss3]") == [None, None]
            assert errors == []
        finally:
            browser.close()
