"""Context, models and budgets through real runs: manifests, choices, totals, budgets."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentos.actors import NodeContext
from agentos.agents import AgentRegistry
from agentos.eventstore import EventStore
from agentos.routing import ProviderPool

PROFILE = {
    "budget": 400,
    "reserve": 64,
    "sources": [
        {"kind": "instructions", "text": "you are a careful agent " * 5},
        {"kind": "inputs"},
        {"kind": "upstream", "nodes": ["a"]},
    ],
}


def _pool(latency: float = 0.0) -> ProviderPool:
    def model(name: str, tier: int, price: float, window: int = 8192) -> dict[str, Any]:
        return {
            "name": name,
            "context_window": window,
            "price_in_per_1k": price,
            "price_out_per_1k": price * 2,
            "tier": tier,
        }

    return ProviderPool.model_validate(
        {
            "providers": [
                {"name": "cheap", "latency_scale": latency, "models": [model("small", 1, 0.1)]},
                {"name": "good", "latency_scale": latency, "models": [model("large", 3, 5.0)]},
            ]
        }
    )


def _graph(policy: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    nodes = [
        {"name": "a", "agent": "caller", "context": "p"},
        {"name": "b", "agent": "caller", "context": "p", "after": ["a"]},
        {"name": "c", "agent": "caller", "context": "p", "after": ["b"]},
    ]
    if policy is not None:
        for node in nodes:
            node["policy"] = policy
    return {"name": "models", "nodes": nodes, "context_profiles": {"p": PROFILE}, **extra}


@pytest.fixture
def caller(registry: AgentRegistry) -> None:
    async def call(ctx: NodeContext) -> dict[str, Any]:
        answer = await ctx.complete(max_tokens=32)
        return {"model": answer.model, "tokens": answer.tokens_out}

    registry.register("caller", call)


@pytest.mark.usefixtures("caller")
async def test_every_node_gets_a_manifest_and_a_model(start: Any, store: EventStore) -> None:
    sup = start(_graph({"min_tier": 3}), pool=_pool())
    state = await sup.run({"task": "fix it"}, timeout=10)
    assert state.status == "succeeded"
    events = await store.read_all(state.run_id)
    for node in "abc":
        kinds = [e.type for e in events if e.node == node]
        assert kinds.index("context_compiled") < kinds.index("model_selected")
        assert kinds.index("model_selected") < kinds.index("model_called")
        assert state.nodes[node].model is not None
        assert state.nodes[node].model["model"] == "large"  # the only tier 3 model
        assert state.nodes[node].manifest is not None
    calls = [e for e in events if e.type == "model_called"]
    assert state.usage.calls == len(calls) == 3
    assert state.usage.tokens_in == sum(e.data.tokens_in for e in calls)
    assert state.usage.tokens_out == sum(e.data.tokens_out for e in calls)
    assert state.usage.cost == pytest.approx(sum(e.data.cost for e in calls))
    assert sum(n.usage.cost for n in state.nodes.values()) == pytest.approx(state.usage.cost)


@pytest.mark.usefixtures("caller")
async def test_budget_fail_mode_fails_the_run(start: Any, store: EventStore) -> None:
    budget = {"max_tokens": 200, "on_exceed": "fail"}
    sup = start(_graph({"min_tier": 3}, budget=budget), pool=_pool())
    state = await sup.run(timeout=10)
    assert state.status == "failed"
    assert "budget exceeded" in (state.error or "")
    assert state.budget_action == "fail"
    kinds = [e.type for e in await store.read_all(state.run_id)]
    assert kinds.count("budget_exceeded") == 1
    assert state.nodes["c"].status in ("pending", "cancelled")


@pytest.mark.usefixtures("caller")
async def test_budget_downgrade_mode_routes_later_nodes_to_cheaper_models(
    start: Any, store: EventStore
) -> None:
    budget = {"max_tokens": 100, "on_exceed": "downgrade"}  # ~81 tokens a call: crossed by b
    sup = start(_graph({"min_tier": 3}, budget=budget), pool=_pool())
    state = await sup.run(timeout=10)
    assert state.status == "succeeded"
    assert state.budget_action == "downgrade"
    assert state.nodes["a"].model is not None and state.nodes["a"].model["model"] == "large"
    assert state.nodes["c"].model is not None and state.nodes["c"].model["model"] == "small"
    events = await store.read_all(state.run_id)
    exceeded = [e for e in events if e.type == "budget_exceeded"]
    assert len(exceeded) == 1 and exceeded[0].data.action == "downgrade"


@pytest.mark.usefixtures("caller")
async def test_a_context_that_fits_no_model_fails_the_node_clearly(start: Any) -> None:
    huge = {**PROFILE, "budget": 50_000, "reserve": 64}
    graph = _graph()
    graph["context_profiles"] = {"p": huge}
    graph["nodes"][0]["params"] = {}
    sup = start(graph, pool=_pool())
    state = await sup.run({"blob": "word " * 20_000}, timeout=10)
    assert state.status == "failed"
    assert "NoModelFits" in str(state.nodes["a"].error) or "window" in str(state.nodes["a"].error)


@pytest.mark.usefixtures("caller")
async def test_replay_records_the_same_manifests_and_choices(start: Any, store: EventStore) -> None:
    sup = start(_graph(), pool=_pool())
    original = await sup.run({"task": "same"}, timeout=10)
    new_id = await sup.replay(original.run_id, "b")
    replayed = await sup.wait(new_id, timeout=10)
    for node in "bc":
        assert replayed.nodes[node].manifest == original.nodes[node].manifest
        assert replayed.nodes[node].model == original.nodes[node].model
        assert replayed.nodes[node].output == original.nodes[node].output


async def test_node_concurrency_limit_holds_across_runs(
    start: Any, store: EventStore, registry: AgentRegistry
) -> None:
    running = 0
    peak = 0

    async def gated(ctx: NodeContext) -> dict[str, Any]:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.03)
        running -= 1
        return {}

    registry.register("gated", gated)
    graph = {
        "name": "limited",
        "nodes": [{"name": "g", "agent": "gated", "policy": {"concurrency": 1}}],
    }
    sup = start(graph)
    ids = [await sup.start_run() for _ in range(4)]
    states = [await sup.wait(i, timeout=10) for i in ids]
    assert {s.status for s in states} == {"succeeded"}
    assert peak == 1
    waited = [i for i in ids if any(e.type == "node_scheduled" for e in await store.read_all(i))]
    assert waited, "runs that had to wait for the slot record node_scheduled"
