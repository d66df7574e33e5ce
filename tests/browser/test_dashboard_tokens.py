"""A run's page in headless Chromium: the open node's panel shows a streamed model call's
answer as its `token` frames arrive, and its output in its place once the node ends."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from test_dashboard_browser import serving

from agentos.actors import NodeContext
from agentos.routing.streaming import FEED
from chromium_support import NEEDS_CHROMIUM

pytestmark = NEEDS_CHROMIUM

M = "test_dashboard_tokens"
GRAPH: dict[str, Any] = {
    "name": "streamed",
    "context_profiles": {"helper": {"budget": 2000, "sources": [{"kind": "inputs"}]}},
    "nodes": [
        {"name": "talk", "agent": f"{M}:talk", "context": "helper", "policy": {"stream": True}},
    ],
}
#: the agent calls its model once this is set, and ends once RELEASE is
GO = threading.Event()
RELEASE = threading.Event()


async def talk(ctx: NodeContext) -> dict[str, Any]:
    await asyncio.to_thread(GO.wait, 30)
    response = await ctx.complete(max_tokens=48)  # streamed: the node's policy says so
    await asyncio.to_thread(RELEASE.wait, 30)
    return {"answer": response.text}


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AGENTOS_FSYNC", "0")
    monkeypatch.delenv("AGENTOS_API_TOKEN", raising=False)
    GO.clear()
    RELEASE.clear()
    try:
        with serving(tmp_path / "data", allow_agents=[f"{M}:*"]) as base:
            yield base
    finally:
        GO.set()  # an agent still waiting ends
        RELEASE.set()


def bounded(check: Any, what: str) -> None:
    deadline = time.monotonic() + 20
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


def test_the_node_panel_shows_a_streamed_answer_as_it_arrives(server: str, page: Page) -> None:
    assert httpx.post(f"{server}/graphs", json=GRAPH).status_code == 200
    run_id = httpx.post(f"{server}/runs", json={"graph": "streamed"}).json()["run_id"]
    page.goto(f"{server}/dashboard/runs/{run_id}")
    bounded(lambda: FEED.listening(run_id), "the page to follow the run")
    node = page.locator("svg.graph .gnode[data-node=talk]")
    expect(node).to_have_class("gnode s-running")
    node.click()
    detail = page.locator("#node-detail")
    expect(detail.locator("h2 .badge")).to_have_text("running")
    expect(detail.locator(".live-tokens")).to_have_count(0)  # nothing streamed yet

    GO.set()
    live = detail.locator("[data-section=streaming] .live-tokens")
    expect(live).to_contain_text("sim:")  # the deltas, while the node still runs
    expect(detail.locator("h2 .badge")).to_have_text("running")
    expect(detail.locator("[data-section=output]")).to_have_text("Outputno output")
    events = httpx.get(f"{server}/runs/{run_id}/events").json()["events"]
    [called] = [e["data"] for e in events if e["type"] == "model_called"]
    answer = called["response"]["text"]
    expect(live).to_have_text(answer)  # every piece, in order
    assert not any(e["type"] == "node_succeeded" for e in events)

    RELEASE.set()
    expect(detail.locator("h2 .badge")).to_have_text("succeeded", timeout=20_000)
    expect(detail.locator("[data-section=output]")).to_contain_text(answer)
    expect(detail.locator("[data-section=streaming]")).to_have_count(0)
