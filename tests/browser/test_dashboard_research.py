"""examples/research-report.yaml in the dashboard: the map, the loop and the wait drawn,
Approve clicked in Chromium, the child run linked both ways."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from test_dashboard_browser import serving

from agentos.graphs import load_graph
from chromium_support import NEEDS_CHROMIUM

pytestmark = NEEDS_CHROMIUM
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AGENTOS_FSYNC", "0")
    monkeypatch.delenv("AGENTOS_API_TOKEN", raising=False)
    with serving(tmp_path / "data") as base:
        yield base


def status(server: str, run_id: str) -> str:
    return str(httpx.get(f"{server}/runs/{run_id}").json()["status"])


def test_approve_the_report_in_the_dashboard(server: str, page: Page) -> None:
    for name in ("notify-team", "research-report"):
        doc = load_graph(EXAMPLES / f"{name}.yaml").model_dump(mode="json")
        assert httpx.post(f"{server}/graphs", json=doc).status_code == 200
    res = httpx.post(f"{server}/runs", json={"graph": "research-report"})
    run_id = res.json()["run_id"]
    deadline = time.monotonic() + 30
    while status(server, run_id) != "waiting":
        assert time.monotonic() < deadline, "the run never waited for its approval"
        time.sleep(0.02)

    page.goto(f"{server}/dashboard/runs/{run_id}")
    graph = page.locator("svg.graph")
    expect(graph.locator(".ginst")).to_have_count(3)  # three aspects, three researchers
    expect(graph.locator(".gnode[data-node=writer] .gname")).to_have_text("writer #2")
    expect(graph.locator(".gnode[data-node=approval] .gstatus")).to_have_text("waits: approval")
    card = page.locator(".card[data-node=approval]")
    card.get_by_role("button", name="Approve").click()
    expect(page.locator("#totals")).to_have_attribute("data-status", "succeeded", timeout=20_000)

    state = httpx.get(f"{server}/runs/{run_id}").json()
    assert state["nodes"]["approval"]["output"]["approved"] is True
    child = state["nodes"]["notify"]["child_run"]
    link = page.locator(f"a[href='/dashboard/runs/{child}']").first
    expect(link).to_be_visible()
    link.click()
    expect(page).to_have_url(f"{server}/dashboard/runs/{child}")
    expect(page.locator(f"a[href='/dashboard/runs/{run_id}']").first).to_be_visible()
