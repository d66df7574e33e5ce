"""Runs whose model calls go to a real OpenAI-compatible server on loopback: through the
Supervisor, the CLI (`--pool`, AGENTOS_POOL) and the API; the key never lands anywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner
from wire_server import TOKENS_IN, TOKENS_OUT, Reply, WireServer

from agentos.actors import Supervisor
from agentos.api.app import create_app
from agentos.cli import cli
from agentos.eventstore import JsonlEventStore
from agentos.routing.pool_file import load_pool
from agentos.routing.router import Router

HERE = Path(__file__).parent

GRAPH = """\
name: chat
context_profiles:
  helper:
    budget: 2000
    sources:
      - {kind: instructions, text: "You are terse."}
      - {kind: inputs}
nodes:
  - {name: ask, agent: "chat_agents:ask", context: helper}
  - {name: converse, agent: "chat_agents:converse", context: helper, after: [ask]}
"""


def pool_doc(wire: WireServer) -> dict[str, object]:
    model = {
        "name": "gpt-test",
        "context_window": 8000,
        "price_in_per_1k": 1.0,
        "price_out_per_1k": 4.0,
        "tier": 1,
    }
    provider = {
        "name": "local",
        "kind": "openai",
        "base_url": wire.url + "/v1",
        "api_key_env": "AGENTOS_TEST_LLM_KEY",
        "timeout": 10,
        "models": [model],
    }
    return {"providers": [provider]}


@pytest.fixture(autouse=True)
def _agents_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv("AGENTOS_FSYNC", "0")


@pytest.fixture
def graph(tmp_path: Path) -> Path:
    path = tmp_path / "chat.yaml"
    path.write_text(GRAPH)
    return path


@pytest.fixture
def pool_file(tmp_path: Path, wire: WireServer) -> Path:
    path = tmp_path / "pool.yaml"
    path.write_text(yaml.safe_dump(pool_doc(wire)))
    return path


def holds(root: Path, secret: str) -> list[Path]:
    """The files under `root` that contain `secret`."""
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


async def test_a_supervised_run_calls_the_server(
    tmp_path: Path, wire: WireServer, api_key: str, graph: Path, pool_file: Path
) -> None:
    data = tmp_path / "data"
    store = JsonlEventStore(data)
    async with Supervisor.start(graph, store, pool=load_pool(pool_file)) as sup:
        run_id = await sup.start_run({"question": "what is n?"})
        state = await sup.wait(run_id)
    await store.close()
    assert state.status == "succeeded", state
    assert state.nodes["ask"].output == {"text": "answer 1 to system,user", "tokens_in": TOKENS_IN}
    assert state.nodes["converse"].output == {
        "calls": ["lookup"],
        "text": "answer 3 to system,user,assistant,tool",
    }
    # the system turn holds the profile's instructions, the user turn the rest
    system, user = wire.requests[0].body["messages"]
    assert system == {"role": "system", "content": "You are terse."}
    assert user["role"] == "user" and "what is n?" in user["content"]
    assert "You are terse." not in user["content"]
    assert wire.requests[1].body["temperature"] == 0.0
    lines = (data / run_id / "events.jsonl").read_text().splitlines()
    calls = [json.loads(line) for line in lines if '"model_called"' in line]
    assert len(calls) == 3
    for call in calls:
        assert call["data"]["provider"] == "local" and call["data"]["model"] == "gpt-test"
        assert (call["data"]["tokens_in"], call["data"]["tokens_out"]) == (TOKENS_IN, TOKENS_OUT)
        assert call["data"]["cost"] == pytest.approx((TOKENS_IN * 1.0 + TOKENS_OUT * 4.0) / 1000)
    assert holds(tmp_path, api_key) == []


async def test_stop_closes_the_router_it_made_not_one_it_was_given(
    tmp_path: Path, wire: WireServer, api_key: str, graph: Path, pool_file: Path
) -> None:
    """The SDK clients' connections are closed when the supervisor that made the router
    stops (`pool=`); a router passed in belongs to the caller and stays open."""
    store = JsonlEventStore(tmp_path / "data")
    async with Supervisor.start(graph, store, pool=load_pool(pool_file)) as sup:
        await sup.wait(await sup.start_run({"question": "what is n?"}))
        made = sup.router
        assert made is not None and not made.providers["local"].closed
    assert made.providers["local"].closed
    given = Router(load_pool(pool_file))
    async with Supervisor.start(graph, store, router=given) as sup:
        await sup.wait(await sup.start_run({"question": "what is n?"}))
    assert not given.providers["local"].closed
    await given.aclose()
    assert given.providers["local"].closed
    await store.close()


async def test_a_refused_request_fails_the_node_once(
    tmp_path: Path, wire: WireServer, api_key: str, graph: Path, pool_file: Path
) -> None:
    wire.script.append(Reply(400, {"error": {"message": f"bad request from {api_key}"}}))
    data = tmp_path / "data"
    store = JsonlEventStore(data)
    async with Supervisor.start(graph, store, pool=load_pool(pool_file)) as sup:
        run_id = await sup.wait(await sup.start_run({"question": "q"}))
    await store.close()
    assert run_id.status == "failed"
    assert len(wire.requests) == 1
    events = [
        json.loads(line) for line in next(data.glob("*/events.jsonl")).read_text().splitlines()
    ]
    [called] = [e for e in events if e["type"] == "model_called"]
    assert called["data"]["ok"] is False
    assert "HTTP 400: bad request from [redacted]" in called["data"]["error"]
    assert holds(tmp_path, api_key) == []


def test_cli_run_with_a_pool_file(
    tmp_path: Path, wire: WireServer, api_key: str, graph: Path, pool_file: Path
) -> None:
    data = tmp_path / "data"
    args = ["--data", str(data), "run", str(graph), "-i", "question=hi", "--pool", str(pool_file)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert len(wire.requests) == 3
    assert api_key not in result.output
    assert holds(tmp_path, api_key) == []
    assert not (data / ".catalog" / "providerpool.json").exists()  # for that run only


def test_agentos_pool_names_the_pool_file(
    tmp_path: Path, wire: WireServer, api_key: str, graph: Path, pool_file: Path
) -> None:
    args = ["--data", str(tmp_path / "data"), "run", str(graph)]
    env = {"AGENTOS_POOL": str(pool_file)}
    result = CliRunner(env=env).invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert len(wire.requests) == 3


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("providers: [", "not YAML or JSON"),
        ("- 1\n- 2\n", "providers.0: Input should be a valid dictionary"),
        ("providers:\n  - {name: x, kind: gpt, models: []}\n", "providers.0.kind: Input should be"),
        ("providers:\n  - {name: x, api_key_env: 'sk-abc!', models: []}\n", "api_key_env"),
    ],
)
def test_a_bad_pool_file_is_one_line_and_exit_2(
    tmp_path: Path, graph: Path, content: str, problem: str
) -> None:
    path = tmp_path / "pool.yaml"
    path.write_text(content)
    data = tmp_path / "data"
    args = ["--data", str(data), "run", str(graph), "--pool", str(path)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    first = result.output.strip().splitlines()[0]
    assert first.startswith(f"error: pool file {path}: ") and problem in first, result.output
    assert not data.exists()


def test_a_missing_pool_file_is_exit_2(tmp_path: Path, graph: Path) -> None:
    args = ["run", str(graph), "--pool", str(tmp_path / "nope.yaml")]
    result = CliRunner().invoke(cli, ["--data", str(tmp_path / "data"), *args])
    assert result.exit_code == 2
    assert "pool file" in result.output and "No such file" in result.output


def test_a_kind_whose_sdk_is_missing_names_the_extra(
    tmp_path: Path, graph: Path, pool_file: Path
) -> None:
    # the SDK made unimportable in a fresh interpreter, as on an install without the extra
    code = (
        "import sys; sys.modules['openai'] = None; from agentos.cli import main; "
        f"sys.argv = ['agentos', '--data', {str(tmp_path / 'data')!r}, 'run', "
        f"{str(graph)!r}, '--pool', {str(pool_file)!r}]; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2, done.stderr
    assert "pip install 'agentos[openai]'" in done.stderr
    assert "kind 'openai'" in done.stderr


async def test_post_providerpool_takes_the_real_kinds(
    tmp_path: Path, wire: WireServer, api_key: str
) -> None:
    data = tmp_path / "data"
    app = create_app(data)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            doc = pool_doc(wire)
            anthropic = {**doc["providers"][0], "name": "ant", "kind": "anthropic"}  # type: ignore[index]
            doc["providers"].append(anthropic)
            res = await client.post("/providerpool", json=doc)
            assert res.status_code == 200, res.text
            bad = {"providers": [{**anthropic, "api_key_env": api_key + "!"}]}
            res = await client.post("/providerpool", json=bad)
            assert res.status_code == 422
            assert "api_key_env" in res.text
    stored = json.loads((data / ".catalog" / "providerpool.json").read_text())
    assert [p["kind"] for p in stored["providers"]] == ["openai", "anthropic"]
    assert stored["providers"][0]["api_key_env"] == "AGENTOS_TEST_LLM_KEY"
    assert holds(tmp_path, api_key) == []
