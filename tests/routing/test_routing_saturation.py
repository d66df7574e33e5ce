"""A provider at capacity makes a call wait for a slot (bounded), instead of failing it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from agentos.actors import NodeContext, Supervisor
from agentos.agents import AgentRegistry
from agentos.events.model import ModelCalled
from agentos.eventstore import InMemoryEventStore
from agentos.routing import (
    AllProvidersFailedError,
    CompletionRequest,
    CompletionResponse,
    ModelSpec,
    ProviderPool,
    ProviderSpec,
    Router,
)

BOUND = 10.0  # seconds: a generous bound on waiting for a condition


class GatedProvider:
    """A provider whose calls answer once the test opens its gate; it notes its load."""

    def __init__(self, spec: ProviderSpec) -> None:
        self.spec = spec
        self.gate = asyncio.Event()
        self.running = 0
        self.high = 0
        self.answered: list[int] = []  # request seeds, in the order answered

    @property
    def name(self) -> str:
        """The provider's name."""
        return self.spec.name

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Answer `request` once the gate is open."""
        self.running += 1
        self.high = max(self.high, self.running)
        try:
            await self.gate.wait()
        finally:
            self.running -= 1
        self.answered.append(request.seed)
        return CompletionResponse(
            text="ok", model=request.model, provider=self.name, tokens_in=1, tokens_out=1,
            latency_ms=0.0, cost=0.0,
        )  # fmt: skip


def one_slot_pool(*names: str) -> ProviderPool:
    model = ModelSpec(
        name="one", context_window=8192, price_in_per_1k=0.1, price_out_per_1k=0.2, tier=1,
        max_in_flight=1,
    )  # fmt: skip
    return ProviderPool(providers=[ProviderSpec(name=n, models=[model]) for n in names])


def gated_router(*names: str, **kw: Any) -> tuple[Router, dict[str, GatedProvider]]:
    pool = one_slot_pool(*names)
    gated = {p.name: GatedProvider(p) for p in pool.providers}
    return Router(pool, gated, **kw), gated


async def until(condition: Callable[[], bool]) -> None:
    """Wait (bounded) until `condition` holds, letting the loop run meanwhile."""
    async with asyncio.timeout(BOUND):
        while not condition():
            await asyncio.sleep(0)


async def test_calls_wait_for_the_only_slot_in_arrival_order() -> None:
    router, gated = gated_router("solo")
    sel = router.select(10, 10)
    calls = [asyncio.create_task(router.call("hi", sel, 8, seed=i)) for i in range(10)]
    await until(lambda: router.waiting("solo", "one") == 9)
    assert router.in_flight("solo", "one") == 1
    gated["solo"].gate.set()
    results = await asyncio.gather(*calls)
    assert gated["solo"].high == 1  # never beyond max_in_flight
    assert gated["solo"].answered == list(range(10))  # first come, first served
    assert all([a.ok for a in attempts] == [True] for _, attempts in results)
    waits = [attempts[0].waited_ms for _, attempts in results]
    assert waits[0] == 0 and all(w > 0 for w in waits[1:])  # the waits are observable
    assert router.in_flight("solo", "one") == 0 and router.waiting("solo", "one") == 0


async def test_a_wait_covers_every_candidate() -> None:
    router, gated = gated_router("first", "second")
    sel = router.select(10, 10)
    holders = [asyncio.create_task(router.call("hold", sel, 8, seed=i)) for i in range(2)]
    await until(lambda: gated["first"].running == 1 and gated["second"].running == 1)
    waiter = asyncio.create_task(router.call("wait", sel, 8, seed=7))
    await until(lambda: router.waiting("first", "one") == 1)
    assert router.waiting("second", "one") == 1
    gated["second"].gate.set()  # the lower ranked one frees a slot first: it is taken
    response, attempts = await waiter
    assert response.provider == "second" and [a.ok for a in attempts] == [True]
    assert router.waiting("first", "one") == 0
    gated["first"].gate.set()
    await asyncio.gather(*holders)
    assert router.in_flight("first", "one") == router.in_flight("second", "one") == 0


@pytest.mark.parametrize("per_call", [True, False])
async def test_a_wait_beyond_the_deadline_fails_saturated(per_call: bool) -> None:
    router, gated = gated_router("solo", max_wait=30.0 if per_call else 0.05)
    sel = router.select(10, 10)
    holder = asyncio.create_task(router.call("hold", sel, 8, seed=1))
    await until(lambda: gated["solo"].running == 1)
    with pytest.raises(
        AllProvidersFailedError, match="1 candidates failed: solo/one: saturated"
    ) as info:
        await router.call("late", sel, 8, seed=2, max_wait=0.05 if per_call else None)
    [attempt] = info.value.attempts
    assert (attempt.error, attempt.ok) == ("saturated", False)
    assert attempt.waited_ms >= 40 and info.value.waited_ms == attempt.waited_ms  # recorded
    assert router.waiting("solo", "one") == 0 and router.in_flight("solo", "one") == 1
    gated["solo"].gate.set()
    await holder
    assert gated["solo"].answered == [1] and router.in_flight("solo", "one") == 0


async def test_a_cancelled_wait_gives_back_a_slot_handed_to_it() -> None:
    router, gated = gated_router("solo")
    gated["solo"].gate.set()
    sel = router.select(10, 10)
    router._in_flight[("solo", "one")] = 1  # a call elsewhere holds the slot
    waiter = asyncio.create_task(router.call("wait", sel, 8, seed=1))
    await until(lambda: router.waiting("solo", "one") == 1)
    router._release(("solo", "one"))  # that call ends: its slot goes to the waiter...
    waiter.cancel()  # ...which is cancelled before it could use it
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert router.in_flight("solo", "one") == 0 and router.waiting("solo", "one") == 0
    response, _ = await router.call("next", sel, 8, seed=2, max_wait=0)
    assert response.provider == "solo" and gated["solo"].answered == [2]


def test_router_refuses_a_negative_wait() -> None:
    with pytest.raises(ValueError, match="max_wait and long_wait must be >= 0"):
        Router(one_slot_pool("solo"), max_wait=-1)


# through real runs: the wait is bounded by the node's timeout and recorded when long

PROFILE = {"budget": 200, "reserve": 32, "sources": [{"kind": "instructions", "text": "hi"}]}


def caller_graph(timeout: float | None = None) -> dict[str, Any]:
    policy: dict[str, Any] = {"retry": {"max_attempts": 1}}
    if timeout is not None:
        policy["timeout"] = timeout
    return {
        "name": "caller",
        "nodes": [{"name": "a", "agent": "caller", "context": "p", "policy": "once"}],
        "policies": {"once": policy},
        "context_profiles": {"p": PROFILE},
    }


@pytest.fixture
async def store() -> AsyncIterator[InMemoryEventStore]:
    store = InMemoryEventStore()
    yield store
    await store.close()


def start(graph: dict[str, Any], router: Router, store: InMemoryEventStore) -> Supervisor:
    registry = AgentRegistry()

    async def caller(ctx: NodeContext) -> dict[str, Any]:
        answer = await ctx.complete(max_tokens=8)
        return {"provider": answer.provider}

    registry.register("caller", caller)
    return Supervisor.start(graph, store, agents=registry, router=router)


async def model_calls(store: InMemoryEventStore, run_id: str) -> list[ModelCalled]:
    return [e for e in await store.read_all(run_id) if isinstance(e, ModelCalled)]


async def test_runs_wait_for_a_slot_and_a_long_wait_is_recorded(
    store: InMemoryEventStore,
) -> None:
    router, gated = gated_router("solo", long_wait=0.05)
    sup = start(caller_graph(timeout=30), router, store)
    try:
        first = await sup.start_run({})
        await until(lambda: gated["solo"].running == 1)
        runs = [await sup.start_run({"i": i}) for i in range(5)]
        await until(lambda: router.waiting("solo", "one") == 5)
        await asyncio.sleep(0.1)  # make the waits long
        gated["solo"].gate.set()
        states = [await sup.wait(r, timeout=BOUND) for r in [first, *runs]]
    finally:
        await sup.stop()
    assert [s.status for s in states] == ["succeeded"] * 6
    [call] = await model_calls(store, first)
    assert call.data.waited_ms == 0  # it never waited
    for run_id in runs:
        [call] = await model_calls(store, run_id)
        assert call.data.ok and call.data.waited_ms >= 100
        assert call.data.fallbacks == []


async def test_a_wait_ends_before_the_node_timeout_as_saturated(
    store: InMemoryEventStore,
) -> None:
    router, gated = gated_router("solo", long_wait=0.2)
    router._in_flight[("solo", "one")] = 1  # a call elsewhere holds the slot throughout
    sup = start(caller_graph(timeout=1.0), router, store)
    try:
        state = await sup.run({}, timeout=BOUND)
    finally:
        await sup.stop()
    assert state.status == "failed"
    error = state.nodes["a"].error or ""
    assert "saturated" in error and "timed out" not in error
    [call] = await model_calls(store, state.run_id)
    assert not call.data.ok and "saturated" in (call.data.error or "")
    assert 800 <= call.data.waited_ms < 1000  # bounded by the node's timeout, recorded
    assert [f["error"] for f in call.data.fallbacks] == ["saturated"]
    assert router.waiting("solo", "one") == 0 and gated["solo"].answered == []
