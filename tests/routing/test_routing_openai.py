"""Provider kind `openai` through the official SDK against a real loopback server."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest
from wire_server import TOKENS_IN, TOKENS_OUT, Reply, WireServer

from agentos.routing import ModelSpec, ProviderPool, ProviderSpec, Router
from agentos.routing.messages import Chat, ChatMessage, Tool
from agentos.routing.router import AllProvidersFailedError

MODEL = ModelSpec(
    name="gpt-test", context_window=8_000, price_in_per_1k=0.5, price_out_per_1k=2.0, tier=1
)


def spec(wire: WireServer, name: str = "oai", **kw: object) -> ProviderSpec:
    fields: dict[str, object] = {
        "name": name,
        "kind": "openai",
        "base_url": wire.url + "/v1",
        "api_key_env": "AGENTOS_TEST_LLM_KEY",
        "models": [MODEL],
        **kw,
    }
    return ProviderSpec.model_validate(fields)


def router(*specs: ProviderSpec, max_wait: float = 30.0) -> Router:
    return Router(ProviderPool(providers=list(specs)), max_wait=max_wait)


async def test_usage_and_cost_come_from_the_response(wire: WireServer, api_key: str) -> None:
    r = router(spec(wire))
    response, attempts = await r.call("hello", r.select(10, 50), max_tokens=50, seed=1)
    assert response.text == "answer 1 to user"
    assert (response.tokens_in, response.tokens_out) == (TOKENS_IN, TOKENS_OUT)
    assert response.cost == pytest.approx((TOKENS_IN * 0.5 + TOKENS_OUT * 2.0) / 1000)
    assert response.provider == "oai" and response.model == "gpt-test"
    assert response.latency_ms > 0
    assert [a.ok for a in attempts] == [True]
    seen = wire.requests[0]
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["authorization"] == f"Bearer {api_key}"
    assert seen.body["model"] == "gpt-test"
    assert seen.body["max_tokens"] == 50
    assert seen.body["messages"] == [{"role": "user", "content": "hello"}]


async def test_roles_tools_and_settings_go_out_and_tool_calls_come_back(
    wire: WireServer, api_key: str
) -> None:
    r = router(spec(wire))
    tool = Tool(name="lookup", description="find a fact", parameters={"type": "object"})
    turns = [
        ChatMessage(role="system", content="be brief"),
        ChatMessage(role="user", content="what is n?"),
    ]
    chat = Chat(messages=turns, tools=[tool], temperature=0.2, stop=["END"])
    first, _ = await r.call(chat.text(), r.select(10, 20), 20, seed=1, chat=chat)
    assert first.finish_reason == "tool_calls"
    [call] = first.tool_calls
    assert (call.id, call.name, call.arguments) == ("call_1", "lookup", '{"n": 1}')
    sent = wire.requests[0].body
    assert sent["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "what is n?"},
    ]
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "description": "find a fact",
                "parameters": {"type": "object"},
            },
        }
    ]
    assert (sent["temperature"], sent["stop"]) == (0.2, ["END"])
    # the conversation goes on with the model's turn and the tool's answer
    answer = ChatMessage(role="tool", content="n is 1", tool_call_id=call.id)
    chat2 = Chat(messages=[*turns, first.message(), answer], tools=[tool])
    second, _ = await r.call(chat2.text(), r.select(10, 20), 20, seed=1, chat=chat2)
    assert second.text == "answer 2 to system,user,assistant,tool"
    assert second.tool_calls == []
    sent2 = wire.requests[1].body["messages"]
    assert sent2[2]["tool_calls"] == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "lookup", "arguments": '{"n": 1}'},
        }
    ]
    assert sent2[3] == {"role": "tool", "tool_call_id": "call_1", "content": "n is 1"}


async def test_a_429_waits_its_retry_after_then_succeeds(wire: WireServer, api_key: str) -> None:
    wire.script.append(Reply(429, {"error": {"message": "slow down"}}, {"Retry-After": "1"}))
    r = router(spec(wire))
    response, attempts = await r.call("hi", r.select(10, 10), 10, seed=1)
    assert response.text == "answer 2 to user"
    assert len(wire.requests) == 2
    failed, ok = attempts
    assert failed.ok is False and failed.retry_after == 1.0
    assert failed.error is not None and "HTTP 429: slow down" in failed.error
    assert ok.ok is True and ok.provider == "oai"


async def test_a_429_whose_wait_outlasts_the_call_falls_back(
    wire: WireServer, api_key: str
) -> None:
    wire.script.append(Reply(429, {"error": {"message": "busy"}}, {"retry-after-ms": "60000"}))
    cheap = spec(wire, "a")
    dear = spec(wire, "b", models=[MODEL.model_copy(update={"price_in_per_1k": 9.0})])
    r = router(cheap, dear, max_wait=5.0)
    response, attempts = await r.call("hi", r.select(10, 10), 10, seed=1)
    assert response.provider == "b"
    assert [(a.provider, a.ok, a.retry_after) for a in attempts] == [
        ("a", False, 60.0),
        ("b", True, None),
    ]


async def test_a_400_fails_the_call_without_retry_and_redacts_the_key(
    wire: WireServer, api_key: str
) -> None:
    # a server that echoes the credentials it got into its error message
    message = f"invalid request: bad stop (credentials Bearer {api_key})"
    wire.script.append(Reply(400, {"error": {"message": message, "type": "invalid_request"}}))
    r = router(spec(wire, "a"), spec(wire, "b"))
    with pytest.raises(AllProvidersFailedError) as caught:
        await r.call("hi", r.select(10, 10), 10, seed=1)
    assert len(wire.requests) == 1  # neither retried nor sent to the other candidate
    text = str(caught.value)
    assert "HTTP 400: invalid request: bad stop" in text
    assert api_key not in text and "[redacted]" in text
    assert caught.value.refused is True
    assert [a.ok for a in caught.value.attempts] == [False]


async def test_a_500_falls_back_to_the_next_candidate(wire: WireServer, api_key: str) -> None:
    wire.script.append(Reply(500, {"error": {"message": "boom"}}))
    dear = MODEL.model_copy(update={"price_in_per_1k": 9.0})
    r = router(spec(wire, "a"), spec(wire, "b", models=[dear]))
    response, attempts = await r.call("hi", r.select(10, 10), 10, seed=1)
    assert response.provider == "b"
    assert attempts[0].provider == "a" and attempts[0].error is not None
    assert "HTTP 500: boom" in attempts[0].error


async def test_a_timeout_is_retryable(wire: WireServer, api_key: str) -> None:
    wire.script.append(Reply(delay=2.0))
    slow = spec(wire, "a", timeout=0.2)
    dear = spec(wire, "b", models=[MODEL.model_copy(update={"price_in_per_1k": 9.0})])
    r = router(slow, dear)
    response, attempts = await r.call("hi", r.select(10, 10), 10, seed=1)
    assert response.provider == "b"
    assert attempts[0].error == "a/gpt-test: timed out after 0.2s"


async def test_an_unset_key_variable_is_named(wire: WireServer) -> None:
    r = router(spec(wire, api_key_env="AGENTOS_TEST_UNSET_KEY"))
    with pytest.raises(AllProvidersFailedError, match="AGENTOS_TEST_UNSET_KEY is not set"):
        await r.call("hi", r.select(10, 10), 10, seed=1)
    assert wire.requests == []


async def test_a_provider_cap_holds_over_all_its_models(wire: WireServer, api_key: str) -> None:
    gate = threading.Event()
    wire.script.append(Reply(gate=gate))
    two = [MODEL, MODEL.model_copy(update={"name": "gpt-other"})]
    r = router(spec(wire, models=two, max_in_flight=1))
    first = asyncio.create_task(r.call("one", r.select(10, 10, preferred=["gpt-test"]), 10, seed=1))
    await until(lambda: len(wire.requests) == 1)
    other = r.select(10, 10, preferred=["gpt-other"])
    with pytest.raises(AllProvidersFailedError, match="saturated"):
        await r.call("two", other, 10, seed=2, max_wait=0.0)
    second = asyncio.create_task(r.call("two", other, 10, seed=2))
    await until(lambda: r.waiting("oai", "gpt-other") == 1)
    assert len(wire.requests) == 1  # the cap holds the other model's call back
    gate.set()
    (done, _), (answered, _) = await asyncio.gather(first, second)
    assert (done.model, answered.model) == ("gpt-test", "gpt-other")
    assert len(wire.requests) == 2


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not condition():
            await asyncio.sleep(0.01)
