"""Whatever a store accepts, its reader reads back as written (property tests).

Events are made the way the runtime makes them: a model call's cost from a pool model's
prices, a retry's delay from a policy, a node's output from an agent's JSON. Numbers the
models refuse never become events; any event that gets as far as `append` is either
refused by it, with nothing written, or read back equal, by the store and by orjson.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agentos.events import Envelope, ModelCalled, NodeRetrying, NodeSucceeded
from agentos.events.limits import MAX_INT, MAX_PRICE, MAX_SECONDS, MAX_TOKENS, MIN_INT
from agentos.events.model import ModelCalledData, NodeRetryingData, NodeSucceededData
from agentos.eventstore import EventRejectedError, EventStore, InMemoryEventStore, JsonlEventStore
from agentos.graphs.policy import RetryPolicy
from agentos.routing.pool import ModelSpec

TS = datetime(2025, 1, 1, tzinfo=UTC)
BACKENDS = ["memory", "jsonl"]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

finite = st.floats(allow_nan=False, allow_infinity=False)
int64 = st.integers(MIN_INT, MAX_INT)
hostile_numbers = st.one_of(
    st.floats(), st.integers(), st.sampled_from([float("inf"), float("nan"), 2**64, -(2**70)])
)


def json_values(numbers: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    leaves = st.one_of(st.none(), st.booleans(), st.text(max_size=8), numbers)
    return st.recursive(
        leaves,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=12,
    )


@st.composite
def model_calls(
    draw: st.DrawFn, price: st.SearchStrategy[Any], tokens: st.SearchStrategy[int]
) -> ModelCalledData:
    """A model call's data as the router records it: cost from the model's prices."""
    spec = ModelSpec(
        name="m",
        context_window=draw(st.integers(1, MAX_TOKENS)),
        price_in_per_1k=draw(price),
        price_out_per_1k=draw(price),
        tier=1,
    )
    tokens_in, tokens_out = draw(tokens), draw(tokens)
    return ModelCalledData(
        provider="p",
        model=spec.name,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost=spec.cost(tokens_in, tokens_out),
        latency_ms=draw(st.floats(0, 1e6)),
        fallbacks=[{"provider": "q", "context_window": spec.context_window}],
    )


@st.composite
def retries(
    draw: st.DrawFn, seconds: st.SearchStrategy[Any], backoff: st.SearchStrategy[Any]
) -> NodeRetryingData:
    """A retry's data as the supervisor records it: the delay from the node's policy."""
    initial = draw(seconds)
    policy = RetryPolicy(
        initial_interval=initial, backoff=draw(backoff), max_interval=initial + draw(seconds)
    )
    return NodeRetryingData(delay=policy.delay(draw(st.integers(1, MAX_INT)), "k"), error="e")


def _event(data: Any, seq: int) -> Envelope:
    node = {"node": "a", "attempt": 1}
    if isinstance(data, ModelCalledData):
        return ModelCalled(seq=seq, run_id="r", ts=TS, data=data, **node)
    if isinstance(data, NodeRetryingData):
        return NodeRetrying(seq=seq, run_id="r", ts=TS, data=data, **node)
    return NodeSucceeded(seq=seq, run_id="r", ts=TS, data=NodeSucceededData(output=data), **node)


def _datas(
    numbers: st.SearchStrategy[Any],
    price: st.SearchStrategy[Any],
    seconds: st.SearchStrategy[Any],
    backoff: st.SearchStrategy[Any],
    tokens: st.SearchStrategy[int],
) -> st.SearchStrategy[Any]:
    return st.one_of(
        model_calls(price, tokens),
        retries(seconds, backoff),
        st.dictionaries(st.text(max_size=5), json_values(numbers), max_size=4),
    )


VALID = _datas(
    finite | int64,
    st.floats(0, MAX_PRICE),
    st.floats(0, MAX_SECONDS / 2),
    st.floats(1, 1e6),
    st.integers(0, MAX_TOKENS),
)
HOSTILE = _datas(
    hostile_numbers, hostile_numbers, hostile_numbers, hostile_numbers, st.integers(0, 2**80)
)


async def _roundtrip(backend: str, events: list[Envelope]) -> list[Envelope]:
    """Append each event on its own; return what was accepted after checking the read."""
    with tempfile.TemporaryDirectory() as tmp:
        store: EventStore = (
            InMemoryEventStore()
            if backend == "memory"
            else JsonlEventStore(Path(tmp), durable=False)
        )
        accepted: list[Envelope] = []
        try:
            for event in events:
                event = event.model_copy(update={"seq": len(accepted) + 1})
                try:
                    await store.append("r", [event], expected_seq=len(accepted))
                except EventRejectedError:
                    assert await store.last_seq("r") == len(accepted)
                    continue
                accepted.append(event)
            if accepted:
                assert await store.read_all("r") == accepted
            if isinstance(store, JsonlEventStore) and accepted:
                for line in store.log_path("r").read_bytes().splitlines():
                    orjson.loads(line)  # the API's JSON reader takes every line too
        finally:
            await store.close()
        return accepted


@pytest.mark.parametrize("backend", BACKENDS)
@SETTINGS
@given(datas=st.lists(VALID, min_size=1, max_size=5))
def test_valid_runtime_events_read_back_as_written(backend: str, datas: list[Any]) -> None:
    events = [_event(d, i + 1) for i, d in enumerate(datas)]
    accepted = asyncio.run(_roundtrip(backend, events))
    assert len(accepted) == len(events)


@st.composite
def _hostile(draw: st.DrawFn) -> Any:
    try:
        return draw(HOSTILE)
    except ValidationError:
        return None  # refused where it is made: it never becomes an event


@pytest.mark.parametrize("backend", BACKENDS)
@SETTINGS
@given(datas=st.lists(_hostile(), min_size=1, max_size=5))
def test_hostile_numbers_are_refused_or_read_back(backend: str, datas: list[Any]) -> None:
    events = []
    for data in datas:
        if data is None:
            continue
        try:
            events.append(_event(data, 1))
        except ValidationError:
            continue
    asyncio.run(_roundtrip(backend, events))


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("backend", BACKENDS)
def test_events_that_slip_past_the_model_are_refused(backend: str) -> None:
    """model_construct skips validation; the append still refuses what the reader would."""
    bad_cost = ModelCalledData.model_construct(
        provider="p", model="m", tokens_in=1, tokens_out=1, cost=float("inf"), latency_ms=1.0
    )
    bad_outputs = [{"x": float("nan")}, {"x": 2**64}, {"x": "\ud800"}, {"x": _nested(210)}]
    events = [ModelCalled.model_construct(seq=1, run_id="r", ts=TS, data=bad_cost)]
    for output in bad_outputs:
        data = NodeSucceededData.model_construct(output=output)
        events.append(NodeSucceeded.model_construct(seq=1, run_id="r", ts=TS, data=data))
    assert asyncio.run(_roundtrip(backend, events)) == []
