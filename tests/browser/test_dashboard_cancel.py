"""The dashboard's Cancel button, in headless Chromium against a real uvicorn server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from test_dashboard_browser import serving

from agentos.actors import NodeContext
from chromium_support import NEEDS_CHROMIUM

pytestmark = NEEDS_CHROMIUM

GRAPH = {"name": "hangs", "nodes": [{"name": "wait", "agent": "test_dashboard_cancel:hang"}]}


async def hang(ctx: NodeContext) -> dict[str, Any]:
    """An agent that waits 30 s (allowed over HTTP by the server below)."""
    await asyncio.sleep(30)
    return {}


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AGENTOS_FSYNC", "0")
    monkeypatch.delenv("AGENTOS_API_TOKEN", raising=False)
    with serving(tmp_path / "data", allow_agents=["test_dashboard_cancel:*"]) as base:
        yield base


def test_the_cancel_button_cancels_a_running_run(server: str, page: Page) -> None:
    assert httpx.post(f"{server}/graphs", json=GRAPH).status_code == 200
    run_id = httpx.post(f"{server}/runs", json={"graph": "hangs"}).json()["run_id"]
    deadline = time.monotonic() + 20
    while httpx.get(f"{server}/runs/{run_id}").json()["status"] != "running":
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.02)
    page.goto(f"{server}/dashboard/runs/{run_id}")
    page.click("#cancel")
    expect(page.locator("#cancel-result")).to_have_text("cancelled")
    expect(page.locator("#totals")).to_have_attribute("data-status", "cancelled")
    expect(page.locator("#events")).to_contain_text("run_cancelled")
    expect(page.locator("#cancel")).to_be_disabled()
    state = httpx.get(f"{server}/runs/{run_id}").json()
    assert state["status"] == "cancelled"
    assert state["nodes"]["wait"]["status"] == "cancelled"
    events = httpx.get(f"{server}/runs/{run_id}/events").json()["events"]
    assert events[-1]["data"] == {"reason": "cancelled from the dashboard"}
