"""The runs list in headless Chromium: filters, search, server-side pages, live refresh
of the visible page only; the start form built from the graph's declared inputs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Page, Request, expect
from test_dashboard_browser import serving

from agentos.actors import NodeContext
from chromium_support import NEEDS_CHROMIUM

pytestmark = NEEDS_CHROMIUM

M = "test_dashboard_runs_list"
ONE = {"name": "one", "nodes": [{"name": "only", "agent": f"{M}:done"}]}
BAD = {"name": "bad", "nodes": [{"name": "only", "agent": f"{M}:fails"}]}
DECLARED = {
    "name": "declared",
    "inputs": {"topic": "cats", "count": 3, "deep": False, "tags": ["a"]},
    "nodes": [{"name": "only", "agent": f"{M}:done"}],
}


def done(ctx: NodeContext) -> dict[str, Any]:
    return {"inputs": ctx.inputs}


def fails(ctx: NodeContext) -> dict[str, Any]:
    raise RuntimeError("no")


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AGENTOS_FSYNC", "0")
    monkeypatch.delenv("AGENTOS_API_TOKEN", raising=False)
    with serving(tmp_path / "data", allow_agents=[f"{M}:*"]) as base:
        for graph in (ONE, BAD, DECLARED):
            assert httpx.post(f"{base}/graphs", json=graph).status_code == 200
        yield base


def start(server: str, graph: str, **inputs: Any) -> str:
    res = httpx.post(f"{server}/runs", json={"graph": graph, "inputs": inputs})
    assert res.status_code == 200, res.text
    return str(res.json()["run_id"])


def ended(server: str, run_ids: list[str]) -> None:
    deadline = time.monotonic() + 30
    for run_id in run_ids:
        while httpx.get(f"{server}/runs/{run_id}").json()["status"] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, f"run {run_id} did not end"
            time.sleep(0.02)


def test_filter_search_and_page_through_runs(server: str, page: Page) -> None:
    ones = [start(server, "one", n=i) for i in range(26)]
    needle = start(server, "one", note="find-the-needle")
    bad = start(server, "bad")
    ended(server, [*ones, needle, bad])
    asked: list[str] = []

    def seen(request: Request) -> None:
        if urlsplit(request.url).path == "/runs" and request.method == "GET":
            asked.append(request.url)

    page.on("request", seen)
    page.goto(f"{server}/dashboard")
    rows = page.locator("#runs tbody tr")
    count = page.locator("#runs-count")
    expect(rows).to_have_count(25)
    expect(count).to_have_text("1-25 of 28")
    expect(rows.first).to_have_attribute("data-run", bad)  # newest first
    page.click("#runs-next")
    expect(count).to_have_text("26-28 of 28")
    expect(rows).to_have_count(3)
    expect(page.locator("#runs-next")).to_be_disabled()
    page.click("#runs-prev")
    expect(count).to_have_text("1-25 of 28")

    page.select_option("#runs-filter select[name=status]", "failed")
    expect(count).to_have_text("1-1 of 1")
    expect(rows.first).to_have_attribute("data-run", bad)
    page.select_option("#runs-filter select[name=status]", "")
    page.select_option("#runs-filter select[name=graph]", "one")
    expect(count).to_have_text("1-25 of 27")
    page.fill("#runs-filter input[name=q]", "the-NEEDLE")
    expect(count).to_have_text("1-1 of 1")
    expect(rows.first).to_have_attribute("data-run", needle)
    assert "q=the-NEEDLE" in page.url  # a reload keeps the filters

    page.fill("#runs-filter input[name=q]", "")
    expect(count).to_have_text("1-25 of 27")
    fresh = start(server, "one", n=99)  # the visible page refreshes on its own
    expect(rows.first).to_have_attribute("data-run", fresh, timeout=10_000)
    expect(count).to_have_text("1-25 of 28")
    assert asked, "the list refreshed"
    for url in asked:  # only ever a page, never the whole list
        assert parse_qs(urlsplit(url).query)["limit"] == ["25"], url


def test_the_start_form_asks_for_the_graphs_declared_inputs(server: str, page: Page) -> None:
    page.goto(f"{server}/dashboard")
    form = page.locator("#start-form")
    page.select_option("#start-form select[name=graph]", "declared")
    expect(form.locator("input[name=topic]")).to_have_value("cats")
    expect(form.locator("input[name=count]")).to_have_value("3")
    expect(form.locator("input[name=pr_number]")).to_have_count(0)
    form.locator("input[name=topic]").fill("dogs")
    form.locator("input[name=deep]").check()
    form.locator("input[name=tags]").fill('["x", "y"]')
    page.click("#start-run")
    link = page.locator("#start-result a")
    expect(link).to_have_count(1)
    run_id = link.inner_text()
    state = httpx.get(f"{server}/runs/{run_id}").json()
    assert state["inputs"] == {"topic": "dogs", "count": 3, "deep": True, "tags": ["x", "y"]}

    form.locator("input[name=tags]").fill("[not json")
    page.click("#start-run")
    expect(page.locator("#start-result")).to_have_text("input tags is not JSON")
    page.select_option("#start-form select[name=graph]", "one")
    expect(page.locator("#start-inputs")).to_have_text("no declared inputs")
