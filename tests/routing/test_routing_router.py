"""Tests of model selection, load balancing and fallback."""

import asyncio

import pytest

from agentos.context import SimpleTokenCounter
from agentos.routing import (
    AllProvidersFailedError,
    NoModelFitsError,
    ProviderPool,
    Router,
    Selection,
    SimulatedProvider,
    default_pool,
)


def fast_pool() -> ProviderPool:
    pool = default_pool()
    return ProviderPool(
        providers=[p.model_copy(update={"latency_scale": 0}) for p in pool.providers]
    )


def make_router(pool: ProviderPool | None = None) -> tuple[Router, dict[str, SimulatedProvider]]:
    pool = pool or fast_pool()
    counter = SimpleTokenCounter()
    sims = {p.name: SimulatedProvider(p, counter) for p in pool.providers}
    return Router(pool, sims), sims


def pairs(selection: Selection) -> list[tuple[str, str]]:
    return [(c.provider, c.model) for c in selection.candidates]


def test_cheapest_first() -> None:
    router, _ = make_router()
    sel = router.select(1000, 200)
    assert (sel.chosen.provider, sel.chosen.model) == ("simA", "sim-small")
    assert pairs(sel) == [
        ("simA", "sim-small"),
        ("simA", "sim-mid"),
        ("simB", "sim-mid"),
        ("simC", "sim-large"),
    ]
    assert "cheapest model with tier>=1 fitting 1,200 tokens" in sel.reason
    assert Selection.model_validate_json(sel.model_dump_json()) == sel


def test_min_tier_and_max_tier() -> None:
    router, _ = make_router()
    assert router.select(100, 100, min_tier=3).chosen.model == "sim-large"
    sel = router.select(100, 100, min_tier=2)
    assert {c.model for c in sel.candidates} == {"sim-mid", "sim-large"}
    assert "simA and simB tie on cost and load, simA first by name" in sel.reason
    capped = router.select(100, 100, min_tier=1, max_tier=1)
    assert pairs(capped) == [("simA", "sim-small")]


def test_small_windows_are_skipped() -> None:
    router, _ = make_router()
    sel = router.select(10_000, 1_000)
    assert "sim-small" not in {c.model for c in sel.candidates}
    assert sel.chosen.model == "sim-mid"
    assert "1 model(s) skipped, window too small" in sel.reason


def test_preferred_models_first() -> None:
    router, _ = make_router()
    sel = router.select(100, 100, preferred=["sim-large", "simB/sim-mid"])
    assert pairs(sel)[:2] == [("simC", "sim-large"), ("simB", "sim-mid")]
    assert sel.reason.startswith("preferred model simC/sim-large")


def test_exclude() -> None:
    router, _ = make_router()
    sel = router.select(100, 100, exclude={("simA", "sim-small")})
    assert ("simA", "sim-small") not in pairs(sel)


def test_no_model_fits() -> None:
    router, _ = make_router()
    with pytest.raises(NoModelFitsError) as info:
        router.select(30_000, 4_000, min_tier=2, max_tier=2)
    message = str(info.value)
    assert "34,000 tokens" in message
    assert "32,768" in message and "tier 2..2" in message
    with pytest.raises(NoModelFitsError, match="no model in the pool has tier>=4"):
        router.select(10, 10, min_tier=4)
    with pytest.raises(NoModelFitsError, match="131,072"):
        router.select(200_000, 0)


async def test_load_balancing_prefers_idle_provider() -> None:
    router, _ = make_router()
    router._in_flight[("simA", "sim-mid")] = 2
    sel = router.select(100, 100, min_tier=2)
    assert (sel.chosen.provider, sel.chosen.model) == ("simB", "sim-mid")
    assert "simB and simA tie on cost, simB has fewer requests in flight (0 vs 2)" in sel.reason


async def test_saturated_go_last() -> None:
    router, _ = make_router()
    router._in_flight[("simA", "sim-small")] = 8
    sel = router.select(100, 100)
    assert pairs(sel)[-1] == ("simA", "sim-small")
    assert sel.candidates[-1].saturated


async def test_call_uses_chosen() -> None:
    router, _ = make_router()
    sel = router.select(100, 50)
    response, attempts = await router.call("hello", sel, max_tokens=50, seed=1)
    assert (response.provider, response.model) == ("simA", "sim-small")
    assert [a.ok for a in attempts] == [True]
    assert router.in_flight("simA", "sim-small") == 0


async def test_fallback_when_provider_fails() -> None:
    router, sims = make_router()
    sel = router.select(100, 50, min_tier=2)
    sims["simA"].fail_next = 1
    response, attempts = await router.call("hello", sel, max_tokens=50, seed=1)
    assert response.provider == "simB"
    assert [(a.provider, a.ok) for a in attempts] == [("simA", False), ("simB", True)]
    assert attempts[0].error is not None and "forced" in attempts[0].error
    assert router.in_flight("simA", "sim-mid") == 0


async def test_fallback_when_saturated_at_call_time() -> None:
    router, _ = make_router()
    sel = router.select(100, 50, min_tier=2)
    router._in_flight[("simA", "sim-mid")] = 8
    response, attempts = await router.call("hello", sel, max_tokens=50, seed=1)
    assert response.provider == "simB"
    assert attempts[0].error == "saturated"


async def test_all_providers_failed() -> None:
    router, sims = make_router()
    sel = router.select(100, 50, min_tier=2)
    for sim in sims.values():
        sim.fail_next = 5
    with pytest.raises(AllProvidersFailedError) as info:
        await router.call("hello", sel, max_tokens=50, seed=1)
    assert [(a.provider, a.ok) for a in info.value.attempts] == [
        ("simA", False),
        ("simB", False),
        ("simC", False),
    ]
    assert "all 3 candidates failed" in str(info.value)
    assert all(router.in_flight(p, m) == 0 for p, m in pairs(sel))


async def test_in_flight_under_concurrency() -> None:
    router, sims = make_router(default_pool())  # real (small) latencies so calls overlap
    sel = router.select(100, 50, min_tier=2)
    high = {key: 0 for key in pairs(sel)}

    async def one(i: int) -> str:
        try:
            response, _ = await router.call(f"p{i}", sel, max_tokens=20, seed=i)
        except AllProvidersFailedError:
            return "failed"
        return response.provider

    async def watch() -> None:
        while any(router.in_flight(*k) == 0 for k in high):
            await asyncio.sleep(0)
        for key in high:
            high[key] = router.in_flight(*key)

    watcher = asyncio.create_task(watch())
    providers = await asyncio.gather(*(one(i) for i in range(24)))
    await watcher
    # capacity is 8 + 8 + 4: the rest wait for a slot, never beyond it
    assert high == {("simA", "sim-mid"): 8, ("simB", "sim-mid"): 8, ("simC", "sim-large"): 4}
    assert "failed" not in providers
    assert all(router.in_flight(*key) == 0 for key in high)
    assert all(router.waiting(*key) == 0 for key in high)
    assert sum(s.calls for s in sims.values()) == 24
