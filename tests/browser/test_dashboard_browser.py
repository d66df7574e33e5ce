"""The dashboard in a real headless Chromium (Debian's), against a real uvicorn server."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import Page, expect

from agentos.api.app import create_app
from agentos.demo import registry as demo_agents
from agentos.demo.graph import resolve_source
from chromium_support import NEEDS_CHROMIUM

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
HOSTILE = "<script>window.__xss=1</script>"
TOKEN = "browser-test-token-0123456789"
RUN_ID = re.compile(r"^run-[0-9]{14}-[0-9a-f]+$")

pytestmark = NEEDS_CHROMIUM


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real server on a free loopback port, in a thread; stopped (lifespan too) after."""
    monkeypatch.setenv("AGENTOS_FSYNC", "0")
    monkeypatch.delenv("AGENTOS_API_TOKEN", raising=False)
    with serving(tmp_path / "data") as base:
        yield base


@pytest.fixture
def token_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """`server`, with a token and the Host check `agentos serve` sets up."""
    monkeypatch.setenv("AGENTOS_FSYNC", "0")
    hosts = ["127.0.0.1", "localhost"]
    with serving(tmp_path / "data", token=TOKEN, allowed_hosts=hosts) as base:
        yield base


@contextmanager
def serving(data: Path, **options: Any) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        create_app(data, agents=demo_agents, resolve_source=resolve_source, **options),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=3,
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(30)
        assert not thread.is_alive(), "server did not stop"


def test_start_watch_and_inspect_a_demo_run(server: str, page: Page) -> None:
    OUTPUT.mkdir(exist_ok=True)
    page.goto(f"{server}/dashboard")
    page.fill("input[name=pr_number]", "42")
    page.click("#start-run")
    link = page.locator("#start-result a")
    expect(link).to_have_text(RUN_ID)
    run_id = link.inner_text()
    row = page.locator(f'tr[data-run="{run_id}"]')
    expect(row.locator(".badge")).to_have_text("succeeded", timeout=60_000)
    page.screenshot(path=str(OUTPUT / "dashboard-runs.png"))

    row.locator("a").first.click()
    page.wait_for_url(f"**/dashboard/runs/{run_id}")
    expect(page.locator("#totals")).to_have_attribute("data-status", "succeeded")
    expect(page.locator("svg.graph .gnode")).to_have_count(9)  # with the skipped approval
    expect(page.locator("svg.graph .gnode.s-succeeded")).to_have_count(8)
    expect(page.locator(".timeline .bar")).to_have_count(8)
    expect(page.locator("table.manifest")).to_have_count(8)
    expect(page.locator("#event-count")).to_contain_text("ended", timeout=20_000)
    assert page.locator("#events li").count() >= 8
    expect(page.locator("#events")).to_contain_text("run_succeeded")
    expect(page.locator(".card[data-node=py_fixer] .reason")).to_contain_text("cheapest")
    page.screenshot(path=str(OUTPUT / "dashboard-run.png"), full_page=True)

    page.select_option("select[name=from_step]", "tester")
    page.click("#replay")
    page.wait_for_url(lambda url: run_id not in url and "/dashboard/runs/" in url)
    expect(page.locator("#totals")).to_have_attribute("data-status", "succeeded", timeout=60_000)
    expect(page.locator("#run")).to_contain_text(f"replay of {run_id}")


def test_hostile_input_shows_as_text(server: str, page: Page) -> None:
    res = httpx.post(
        f"{server}/runs",
        json={"graph": "git-to-prod-multi", "inputs": {"pr_number": 1, "note": HOSTILE}},
    )
    run_id = res.json()["run_id"]
    page.goto(f"{server}/dashboard/runs/{run_id}")
    expect(page.locator("#inputs")).to_contain_text(HOSTILE)
    expect(page.locator("#events")).to_contain_text(HOSTILE)  # run_created, via textContent
    expect(page.locator("#event-count")).to_contain_text("ended", timeout=60_000)
    assert page.evaluate("window.__xss") is None
    page.goto(f"{server}/dashboard")
    assert page.evaluate("window.__xss") is None


def test_with_a_token_the_dashboard_starts_runs_through_its_cookie(
    token_server: str, page: Page
) -> None:
    page.goto(f"{token_server}/dashboard?token={TOKEN}")
    page.fill("input[name=pr_number]", "5")
    page.click("#start-run")
    link = page.locator("#start-result a")
    expect(link).to_have_text(RUN_ID)
    run_id = link.inner_text()
    row = page.locator(f'tr[data-run="{run_id}"]')
    expect(row.locator(".badge")).to_have_text("succeeded", timeout=60_000)
    # the cookie alone, without the dashboard's header, changes nothing
    status = page.evaluate(
        """async () => (await fetch("/runs", {method: "POST", credentials: "same-origin",
            headers: {"content-type": "application/json"},
            body: JSON.stringify({graph: "git-to-prod-multi"})})).status"""
    )
    assert status == 403
    runs = httpx.get(f"{token_server}/runs", headers={"Authorization": f"Bearer {TOKEN}"})
    assert [r["run_id"] for r in runs.json()] == [run_id]
