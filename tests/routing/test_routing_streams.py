"""Streamed answers of both kinds through the official SDKs against the loopback server:
deltas as they arrive, the whole answer at the end, a cut stream a retryable failure."""

from __future__ import annotations

import asyncio
import threading

import pytest
from wire_server import TOKENS_IN, TOKENS_OUT, Reply, WireServer

from agentos.routing import ModelSpec, ProviderPool, ProviderSpec, Router
from agentos.routing.messages import Chat, ChatMessage, Tool
from agentos.routing.router import AllProvidersFailedError

MODEL = ModelSpec(
    name="m-test", context_window=8_000, price_in_per_1k=0.5, price_out_per_1k=2.0, tier=1
)
KINDS = ["openai", "anthropic"]


def router(wire: WireServer, kind: str) -> Router:
    base = wire.url + "/v1" if kind == "openai" else wire.url
    spec = ProviderSpec(
        name="p", kind=kind, base_url=base, api_key_env="AGENTOS_TEST_LLM_KEY", models=[MODEL]
    )
    return Router(ProviderPool(providers=[spec]), max_wait=5)


@pytest.mark.parametrize("kind", KINDS)
async def test_deltas_arrive_and_add_up_to_the_answer(
    wire: WireServer, api_key: str, kind: str
) -> None:
    r = router(wire, kind)
    seen: list[tuple[int, str]] = []
    response, _ = await r.call(
        "hello", r.select(10, 50), 50, 1, on_token=lambda n, text: seen.append((n, text))
    )
    assert wire.requests[0].body["stream"] is True
    expected = "answer 1 to user"
    assert response.text == expected
    assert len(seen) > 1 and "".join(t for _, t in seen) == expected  # piece by piece
    assert {n for n, _ in seen} == {0}
    assert (response.tokens_in, response.tokens_out) == (TOKENS_IN, TOKENS_OUT)
    assert response.cost == pytest.approx((TOKENS_IN * 0.5 + TOKENS_OUT * 2.0) / 1000)
    assert response.finish_reason in ("stop", "end_turn")


@pytest.mark.parametrize("kind", KINDS)
async def test_a_streamed_tool_call_comes_back_whole(
    wire: WireServer, api_key: str, kind: str
) -> None:
    r = router(wire, kind)
    chat = Chat(messages=[ChatMessage(role="user", content="n?")], tools=[Tool(name="lookup")])
    response, _ = await r.call("n?", r.select(10, 50), 50, 1, chat=chat, on_token=lambda n, t: None)
    [call] = response.tool_calls
    assert call.name == "lookup" and call.id in ("call_1", "toolu_1")
    assert call.arguments.replace(" ", "") == '{"n":1}'


@pytest.mark.parametrize("kind", KINDS)
async def test_a_cut_stream_is_retried_and_the_retry_is_marked(
    wire: WireServer, api_key: str, kind: str
) -> None:
    wire.script.append(Reply(cut=3))
    r = router(wire, kind)
    seen: list[tuple[int, str]] = []
    with pytest.raises(AllProvidersFailedError) as failed:
        await r.call("hello", r.select(10, 50), 50, 1, on_token=lambda n, t: seen.append((n, t)))
    # a cut without Retry-After drops the only candidate: the attempt fails, retryable
    assert not failed.value.refused
    assert "stream cut" in failed.value.attempts[0].error  # type: ignore[operator]
    assert len(wire.requests) == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_a_cut_stream_falls_back_to_the_next_candidate(
    wire: WireServer, api_key: str, kind: str
) -> None:
    base = wire.url + "/v1" if kind == "openai" else wire.url
    specs = [
        ProviderSpec(
            name=name, kind=kind, base_url=base, api_key_env="AGENTOS_TEST_LLM_KEY", models=[MODEL]
        )
        for name in ("first", "second")
    ]
    r = Router(ProviderPool(providers=specs), max_wait=5)
    wire.script.append(Reply(cut=4))
    seen: list[tuple[int, str]] = []
    response, attempts = await r.call(
        "hello", r.select(10, 50), 50, 1, on_token=lambda n, t: seen.append((n, t))
    )
    assert [a.ok for a in attempts] == [False, True]
    assert "stream cut" in (attempts[0].error or "")
    assert response.text == "answer 2 to user"
    # the second try's deltas carry its number: a listener drops the first try's
    assert "".join(t for n, t in seen if n == 1) == response.text
    assert {n for n, _ in seen} <= {0, 1}


@pytest.mark.parametrize("kind", KINDS)
async def test_deltas_come_before_the_answer_ends(
    wire: WireServer, api_key: str, kind: str
) -> None:
    pause = threading.Event()
    wire.script.append(Reply(pause=pause))
    r = router(wire, kind)
    first = asyncio.Event()
    seen: list[str] = []

    def on_token(n: int, text: str) -> None:
        seen.append(text)
        first.set()

    call = asyncio.create_task(r.call("hello", r.select(10, 50), 50, 1, on_token=on_token))
    try:
        await asyncio.wait_for(first.wait(), 10)
        assert not call.done()  # the server holds the rest back: it came live
    finally:
        pause.set()
    response, _ = await call
    assert "".join(seen) == response.text
