"""How an agent's failure is shown: its exception type (`KeyError: 'questions'`) in the
progress, the summary and the log; its own TimeoutError as its error, the policy's
timeout as a timeout; the real duration of a failed attempt; where Python looked for
an import-path agent's module."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from cli_support import Invoke, run_ids

from agentos.actors import NodeContext

M = "test_cli_agent_errors"


async def lookup(ctx: NodeContext) -> dict[str, Any]:
    await asyncio.sleep(0.01)
    plan: dict[str, Any] = {}
    return {"first": plan["questions"]}


async def own_timeout(ctx: NodeContext) -> dict[str, Any]:
    raise TimeoutError("the search API did not answer in 60s")


async def endless(ctx: NodeContext) -> dict[str, Any]:
    await asyncio.sleep(30)
    return {}


def graph(tmp_path: Path, agent: str, timeout: float = 120) -> Path:
    policy = {"retry": {"max_attempts": 1}, "timeout": timeout}
    doc = {"name": "g", "nodes": [{"name": "only", "agent": agent, "policy": policy}]}
    path = tmp_path / "g.json"
    path.write_text(json.dumps(doc))
    return path


def failed_event(invoke: Invoke, data: Path) -> dict[str, Any]:
    (run_id,) = run_ids(data)
    lines = invoke("events", run_id, "--json", "--type", "node_failed").stdout.splitlines()
    (event,) = [json.loads(line) for line in lines]
    return dict(event["data"])


def test_a_key_error_is_shown_with_its_type(invoke: Invoke, tmp_path: Path, data: Path) -> None:
    result = invoke("run", str(graph(tmp_path, f"{M}:lookup")))
    assert result.exit_code == 1
    out = result.stdout
    assert "only           failed: KeyError: 'questions'" in out  # the progress line
    assert "error: node only failed: KeyError: 'questions'" in out  # the summary
    event = failed_event(invoke, data)
    assert event["error"] == "KeyError: 'questions'" and event["error_type"] == "KeyError"
    assert event["duration_ms"] > 0  # the attempt's real duration, not 0
    (run_id,) = run_ids(data)
    timeline = invoke("events", run_id, "--type", "node_failed").stdout
    assert "KeyError: 'questions' (final;" in timeline and "KeyError: KeyError" not in timeline


def test_an_agents_own_timeout_is_its_error(invoke: Invoke, tmp_path: Path, data: Path) -> None:
    result = invoke("run", str(graph(tmp_path, f"{M}:own_timeout", timeout=120)))
    assert result.exit_code == 1
    event = failed_event(invoke, data)
    assert event["error"] == "TimeoutError: the search API did not answer in 60s"
    assert "timed out after" not in result.stdout


def test_the_policy_timeout_says_so(invoke: Invoke, tmp_path: Path, data: Path) -> None:
    result = invoke("run", str(graph(tmp_path, f"{M}:endless", timeout=0.2)))
    assert result.exit_code == 1
    event = failed_event(invoke, data)
    assert event["error"] == "timed out after 0.2s (the node's policy timeout)"
    assert event["error_type"] == "TimeoutError" and event["duration_ms"] > 0


def test_a_missing_agent_module_says_where_python_looked(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("run", str(graph(tmp_path, "research_agents_nowhere:planner")))
    assert result.exit_code == 2
    err = result.stderr
    assert "No module named 'research_agents_nowhere'" in err
    assert "looked in sys.path:" in err and str(Path(__file__).parent) in err
    assert "PYTHONPATH" in err
