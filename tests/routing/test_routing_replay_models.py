"""Replays call the models the original recorded, answer identical requests from its log,
and send only what they must; `--model`/`--pool` (or `"model"` over HTTP) make a what-if;
a recorded provider the pool lacks is refused in one line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner
from test_routing_recorded import calls_of, provider
from wire_server import Reply, WireServer

from agentos.api.app import create_app
from agentos.cli import cli

HERE = Path(__file__).parent
NODES = [
    {"name": "first", "agent": "recorded_agents:ask", "context": "helper"},
    {"name": "second", "agent": "recorded_agents:ask", "context": "helper", "after": ["first"]},
    {"name": "third", "agent": "recorded_agents:ask", "context": "helper", "after": ["second"]},
]
GRAPH: dict[str, Any] = {
    "name": "three",
    "context_profiles": {
        "helper": {
            "budget": 2000,
            "sources": [{"kind": "instructions", "text": "Be terse."}, {"kind": "inputs"}],
        }
    },
    "nodes": NODES,
}


@pytest.fixture(autouse=True)
def _agents_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv("AGENTOS_FSYNC", "0")
    monkeypatch.delenv("AGENTOS_POOL", raising=False)


def pool(tmp_path: Path, wire: WireServer, *pairs: tuple[str, str, float]) -> Path:
    """A pool file of openai-kind providers on `wire`: (name, model, price per 1k)."""
    providers = []
    for name, model_name, price in pairs:
        spec = provider(wire, name, model_name)
        spec["models"][0].update(price_in_per_1k=price, price_out_per_1k=price)
        providers.append(spec)
    path = tmp_path / f"pool-{'-'.join(p[0] for p in pairs)}.yaml"
    path.write_text(yaml.safe_dump({"providers": providers}))
    return path


def cli_run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner(env=env).invoke(cli, ["--data", str(tmp_path / "data"), *args])


@pytest.fixture
def source(tmp_path: Path, wire: WireServer, api_key: str) -> str:
    """A finished run of the three nodes, made with the pool of `local` only."""
    graph = tmp_path / "three.yaml"
    graph.write_text(yaml.safe_dump(GRAPH))
    local = pool(tmp_path, wire, ("local", "gpt-test", 1.0))
    result = cli_run(tmp_path, "run", str(graph), "--pool", str(local), "-i", "q=hi", "--json")
    assert result.exit_code == 0, result.output
    assert len(wire.requests) == 3
    return str(json.loads(result.stdout)["run_id"])


def replay(tmp_path: Path, run_id: str, *args: str, env: dict[str, str] | None = None) -> Any:
    return cli_run(tmp_path, "replay", run_id, *args, "--json", env=env)


def test_a_replay_from_a_step_answers_identical_calls_from_the_log(
    tmp_path: Path, wire: WireServer, source: str
) -> None:
    env = {"AGENTOS_POOL": str(pool(tmp_path, wire, ("local", "gpt-test", 1.0)))}
    for step, rerun in (("third", 1), ("first", 3)):
        result = replay(tmp_path, source, "--from-step", step, env=env)
        assert result.exit_code == 0, result.output
        fork = json.loads(result.stdout)["run_id"]
        assert len(wire.requests) == 3  # nothing sent: copied, or answered from the log
        calls = [c["data"] for c in calls_of(tmp_path / "data", fork)]
        assert [c.get("recorded") for c in calls] == [None] * (3 - rerun) + [True] * rerun
        assert all((c["provider"], c["model"]) == ("local", "gpt-test") for c in calls)


def test_a_replay_sends_to_the_recorded_model_not_the_routers_pick(
    tmp_path: Path, wire: WireServer, api_key: str
) -> None:
    graph = tmp_path / "three.yaml"
    graph.write_text(yaml.safe_dump(GRAPH))
    local = pool(tmp_path, wire, ("local", "gpt-test", 1.0))
    wire.script.extend([Reply(), Reply(), Reply(400, {"error": {"message": "nope"}})])
    result = cli_run(tmp_path, "run", str(graph), "--pool", str(local), "--json")
    assert result.exit_code == 1 and len(wire.requests) == 3
    run_id = json.loads(result.stdout)["run_id"]
    # the pool now also has a cheaper model the router would pick
    both = pool(tmp_path, wire, ("local", "gpt-test", 1.0), ("cheap", "gpt-cheap", 0.0))
    result = replay(tmp_path, run_id, "--from-step", "third", env={"AGENTOS_POOL": str(both)})
    assert result.exit_code == 0, result.output
    assert len(wire.requests) == 4  # third had no answer on record: sent, to its model
    assert wire.requests[3].body["model"] == "gpt-test"
    # a what-if with the same pool leaves the choice to the router
    result = replay(tmp_path, run_id, "--from-step", "third", "--pool", str(both))
    assert result.exit_code == 0, result.output
    assert wire.requests[4].body["model"] == "gpt-cheap"


def test_a_what_if_model_sends_only_the_steps_it_reruns(
    tmp_path: Path, wire: WireServer, source: str
) -> None:
    both = pool(tmp_path, wire, ("local", "gpt-test", 1.0), ("other", "gpt-other", 1.0))
    env = {"AGENTOS_POOL": str(both)}
    result = replay(
        tmp_path, source, "--from-step", "second", "--model", "other/gpt-other", env=env
    )
    assert result.exit_code == 0, result.output
    assert [r.body["model"] for r in wire.requests[3:]] == ["gpt-other", "gpt-other"]
    fork = json.loads(result.stdout)["run_id"]
    calls = [c["data"] for c in calls_of(tmp_path / "data", fork)]
    assert [(c["provider"], c.get("recorded")) for c in calls] == [
        ("local", None),  # first: copied
        ("other", None),
        ("other", None),
    ]


def test_a_replay_refuses_a_recorded_provider_the_pool_lacks(
    tmp_path: Path, wire: WireServer, source: str
) -> None:
    runs = sorted(p.name for p in (tmp_path / "data").iterdir())
    result = replay(tmp_path, source, "--from-step", "second")  # the default pool: simulated
    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    assert "provider 'local' is not configured" in line and source in line
    result = replay(tmp_path, source, "--from-step", "second", "--model", "simA/nope")
    assert result.exit_code == 2
    assert "provider 'simA' has no model 'nope'" in result.stderr
    result = replay(tmp_path, source, "--from-step", "second", "--model", "simA")
    assert result.exit_code == 2 and "expected provider/model" in result.stderr
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == runs  # nothing forked
    assert len(wire.requests) == 3


async def test_post_replay_takes_a_model_and_refuses_a_missing_one(
    tmp_path: Path, wire: WireServer, source: str
) -> None:
    app = create_app(tmp_path / "data", allow_agents=["recorded_agents:*"])
    both = yaml.safe_load(
        pool(tmp_path, wire, ("local", "gpt-test", 1.0), ("other", "gpt-other", 1.0)).read_text()
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            assert (await client.post("/graphs", json=GRAPH)).status_code == 200
            res = await client.post("/providerpool", json={"providers": both["providers"][1:]})
            assert res.status_code == 200, res.text
            res = await client.post(f"/runs/{source}/replay", json={"from_step": "third"})
            assert res.status_code == 422
            assert "provider 'local' is not configured" in res.json()["detail"]
            body = {"from_step": "third", "model": "other/gpt-other"}
            res = await client.post(f"/runs/{source}/replay", json=body)
            assert res.status_code == 200, res.text
            fork = res.json()["run_id"]
            for _ in range(500):
                if (await client.get(f"/runs/{fork}")).json()["status"] == "succeeded":
                    break
                await asyncio.sleep(0.02)
    assert [r.body["model"] for r in wire.requests[3:]] == ["gpt-other"]
    assert calls_of(tmp_path / "data", fork)[-1]["data"]["provider"] == "other"
