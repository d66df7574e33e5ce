"""A run's page in headless Chromium: a click opens a node in full; maps, loops, waits,
nodes that never ran and what a replay inherited are drawn."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from test_dashboard_browser import OUTPUT, serving

from agentos.actors import NodeContext
from agentos.actors.node_context import Next
from chromium_support import NEEDS_CHROMIUM

pytestmark = NEEDS_CHROMIUM

LONG = "a reason longer than any summary line would show: " + "x" * 400
M = "test_dashboard_nodes"
FAILS = {
    "name": "fails",
    "nodes": [
        {"name": "source", "agent": f"{M}:source"},
        {
            "name": "flaky",
            "agent": f"{M}:flaky",
            "after": ["source"],
            "params": {"k": 1},
            "policy": {"retry": {"max_attempts": 2, "initial_interval": 0}},
        },
        {"name": "broken", "agent": f"{M}:broken", "after": ["flaky"]},
        {"name": "after_broken", "agent": f"{M}:source", "after": ["broken"]},
    ],
}
SHAPES = {
    "name": "shapes",
    "nodes": [
        {"name": "planner", "agent": f"{M}:planner"},
        {
            "name": "researcher",
            "agent": f"{M}:researcher",
            "after": ["planner"],
            "map": "planner.questions",
        },
        {"name": "writer", "agent": f"{M}:writer", "after": ["researcher"]},
        {
            "name": "reviewer",
            "agent": f"{M}:reviewer",
            "after": ["writer"],
            "loop": {"to": "writer", "max_iterations": 3},
        },
        {"name": "approval", "after": ["reviewer"], "wait": "approval"},
    ],
}


def source(ctx: NodeContext) -> dict[str, Any]:
    return {"text": "t" * 300}


def flaky(ctx: NodeContext) -> dict[str, Any]:
    if ctx.attempt == 1:
        raise KeyError("questions")
    return {"k": ctx.params["k"]}


def broken(ctx: NodeContext) -> dict[str, Any]:
    raise ValueError(LONG)


def planner(ctx: NodeContext) -> dict[str, Any]:
    return {"questions": ["why?", "how?", "when?"]}


def researcher(ctx: NodeContext) -> dict[str, Any]:
    return {"answer": f"about {ctx.item}"}


def writer(ctx: NodeContext) -> dict[str, Any]:
    before = ctx.outputs.get("writer") or {"n": 0}
    return {"n": before["n"] + 1}


def reviewer(ctx: NodeContext) -> Next | dict[str, Any]:
    if ctx.outputs["writer"]["n"] < 2:
        return Next(["writer"], {"ok": False})
    return {"ok": True}


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AGENTOS_FSYNC", "0")
    monkeypatch.delenv("AGENTOS_API_TOKEN", raising=False)
    with serving(tmp_path / "data", allow_agents=[f"{M}:*"]) as base:
        yield base


def run_until(server: str, graph: dict[str, Any], statuses: set[str]) -> str:
    assert httpx.post(f"{server}/graphs", json=graph).status_code == 200
    res = httpx.post(f"{server}/runs", json={"graph": graph["name"], "inputs": {}})
    run_id = str(res.json()["run_id"])
    return wait_for(server, run_id, statuses)


def wait_for(server: str, run_id: str, statuses: set[str]) -> str:
    deadline = time.monotonic() + 30
    while httpx.get(f"{server}/runs/{run_id}").json()["status"] not in statuses:
        assert time.monotonic() < deadline, f"run {run_id} never reached {statuses}"
        time.sleep(0.02)
    return run_id


def test_a_click_opens_a_node_in_full_and_later_nodes_never_ran(server: str, page: Page) -> None:
    run_id = run_until(server, FAILS, {"failed"})
    page.goto(f"{server}/dashboard/runs/{run_id}")
    never = page.locator("svg.graph .gnode[data-node=after_broken]")
    expect(never).to_have_class("gnode s-never")
    expect(never.locator(".gstatus")).to_have_text("never ran")
    expect(page.locator(".card[data-node=after_broken] .badge.s-never")).to_have_text("never ran")
    detail = page.locator("#node-detail")
    expect(detail).to_be_hidden()

    page.locator("svg.graph .gnode[data-node=broken]").click()
    expect(detail).to_be_visible()
    expect(detail.locator("h2")).to_contain_text("broken")
    expect(detail.locator(".node-error")).to_have_text(f"ValueError: {LONG}")  # not cut
    expect(detail).to_contain_text('"k": 1')  # its input: flaky's output

    page.locator("svg.graph .gnode[data-node=flaky]").click()
    expect(detail.locator("h2")).to_contain_text("flaky")
    attempts = detail.locator("[data-section=attempts]").locator("tbody tr")
    expect(attempts).to_have_count(2)
    expect(attempts.nth(0)).to_contain_text("KeyError: 'questions'")
    expect(attempts.nth(1)).to_contain_text("succeeded")
    expect(detail.locator("[data-section=input]")).to_contain_text("t" * 300)

    page.locator(".card[data-node=after_broken] button.open").click()
    expect(detail.locator("h2")).to_contain_text("never ran")
    expect(detail).to_contain_text("it never started")
    detail.locator("#node-close").click()
    expect(detail).to_be_hidden()


def test_a_replay_marks_inherited_and_rerun_nodes(server: str, page: Page) -> None:
    source_run = run_until(server, FAILS, {"failed"})
    res = httpx.post(f"{server}/runs/{source_run}/replay", json={"from_step": "broken"})
    replay = wait_for(server, res.json()["run_id"], {"failed"})
    page.goto(f"{server}/dashboard/runs/{replay}")
    graph = page.locator("svg.graph")
    expect(graph.locator(".gnode[data-origin=inherited]")).to_have_count(2)
    expect(graph.locator(".gnode[data-node=source]")).to_have_attribute("data-origin", "inherited")
    expect(graph.locator(".gnode[data-node=flaky] .gstatus")).to_have_text("succeeded · inherited")
    expect(graph.locator(".gnode[data-node=broken]")).to_have_attribute("data-origin", "re-ran")
    expect(page.locator(".card[data-node=broken] .badge.o-re-ran")).to_have_text("re-ran")
    graph.locator(".gnode[data-node=source]").click()
    expect(page.locator("#node-detail h2 .o-inherited")).to_have_text("inherited")


def test_maps_loops_and_waits_are_drawn_and_open(server: str, page: Page) -> None:
    run_id = run_until(server, SHAPES, {"waiting"})
    page.goto(f"{server}/dashboard/runs/{run_id}")
    graph = page.locator("svg.graph")
    instances = graph.locator(".ginst")
    expect(instances).to_have_count(3)
    expect(instances.nth(2)).to_have_attribute("data-open", "researcher[2]")
    expect(graph.locator(".gnode[data-node=researcher] .gname")).to_have_text("researcher x3")
    expect(graph.locator(".gnode[data-node=writer] .gname")).to_have_text("writer #2")
    expect(graph.locator(".edge.loop[data-loop=reviewer]")).to_have_count(1)
    expect(graph.locator(".gnode[data-node=approval] .gstatus")).to_have_text("waits: approval")
    card = page.locator(".card[data-node=approval]")
    expect(card.locator(".wait")).to_contain_text("waits for signal approval")

    detail = page.locator("#node-detail")
    instances.nth(1).click()
    expect(detail.locator("h2")).to_contain_text("researcher[1]")
    expect(detail.locator("[data-section=output]")).to_contain_text("about how?")
    expect(detail.locator("[data-section=input]")).to_contain_text('"item": "how?"')

    graph.locator(".gnode[data-node=writer]").click()
    expect(detail.locator("h2")).to_contain_text("writer#2")
    expect(detail.locator("[data-section=output]")).to_contain_text('"n": 2')
    detail.get_by_role("button", name="#1").click()
    expect(detail.locator("h2")).to_contain_text("writer#1")
    expect(detail.locator("[data-section=output]")).to_contain_text('"n": 1')

    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "dashboard-node.png"), full_page=True)
    graph.locator(".gnode[data-node=approval]").click()
    expect(detail.locator(".wait-info")).to_contain_text("waits for signal approval")
    card.get_by_role("button", name="Approve").click()
    expect(page.locator("#totals")).to_have_attribute("data-status", "succeeded", timeout=20_000)
    expect(detail.locator("h2 .badge")).to_have_text("succeeded")  # the open node follows
    expect(detail.locator("[data-section=output]")).to_contain_text('"approved": true')
