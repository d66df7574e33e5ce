"""The server's defaults are not the demo's: the default agent registry, and relative
workspace sources resolved against the current directory; the demo's are passed in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from api_support import poll

from agentos.agents import default_registry
from agentos.api.app import create_app
from agentos.demo import registry as demo_agents

SAMPLE = Path(__file__).resolve().parents[2] / "examples/sample_repo"


def _client(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")  # type: ignore[arg-type]


def _workspace_graph(repo: str) -> dict[str, object]:
    node = {"name": "only", "agent": "api_support:echo"}
    return {"name": "ws", "nodes": [node], "workspace": "repo", "inputs": {"repo": repo}}


async def test_an_app_without_agents_runs_the_default_registry(data_dir: Path) -> None:
    app = create_app(data_dir)
    async with app.router.lifespan_context(app), _client(app) as client:
        assert app.state.runtime.agents is default_registry
        res = await client.post("/runs", json={"graph": "git-to-prod-multi", "inputs": {}})
        assert res.status_code == 422, res.text
        assert "unknown agent 'demo.planner'" in res.text
        assert (await client.get("/runs")).json() == []


async def test_a_relative_workspace_is_found_from_the_current_directory(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no examples/sample_repo here, nor a demo fallback
    app = create_app(data_dir, allow_agents=["api_support:*"])
    async with app.router.lifespan_context(app), _client(app) as client:
        assert (
            await client.post("/graphs", json=_workspace_graph("examples/sample_repo"))
        ).is_success
        res = await client.post("/runs", json={"graph": "ws", "inputs": {}})
        assert res.status_code == 422, res.text
        assert str(tmp_path / "examples/sample_repo") in res.json()["detail"]
        (tmp_path / "mine").mkdir()
        (tmp_path / "mine" / "a.py").write_text("x = 1\n")
        res = await client.post("/runs", json={"graph": "ws", "inputs": {"repo": "mine"}})
        assert res.status_code == 200, res.text
        run_id = res.json()["run_id"]
        assert (await poll(client, run_id))[-1] == "succeeded"
        state = (await client.get(f"/runs/{run_id}")).json()
        assert state["inputs"]["repo"] == str(tmp_path / "mine")


async def test_the_demo_resolution_is_injected(data_dir: Path) -> None:
    seen: list[str] = []

    def resolve(source: str) -> Path:
        seen.append(source)
        return SAMPLE

    app = create_app(data_dir, agents=demo_agents, resolve_source=resolve)
    async with app.router.lifespan_context(app), _client(app) as client:
        res = await client.post("/runs", json={"graph": "git-to-prod-multi", "inputs": {}})
        assert res.status_code == 200, res.text
        assert seen == ["examples/sample_repo"]
        assert (await poll(client, res.json()["run_id"]))[-1] == "succeeded"


def test_serving_the_api_never_loads_the_demo(tmp_path: Path) -> None:
    code = (
        "import asyncio, sys\n"
        "from agentos.api.app import create_app\n"
        "async def main():\n"
        "    app = create_app(sys.argv[1])\n"
        "    async with app.router.lifespan_context(app):\n"
        "        pass\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in sys.modules if m.startswith('agentos.demo')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "[]", done.stderr
