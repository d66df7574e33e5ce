"""GET /metrics: Prometheus counters and histograms counted from the runs' events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import OpenClient, poll, start_demo
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from agentos.actors import NodeContext
from agentos.api.app import create_app
from agentos.demo import registry as demo_agents
from agentos.demo.graph import resolve_source

TOKEN = "metrics-token-0123456789"
DEMO = "git-to-prod-multi"
BROKEN = {
    "name": "broken",
    "description": "one node that raises",
    "nodes": [{"name": "boom", "agent": "test_api_metrics:boom"}],
}


async def boom(ctx: NodeContext) -> dict[str, Any]:
    """An agent that always fails, reachable as `test_api_metrics:boom`."""
    raise RuntimeError("boom")


@pytest.fixture
async def client(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        data_dir,
        agents=demo_agents,
        allow_agents=["test_api_metrics:*"],
        resolve_source=resolve_source,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
            yield c


async def scrape(client: httpx.AsyncClient) -> list[Sample]:
    res = await client.get("/metrics")
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("text/plain")
    return [s for f in text_string_to_metric_families(res.text) for s in f.samples]


def value(samples: list[Sample], name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    return sum(
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


async def scrape_when(client: httpx.AsyncClient, finished: int) -> list[Sample]:
    """Scrape until `finished` runs are counted as ended (the listener runs after the
    ack, so a poller of the log may see the end first)."""
    deadline = time.monotonic() + 30
    while True:
        samples = await scrape(client)
        if value(samples, "agentos_runs_finished_total") >= finished:
            return samples
        assert time.monotonic() < deadline, "the metrics never counted the runs as ended"
        await asyncio.sleep(0.02)


async def test_metrics_count_runs_attempts_events_and_tokens(client: httpx.AsyncClient) -> None:
    assert (await client.post("/graphs", json=BROKEN)).status_code == 200
    good = await start_demo(client)
    res = await client.post("/runs", json={"graph": "broken"})
    assert res.status_code == 200, res.text
    bad = res.json()["run_id"]
    assert (await poll(client, good))[-1] == "succeeded"
    assert (await poll(client, bad))[-1] == "failed"
    samples = await scrape_when(client, finished=2)

    assert value(samples, "agentos_runs_started_total", graph=DEMO) == 1
    assert value(samples, "agentos_runs_started_total", graph="broken") == 1
    assert value(samples, "agentos_runs_finished_total", graph=DEMO, status="succeeded") == 1
    assert value(samples, "agentos_runs_finished_total", graph="broken", status="failed") == 1
    assert value(samples, "agentos_runs_finished_total") == 2
    assert value(samples, "agentos_node_attempts_total", graph="broken", outcome="failed") == 1
    assert value(samples, "agentos_node_attempts_total", graph="broken", outcome="succeeded") == 0
    state = (await client.get(f"/runs/{good}")).json()
    done = sum(n["status"] == "succeeded" for n in state["nodes"].values())
    assert value(samples, "agentos_node_attempts_total", graph=DEMO, outcome="succeeded") == done
    # histograms have their observations
    failed = {"graph": "broken", "outcome": "failed"}
    assert value(samples, "agentos_node_duration_seconds_count", **failed) == 1
    assert value(samples, "agentos_node_duration_seconds_bucket", le="+Inf", **failed) == 1
    assert value(samples, "agentos_append_latency_seconds_count") > 0
    # no group commit without fsync (these tests' store): no such metric
    assert not [s for s in samples if s.name.startswith("agentos_store_commit")]
    # every event appended, by type
    logs = [(await client.get(f"/runs/{r}/events")).json() for r in (good, bad)]
    appended = sum(len(log["events"]) for log in logs)
    assert value(samples, "agentos_events_appended_total") == appended
    assert value(samples, "agentos_events_appended_total", type="run_created") == 2
    # tokens and cost by provider and model add up to the run's usage
    usage = state["usage"]
    assert usage["tokens_in"] > 0
    assert value(samples, "agentos_model_tokens_total", direction="in") == usage["tokens_in"]
    assert value(samples, "agentos_model_tokens_total", direction="out") == usage["tokens_out"]
    assert value(samples, "agentos_model_cost_dollars_total") == pytest.approx(usage["cost"])
    assert value(samples, "agentos_model_calls_total") == usage["calls"]
    assert all(s.labels["provider"] and s.labels["model"] for s in samples if "model" in s.name)
    # ended runs are no longer in flight; no label ever carries a run id
    assert value(samples, "agentos_runs_in_flight") == 0
    labels = {v for s in samples for v in s.labels.values()}
    assert not {good, bad} & labels
    assert not any(good in v or bad in v for v in labels)


async def test_a_replay_counts_once_and_not_its_copied_events(client: httpx.AsyncClient) -> None:
    good = await start_demo(client)
    await poll(client, good)
    before = await scrape_when(client, finished=1)
    res = await client.post(f"/runs/{good}/replay", json={"from_step": "tester"})
    assert res.status_code == 200, res.text
    await poll(client, res.json()["run_id"])
    after = await scrape_when(client, finished=2)
    assert value(after, "agentos_runs_started_total", graph=DEMO) == 2
    # the copied attempts from before `tester` are not counted again, the new ones are
    events = (await client.get(f"/runs/{res.json()['run_id']}/events")).json()["events"]
    marker = next(e["seq"] for e in events if e["type"] == "replayed_from")
    ended = [e for e in events if e["type"] in ("node_succeeded", "node_failed")]
    copied = [e for e in ended if e["seq"] < marker]
    assert copied, "nothing was inherited: the test would not tell"
    counted = value(after, "agentos_node_attempts_total") - value(
        before, "agentos_node_attempts_total"
    )
    assert counted == len(ended) - len(copied)


async def test_runs_in_flight_and_waiting_are_gauges(client: httpx.AsyncClient) -> None:
    graph = {"name": "gate", "nodes": [{"name": "gate", "wait": "approval"}]}
    assert (await client.post("/graphs", json=graph)).status_code == 200
    run_id = (await client.post("/runs", json={"graph": "gate"})).json()["run_id"]
    deadline = time.monotonic() + 30
    while value(samples := await scrape(client), "agentos_runs_waiting", graph="gate") != 1:
        assert time.monotonic() < deadline, "the run was never counted as waiting"
        await asyncio.sleep(0.02)
    assert value(samples, "agentos_runs_in_flight", graph="gate") == 1
    res = await client.post(f"/runs/{run_id}/signals/approval", json={"approved": True})
    assert res.status_code == 200, res.text
    samples = await scrape_when(client, finished=1)
    assert value(samples, "agentos_runs_in_flight") == 0
    assert value(samples, "agentos_runs_waiting") == 0


async def test_metrics_need_the_token(open_client: OpenClient) -> None:
    async with open_client(token=TOKEN) as client:
        res = await client.get("/metrics")
        assert res.status_code == 401
        assert res.json() == {"detail": "missing or wrong bearer token"}
        res = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert res.status_code == 200
        assert "# TYPE agentos_runs_started_total counter" in res.text
