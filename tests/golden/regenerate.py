"""Regenerate the golden event logs (only for an intentional event schema change).

    .venv/bin/python tests/golden/regenerate.py [name ...]

Runs each scenario with the current code and writes tests/golden/<name>/events.jsonl (the
log as the JSONL store wrote it), state.json (canonical(fold(events))) and state_hash.txt.
Without names, every scenario is regenerated. Review the diff before committing it: a
changed state.json for an unchanged log means the fold changed meaning.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE.parent / "actors"))

from runtime_shapes import eight_node_graph  # noqa: E402

from agentos.actors import Next, NodeContext, Supervisor  # noqa: E402
from agentos.agents import AgentRegistry  # noqa: E402
from agentos.eventstore import JsonlEventStore  # noqa: E402
from agentos.state import RunState, canonical, fold, state_hash  # noqa: E402

FAST = {"initial_interval": 0.01, "max_interval": 0.05}


def _registry() -> AgentRegistry:
    reg = AgentRegistry()
    tries: dict[tuple[str, str], int] = {}

    async def noop(ctx: NodeContext) -> dict[str, Any]:
        return {"node": ctx.node}

    async def flaky(ctx: NodeContext) -> dict[str, Any]:
        key = (ctx.run_id, ctx.node)
        tries[key] = tries.get(key, 0) + 1
        if tries[key] < 2:
            raise RuntimeError(f"flaky failure {tries[key]}")
        return {"attempt": ctx.attempt}

    async def boom(ctx: NodeContext) -> dict[str, Any]:
        raise ValueError(f"{ctx.node} is broken")

    async def slow(ctx: NodeContext) -> dict[str, Any]:
        await asyncio.sleep(5)
        return {}

    async def chooser(ctx: NodeContext) -> Next:
        return Next(["left"], {"chose": "left"})

    for name, fn in [
        ("noop", noop),
        ("flaky", flaky),
        ("boom", boom),
        ("slow", slow),
        ("chooser", chooser),
    ]:
        reg.register(name, fn)
    return reg


RETRY_FAILURE = {
    "name": "retry-failure",
    "nodes": [
        {"name": "fetch", "agent": "flaky", "policy": {"retry": {"max_attempts": 3, **FAST}}},
        {"name": "build", "agent": "noop", "after": ["fetch"]},
        {
            "name": "lint",
            "agent": "boom",
            "after": ["fetch"],
            "policy": {"retry": {"max_attempts": 2, **FAST}, "on_failure": "continue"},
        },
        {"name": "docs", "agent": "slow", "after": ["fetch"]},
        {"name": "deploy", "agent": "boom", "after": ["build", "lint"]},
    ],
}

CONDITIONAL = {
    "name": "conditional",
    "nodes": [
        {"name": "choose", "agent": "chooser"},
        {"name": "left", "agent": "noop", "after": ["choose"]},
        {"name": "right", "agent": "noop", "after": ["choose"]},
        {"name": "right_2", "agent": "noop", "after": ["right"]},
        {"name": "end", "agent": "noop", "after": ["left", "right_2"]},
    ],
}


async def _graph_run(data: Path, graph: dict[str, Any], replay_from: str | None = None) -> str:
    store = JsonlEventStore(data)
    sup = Supervisor.start(graph, store, agents=_registry(), workdir=data)
    try:
        state = await sup.run(timeout=30)
        run_id = state.run_id
        if replay_from is not None:
            run_id = await sup.replay(run_id, replay_from)
            await sup.wait(run_id, timeout=30)
    finally:
        await sup.stop()
        await store.close()
    return run_id


async def eight_noop(data: Path) -> str:
    """The 8-node graph with no-op agents."""
    return await _graph_run(data, eight_node_graph("noop"))


async def retry_failure(data: Path) -> str:
    """A retried node that succeeds, one that fails twice, a failed run, a cancelled node."""
    return await _graph_run(data, RETRY_FAILURE)


async def conditional(data: Path) -> str:
    """A conditional edge: the branch not chosen is skipped."""
    return await _graph_run(data, CONDITIONAL)


async def replayed(data: Path) -> str:
    """The 8-node run replayed from `tester`: the fork's log."""
    return await _graph_run(data, eight_node_graph("noop"), replay_from="tester")


async def demo(data: Path) -> str:
    """The git-to-prod-multi demo: context, model selection and calls, workspace writes."""
    from rich.console import Console

    from agentos.demo.run import run_demo

    result = await run_demo(data_dir=data, console=Console(file=io.StringIO()))
    return result.run_id


SCENARIOS: dict[str, Callable[[Path], Awaitable[str]]] = {
    "eight-noop": eight_noop,
    "retry-failure": retry_failure,
    "conditional": conditional,
    "replayed": replayed,
    "demo": demo,
}


def state_json(state: RunState) -> bytes:
    """The stored form of a folded state: canonical, sorted, indented."""
    return orjson.dumps(canonical(state), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)


async def regenerate(name: str) -> None:
    """Run scenario `name` and store its log and folded state under tests/golden/<name>/."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        run_id = await SCENARIOS[name](data)
        store = JsonlEventStore(data)
        try:
            state = fold(await store.read_all(run_id))
        finally:
            await store.close()
        out = HERE / name
        out.mkdir(exist_ok=True)
        shutil.copyfile(store.log_path(run_id), out / "events.jsonl")
    (out / "state.json").write_bytes(state_json(state) + b"\n")
    (out / "state_hash.txt").write_text(state_hash(state) + "\n")
    print(f"{name}: {state.last_seq} events, {state.status}, {state_hash(state)[:16]}")


def main(names: list[str]) -> None:
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        raise SystemExit(f"unknown scenarios {unknown}; known: {sorted(SCENARIOS)}")
    for name in names or list(SCENARIOS):
        asyncio.run(regenerate(name))


if __name__ == "__main__":
    main(sys.argv[1:])
