"""Provider kind `anthropic` through the official SDK against a real loopback server."""

from __future__ import annotations

import pytest
from wire_server import TOKENS_IN, TOKENS_OUT, Reply, WireServer

from agentos.routing import ModelSpec, ProviderPool, ProviderSpec, Router
from agentos.routing.messages import Chat, ChatMessage, Tool
from agentos.routing.router import AllProvidersFailedError

MODEL = ModelSpec(
    name="claude-test", context_window=8_000, price_in_per_1k=3.0, price_out_per_1k=15.0, tier=2
)


def router(wire: WireServer) -> Router:
    spec = ProviderSpec(
        name="ant",
        kind="anthropic",
        base_url=wire.url,
        api_key_env="AGENTOS_TEST_LLM_KEY",
        models=[MODEL],
    )
    return Router(ProviderPool(providers=[spec]))


async def test_system_turn_tools_usage_and_tool_use(wire: WireServer, api_key: str) -> None:
    r = router(wire)
    tool = Tool(name="lookup", parameters={"type": "object"})
    turns = [
        ChatMessage(role="system", content="be brief"),
        ChatMessage(role="user", content="what is n?"),
    ]
    chat = Chat(messages=turns, tools=[tool], temperature=0.3, stop=["END"])
    first, _ = await r.call(chat.text(), r.select(10, 30), 30, seed=1, chat=chat)
    try:
        [call] = first.tool_calls
        assert (call.id, call.name, call.arguments) == ("toolu_1", "lookup", '{"n": 1}')
        assert first.finish_reason == "tool_use"
        assert (first.tokens_in, first.tokens_out) == (TOKENS_IN, TOKENS_OUT)
        assert first.cost == pytest.approx((TOKENS_IN * 3.0 + TOKENS_OUT * 15.0) / 1000)
        seen = wire.requests[0]
        assert seen.path == "/v1/messages"
        bearer = seen.headers.get("authorization", "").removeprefix("Bearer ")
        assert api_key in (seen.headers.get("x-api-key"), bearer)  # SDK releases differ
        assert seen.body["system"] == "be brief"
        assert seen.body["messages"] == [
            {"role": "user", "content": [{"type": "text", "text": "what is n?"}]}
        ]
        assert seen.body["tools"] == [
            {"name": "lookup", "description": "", "input_schema": {"type": "object"}}
        ]
        assert (seen.body["max_tokens"], seen.body["temperature"]) == (30, 0.3)
        assert seen.body["stop_sequences"] == ["END"]
        answer = ChatMessage(role="tool", content="n is 1", tool_call_id=call.id)
        chat2 = Chat(messages=[*turns, first.message(), answer], tools=[tool])
        second, _ = await r.call(chat2.text(), r.select(10, 30), 30, seed=1, chat=chat2)
        assert second.text == "answer 2 to system,user,assistant,user"
        sent = wire.requests[1].body["messages"]
        assert sent[1] == {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"n": 1}}],
        }
        assert sent[2] == {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "n is 1"}],
        }
    finally:
        await r.aclose()


async def test_a_429_then_success_and_a_400_refusal(wire: WireServer, api_key: str) -> None:
    body = {"type": "error", "error": {"type": "rate_limit_error", "message": "too many"}}
    wire.script.append(Reply(429, body, {"retry-after": "0"}))
    r = router(wire)
    try:
        response, attempts = await r.call("hi", r.select(10, 10), 10, seed=1)
        assert response.text == "answer 2 to user"
        assert [a.ok for a in attempts] == [False, True]
        assert attempts[0].error == "ant/claude-test: HTTP 429: too many"
        refusal = {"type": "error", "error": {"type": "invalid_request_error", "message": "no"}}
        wire.script.append(Reply(400, refusal))
        with pytest.raises(AllProvidersFailedError, match=r"request refused: .*HTTP 400: no"):
            await r.call("hi", r.select(10, 10), 10, seed=1)
        assert len(wire.requests) == 3
    finally:
        await r.aclose()
