"""Tests of the provider pool and the simulated provider."""

import asyncio
import math

import pytest
from pydantic import ValidationError

from agentos.context import SimpleTokenCounter
from agentos.events.limits import MAX_PRICE, MAX_TOKENS
from agentos.routing import (
    CompletionRequest,
    ModelSpec,
    ProviderError,
    ProviderPool,
    ProviderSpec,
    SimulatedProvider,
    default_pool,
)

counter = SimpleTokenCounter()
MODEL = ModelSpec(name="m", context_window=1000, price_in_per_1k=0.5, price_out_per_1k=1.5, tier=1)


def provider(failure_rate: float = 0.0, name: str = "p") -> SimulatedProvider:
    spec = ProviderSpec(name=name, models=[MODEL], failure_rate=failure_rate, latency_scale=0)
    return SimulatedProvider(spec, counter)


def test_cost_math() -> None:
    assert MODEL.cost(1000, 0) == pytest.approx(0.5)
    assert MODEL.cost(2000, 1000) == pytest.approx(2.5)
    assert MODEL.cost(0, 0) == 0


def test_pool_validation() -> None:
    with pytest.raises(ValidationError, match="listed twice"):
        ProviderPool(
            providers=[ProviderSpec(name="a", models=[]), ProviderSpec(name="a", models=[])]
        )
    with pytest.raises(ValidationError, match="lists models twice"):
        ProviderSpec(name="a", models=[MODEL, MODEL])
    with pytest.raises(ValidationError):
        ProviderPool(providers=[])
    with pytest.raises(ValidationError):
        ModelSpec(name="x", context_window=0, price_in_per_1k=0, price_out_per_1k=0, tier=1)
    with pytest.raises(ValidationError):
        ProviderSpec(name="a", models=[], failure_rate=1.5)
    with pytest.raises(ValidationError):
        ProviderSpec(name="a", models=[], bogus=1)  # type: ignore[call-arg]


def test_default_pool() -> None:
    pool = default_pool()
    assert [p.name for p in pool.providers] == ["simA", "simB", "simC"]
    assert pool.tiers() == [1, 2, 3]
    windows = [m.context_window for _, m in pool.offers()]
    assert min(windows) == 8_192 and max(windows) == 131_072
    assert pool.providers[0].model("sim-mid") == pool.providers[1].model("sim-mid")


async def test_simulated_provider_is_deterministic() -> None:
    request = CompletionRequest(model="m", prompt="review this diff please", max_tokens=200, seed=7)
    first = await provider().complete(request)
    second = await provider().complete(request)
    assert first == second
    assert first.text.startswith("sim:m:")
    assert first.tokens_in == counter.count(request.prompt)
    assert first.tokens_out == counter.count(first.text) <= 200
    assert first.cost == pytest.approx(MODEL.cost(first.tokens_in, first.tokens_out))
    assert (first.provider, first.model, first.latency_ms) == ("p", "m", 0)
    other = await provider().complete(request.model_copy(update={"seed": 8}))
    assert other.text != first.text


async def test_max_tokens_bounds_answer() -> None:
    request = CompletionRequest(model="m", prompt="x", max_tokens=5)
    response = await provider().complete(request)
    assert response.tokens_out <= 5


async def test_failure_rate() -> None:
    always, never, half = provider(1.0), provider(0.0), provider(0.5)
    failures = 0
    for i in range(200):
        request = CompletionRequest(model="m", prompt=f"prompt {i}", max_tokens=10)
        with pytest.raises(ProviderError):
            await always.complete(request)
        await never.complete(request)
        try:
            await half.complete(request)
        except ProviderError:
            failures += 1
    assert 60 < failures < 140
    # the same request fails the same way every time
    request = CompletionRequest(model="m", prompt="prompt 3", max_tokens=10)
    outcomes = set()
    for _ in range(3):
        try:
            await half.complete(request)
            outcomes.add("ok")
        except ProviderError:
            outcomes.add("fail")
    assert len(outcomes) == 1


async def test_fail_next_hook() -> None:
    p = provider()
    p.fail_next = 2
    request = CompletionRequest(model="m", prompt="x", max_tokens=10)
    for _ in range(2):
        with pytest.raises(ProviderError, match="forced"):
            await p.complete(request)
    await p.complete(request)
    assert p.fail_next == 0 and p.calls == 3


async def test_latency_is_slept() -> None:
    spec = ProviderSpec(name="p", models=[MODEL.model_copy(update={"latency_ms": 40})])
    p = SimulatedProvider(spec, counter)
    loop = asyncio.get_running_loop()
    start = loop.time()
    response = await p.complete(CompletionRequest(model="m", prompt="x", max_tokens=3))
    assert loop.time() - start >= 0.035
    assert response.latency_ms == 40


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price_in_per_1k", float("inf")),
        ("price_out_per_1k", float("inf")),
        ("price_in_per_1k", 1e308),
        ("context_window", 10**30),
        ("latency_ms", float("inf")),
        ("max_in_flight", 2**64),
    ],
)
def test_model_numbers_are_finite_and_bounded(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        ModelSpec.model_validate({**MODEL.model_dump(), field: value})


def test_the_dearest_call_still_costs_a_finite_amount() -> None:
    dear = ModelSpec.model_validate(
        {**MODEL.model_dump(), "price_in_per_1k": MAX_PRICE, "price_out_per_1k": MAX_PRICE}
    )
    assert math.isfinite(dear.cost(MAX_TOKENS, MAX_TOKENS))


def test_provider_seed_fits_in_64_bits() -> None:
    with pytest.raises(ValidationError, match="seed"):
        ProviderSpec(name="p", models=[MODEL], seed=2**63)
