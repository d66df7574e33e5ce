"""Recorded answers are never paid for twice: after kill -9 and resume, on a retry, and on
a replay, a call the log answered is not sent again (the loopback server counts)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from wire_server import TOKENS_IN, TOKENS_OUT, Reply, WireServer

from agentos.actors import Supervisor
from agentos.eventstore import JsonlEventStore
from agentos.routing.pool_file import load_pool

HERE = Path(__file__).parent
SRC = HERE.parents[1] / "src"
COST = (TOKENS_IN * 1.0 + TOKENS_OUT * 4.0) / 1000

PROFILE = """\
context_profiles:
  helper:
    budget: 2000
    sources:
      - {kind: instructions, text: "You are terse."}
      - {kind: inputs}
"""
HELD = f"name: held\n{PROFILE}nodes:\n  - {{name: ask, agent: 'recorded_agents:ask_then_hold', context: helper}}\n"  # noqa: E501
RETRIED = f"""name: retried
{PROFILE}nodes:
  - name: ask
    agent: "recorded_agents:ask_then_fail_once"
    context: helper
    policy: {{retry: {{max_attempts: 2, initial_interval: 0.01}}}}
"""


def model(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "context_window": 8000,
        "price_in_per_1k": 1.0,
        "price_out_per_1k": 4.0,
        "tier": 1,
    }


def provider(wire: WireServer, name: str, model_name: str) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "openai",
        "base_url": wire.url + "/v1",
        "api_key_env": "AGENTOS_TEST_LLM_KEY",
        "timeout": 10,
        "models": [model(model_name)],
    }


@pytest.fixture(autouse=True)
def _agents_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv("AGENTOS_FSYNC", "0")


@pytest.fixture
def pool_file(tmp_path: Path, wire: WireServer) -> Path:
    path = tmp_path / "pool.yaml"
    path.write_text(yaml.safe_dump({"providers": [provider(wire, "local", "gpt-test")]}))
    return path


def events_of(data: Path, run_id: str) -> list[dict[str, Any]]:
    lines = (data / run_id / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def calls_of(data: Path, run_id: str) -> list[dict[str, Any]]:
    return [e for e in events_of(data, run_id) if e["type"] == "model_called"]


def wait_for(check: Any, what: str, bound: float = 60.0) -> Any:
    """Poll `check` until it gives something true, at most `bound` seconds."""
    end = time.monotonic() + bound
    while time.monotonic() < end:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


async def test_a_run_killed_after_its_call_was_recorded_resumes_without_sending_it(
    tmp_path: Path, wire: WireServer, api_key: str, pool_file: Path
) -> None:
    graph = tmp_path / "held.yaml"
    graph.write_text(HELD)
    data = tmp_path / "data"
    release = tmp_path / "release"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), str(SRC)]),
        "AGENTOS_FSYNC": "0",
    }
    code = "import sys; from agentos.cli import main; sys.argv[0] = 'agentos'; main()"
    args = ["--data", str(data), "run", str(graph), "--pool", str(pool_file)]
    args += ["-i", f"release={release}"]
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def recorded() -> str | None:
            for log in data.glob("[!.]*/events.jsonl"):
                if '"model_called"' in log.read_text():
                    return log.parent.name
            return None

        run_id = wait_for(recorded, "the model call to be recorded")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    assert len(wire.requests) == 1
    [first] = calls_of(data, run_id)
    assert first["data"]["call"] == 0 and len(first["data"]["request_sha256"]) == 64
    assert first["data"]["response"]["text"] == "answer 1 to system,user"

    release.touch()
    store = JsonlEventStore(data)
    async with Supervisor.start(graph, store, pool=load_pool(pool_file)) as sup:
        await sup.resume(run_id)
        state = await sup.wait(run_id)
    await store.close()
    assert state.status == "succeeded", state
    assert len(wire.requests) == 1  # nothing was sent again
    assert state.nodes["ask"].output == {"text": "answer 1 to system,user", "attempt": 2}
    again = calls_of(data, run_id)[1]["data"]
    assert again["recorded"] is True
    assert (again["cost"], again["tokens_in"], again["tokens_out"]) == (0.0, 0, 0)
    assert again["original"]["cost"] == pytest.approx(COST)
    assert again["original"]["seq"] == first["seq"]
    assert state.usage.cost == pytest.approx(COST)  # paid once


def long_answer(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-long",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-test",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": TOKENS_IN, "completion_tokens": TOKENS_OUT, "total_tokens": 1},
    }


async def test_a_retry_is_answered_from_the_record_a_large_one_from_its_artifact(
    tmp_path: Path, wire: WireServer, api_key: str, pool_file: Path
) -> None:
    graph = tmp_path / "retried.yaml"
    graph.write_text(RETRIED)
    big = "word " * 5000  # 25 kB: an artifact, not inline
    wire.script.append(Reply(body=long_answer(big)))
    data = tmp_path / "data"
    store = JsonlEventStore(data)
    async with Supervisor.start(graph, store, pool=load_pool(pool_file)) as sup:
        run_id = await sup.start_run({"question": "q"})
        state = await sup.wait(run_id)
    await store.close()
    assert state.status == "succeeded", state
    assert len(wire.requests) == 2  # the first attempt's two calls, and no more
    calls = [c["data"] for c in calls_of(data, run_id)]
    second = calls[1]["response"]["text"]
    assert state.nodes["ask"].output == {"first": big, "second": second, "attempt": 2}
    assert [(c["call"], c.get("recorded")) for c in calls] == [
        (0, None),
        (1, None),
        (0, True),
        (1, True),
    ]
    assert "response" not in calls[0]
    name = calls[0]["response_artifact"]
    assert json.loads((data / run_id / f"{name}.json").read_text())["text"] == big
    assert calls[1]["response"]["text"] == "answer 2 to system,user"
    assert [c["request_sha256"] for c in calls[2:]] == [c["request_sha256"] for c in calls[:2]]


async def test_a_changed_request_is_sent_again(
    tmp_path: Path, wire: WireServer, api_key: str, pool_file: Path
) -> None:
    graph = tmp_path / "retried.yaml"
    graph.write_text(RETRIED.replace("ask_then_fail_once", "ask_per_attempt"))
    data = tmp_path / "data"
    store = JsonlEventStore(data)
    async with Supervisor.start(graph, store, pool=load_pool(pool_file)) as sup:
        run_id = await sup.start_run({"question": "q"})
        state = await sup.wait(run_id)
    await store.close()
    assert state.status == "succeeded", state
    # attempt 1: two calls; attempt 2: the same first call (from the record), and a
    # second one whose prompt names the attempt: a new request, sent
    assert len(wire.requests) == 3
    assert wire.requests[2].body["messages"][-1]["content"] == "attempt 2"
    calls = [c["data"] for c in calls_of(data, run_id)]
    assert [c.get("recorded") for c in calls] == [None, None, True, None]
    assert state.usage.calls == 4 and state.usage.cost == pytest.approx(3 * COST)


LOOPED = f"""name: looped
{PROFILE}nodes:
  - {{name: writer, agent: "recorded_agents:draft", context: helper}}
  - name: reviewer
    agent: "recorded_agents:review"
    after: [writer]
    loop: {{to: writer, max_iterations: 2}}
  - {{name: publish, agent: "recorded_agents:publish", after: [reviewer]}}
"""


async def test_each_loop_pass_has_its_own_answers(
    tmp_path: Path, wire: WireServer, api_key: str, pool_file: Path
) -> None:
    graph = tmp_path / "looped.yaml"
    graph.write_text(LOOPED)
    data = tmp_path / "data"
    store = JsonlEventStore(data)
    async with Supervisor.start(graph, store, pool=load_pool(pool_file)) as sup:
        run_id = await sup.start_run({})
        state = await sup.wait(run_id)
        # pass 2 made the very request pass 1 made: a pass of its own, so it was sent
        assert len(wire.requests) == 2
        fork = await sup.replay(run_id, "writer#2")
        replayed = await sup.wait(fork)
    await store.close()
    assert state.status == replayed.status == "succeeded"
    assert state.nodes["publish"].output == {"published": "answer 2 to system,user"}
    assert len(wire.requests) == 2  # the replayed pass was answered from the log
    assert replayed.nodes["publish"].output == {"published": "answer 2 to system,user"}
    again = calls_of(data, fork)[-1]
    assert again["iteration"] == 2 and again["data"]["recorded"] is True
