"""The dashboard's Approve / Reject buttons on a waiting node, in headless Chromium
against a real uvicorn server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from test_dashboard_browser import serving

from chromium_support import NEEDS_CHROMIUM

pytestmark = NEEDS_CHROMIUM

GRAPH = {"name": "approve", "nodes": [{"name": "approval", "wait": "approval"}]}


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AGENTOS_FSYNC", "0")
    monkeypatch.delenv("AGENTOS_API_TOKEN", raising=False)
    with serving(tmp_path / "data") as base:
        yield base


def waiting_run(server: str) -> str:
    assert httpx.post(f"{server}/graphs", json=GRAPH).status_code == 200
    run_id = str(httpx.post(f"{server}/runs", json={"graph": "approve"}).json()["run_id"])
    deadline = time.monotonic() + 20
    while httpx.get(f"{server}/runs/{run_id}").json()["status"] != "waiting":
        assert time.monotonic() < deadline, "the run never waited"
        time.sleep(0.02)
    return run_id


@pytest.mark.parametrize(("button", "status"), [("Approve", "succeeded"), ("Reject", "failed")])
def test_a_waiting_node_is_approved_or_rejected_with_a_click(
    server: str, page: Page, button: str, status: str
) -> None:
    run_id = waiting_run(server)
    page.goto(f"{server}/dashboard/runs/{run_id}")
    card = page.locator(".card[data-node=approval]")
    expect(card.locator(".wait")).to_contain_text("waits for signal approval")
    expect(page.locator("svg.graph .gnode.s-waiting")).to_have_count(1)
    card.get_by_role("button", name=button).click()
    expect(page.locator("#totals")).to_have_attribute("data-status", status, timeout=20_000)
    state = httpx.get(f"{server}/runs/{run_id}").json()
    assert state["status"] == status
    assert state["nodes"]["approval"]["status"] == status
    signal = state["nodes"]["approval"]["output"] or {}
    if status == "succeeded":
        assert signal == {"approved": True, "by": "dashboard"}
    else:
        assert state["nodes"]["approval"]["error"] == "rejected by dashboard"
