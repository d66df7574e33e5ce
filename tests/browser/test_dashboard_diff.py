"""The diff page in headless Chromium: replay a run from its page, follow the replay's
link to the diff with its source, read which steps differ and where."""

from __future__ import annotations

import itertools
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

M = "test_dashboard_diff"
GRAPH = {
    "name": "counted",
    "nodes": [
        {"name": "first", "agent": f"{M}:steady"},
        {"name": "second", "agent": f"{M}:counter", "after": ["first"]},
    ],
}
_calls = itertools.count()


def steady(ctx: NodeContext) -> dict[str, Any]:
    return {"same": True}


def counter(ctx: NodeContext) -> dict[str, Any]:
    """A new number on every call: a replay of this node outputs another one."""
    return {"n": next(_calls), "note": "<b>not html</b>"}


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AGENTOS_FSYNC", "0")
    monkeypatch.delenv("AGENTOS_API_TOKEN", raising=False)
    with serving(tmp_path / "data", allow_agents=[f"{M}:*"]) as base:
        assert httpx.post(f"{base}/graphs", json=GRAPH).status_code == 200
        yield base


def finished(server: str, run_id: str) -> None:
    deadline = time.monotonic() + 30
    while httpx.get(f"{server}/runs/{run_id}").json()["status"] != "succeeded":
        assert time.monotonic() < deadline, f"run {run_id} did not succeed"
        time.sleep(0.02)


def test_diff_a_replay_with_its_source(server: str, page: Page) -> None:
    res = httpx.post(f"{server}/runs", json={"graph": "counted"})
    source = res.json()["run_id"]
    finished(server, source)
    page.goto(f"{server}/dashboard/runs/{source}")
    page.select_option("select[name=from_step]", "second")
    page.click("#replay")
    page.wait_for_url(lambda url: source not in url)
    replay = page.url.rsplit("/", 1)[1]
    finished(server, replay)
    page.click("#diff-source")
    page.wait_for_url(f"**/dashboard/diff/{source}/{replay}")
    expect(page.locator("#verdict")).to_have_text("steps differ")
    expect(page.locator('tr[data-step="first"] .same')).to_have_text("same")
    expect(page.locator('tr[data-step="second"] .changed')).to_have_text("output")
    expect(page.locator('tr[data-step="second"] td').nth(1)).to_have_text("both")
    changes = page.locator('.step-changes[data-step="second"] tbody tr')
    expect(changes).to_have_count(1)
    expect(changes.locator("td").first).to_have_text("n")
    expect(page.locator("#diverged")).to_contain_text("b: replayed_from")
    page.locator(".run-a").click()
    page.wait_for_url(f"**/dashboard/runs/{source}")
