"""The runs list kept live by GET /runs/stream in headless Chromium: a new run shows
up, and a row on the page changes status in place, without polling the list."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, Request, expect
from test_dashboard_browser import serving

from agentos.actors import NodeContext
from chromium_support import NEEDS_CHROMIUM

pytestmark = NEEDS_CHROMIUM

M = "test_dashboard_runs_live"
GATED = {"name": "gated", "nodes": [{"name": "only", "agent": f"{M}:gated"}]}


def gated(ctx: NodeContext) -> dict[str, Any]:
    """Run until the file $LIVE_GATE exists (at most 60 s)."""
    gate = Path(os.environ["LIVE_GATE"])
    deadline = time.monotonic() + 60
    while not gate.exists() and time.monotonic() < deadline and not ctx.cancelled:
        time.sleep(0.02)
    return {"opened": gate.exists()}


@pytest.fixture
def gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "gate"
    monkeypatch.setenv("LIVE_GATE", str(path))
    return path


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gate: Path) -> Iterator[str]:
    monkeypatch.setenv("AGENTOS_FSYNC", "0")
    monkeypatch.delenv("AGENTOS_API_TOKEN", raising=False)
    with serving(tmp_path / "data", allow_agents=[f"{M}:*"]) as base:
        assert httpx.post(f"{base}/graphs", json=GATED).status_code == 200
        yield base


def test_a_run_appears_and_changes_status_live(server: str, page: Page, gate: Path) -> None:
    pages: list[str] = []
    streams: list[str] = []

    def seen(request: Request) -> None:
        path = urlsplit(request.url).path
        if path == "/runs":
            pages.append(request.url)
        elif path == "/runs/stream":
            streams.append(request.url)

    page.on("request", seen)
    page.goto(f"{server}/dashboard")
    expect(page.locator("#runs-count")).to_have_text("0-0 of 0")
    page.wait_for_function("document.querySelector('#runs-count').textContent !== ''")
    assert len(streams) == 1
    run_id = httpx.post(f"{server}/runs", json={"graph": "gated"}).json()["run_id"]
    row = page.locator(f'#runs tbody tr[data-run="{run_id}"]')
    expect(row.locator(".badge")).to_have_text("running", timeout=10_000)
    expect(page.locator("#runs-count")).to_have_text("1-1 of 1")
    asked = len(pages)
    gate.touch()
    expect(row.locator(".badge")).to_have_text("succeeded", timeout=10_000)
    assert len(pages) == asked  # redrawn in place from the stream: the list was not asked
