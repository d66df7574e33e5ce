"""LangGraph side of the comparison: the 8-node graph with no-op async nodes."""

from __future__ import annotations

import asyncio
import operator
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph

PARALLEL = ("py_fixer", "fe_fixer", "test_writer")
CHAIN = ("tester", "security", "release")
VARIANTS = ("no checkpointer", "InMemorySaver", "AsyncSqliteSaver (file)")


class State(TypedDict):
    """The run's state: its input and every node's result, merged with `|`."""

    task: int
    results: Annotated[dict[str, Any], operator.or_]


def _node(name: str) -> Callable[[State], Coroutine[Any, Any, dict[str, Any]]]:
    async def node(state: State) -> dict[str, Any]:
        return {"results": {name: {"ok": True}}}

    return node


async def _join(state: State) -> dict[str, Any]:
    merged = {k: state["results"][k] for k in PARALLEL}
    return {"results": {"aggregator": {"merged": len(merged)}}}


def builder() -> StateGraph[State]:
    """planner → 3 in parallel → aggregator (join) → tester → security → release."""
    g: StateGraph[State] = StateGraph(State)
    g.add_node("planner", _node("planner"))
    for name in (*PARALLEL, *CHAIN):
        g.add_node(name, _node(name))
    g.add_node("aggregator", _join)
    g.add_edge(START, "planner")
    for name in PARALLEL:
        g.add_edge("planner", name)
    g.add_edge(list(PARALLEL), "aggregator")
    g.add_edge("aggregator", "tester")
    g.add_edge("tester", "security")
    g.add_edge("security", "release")
    g.add_edge("release", END)
    return g


@asynccontextmanager
async def saver(variant: str, tmp: Path) -> AsyncIterator[BaseCheckpointSaver[Any] | None]:
    """A fresh checkpointer for one round (or None)."""
    if variant == VARIANTS[0]:
        yield None
    elif variant == VARIANTS[1]:
        yield InMemorySaver()
    else:
        async with AsyncSqliteSaver.from_conn_string(str(tmp / "checkpoints.sqlite")) as s:
            yield s


async def run_round(
    variant: str, tmp: Path, runs: int, parallel: bool, warm: bool = False
) -> tuple[float, float]:
    """Wall seconds of `runs` runs (one after another or all at once), checkpoints per run;
    `warm`: one untimed run first (as AgentOS's warm rounds)."""
    async with saver(variant, tmp) as cp:
        graph = builder().compile(checkpointer=cp)

        async def one(i: int) -> None:
            config = {"configurable": {"thread_id": f"t{i}"}}
            out = await graph.ainvoke({"task": i, "results": {}}, config)  # type: ignore[arg-type]
            assert len(out["results"]) == 8, out

        if warm:
            await one(-1)
        t0 = time.perf_counter()
        if parallel:
            await asyncio.gather(*(one(i) for i in range(runs)))
        else:
            for i in range(runs):
                await one(i)
        wall = time.perf_counter() - t0
        checkpoints = 0
        if cp is not None:
            checkpoints = len([c async for c in cp.alist({"configurable": {"thread_id": "t0"}})])
    return wall, float(checkpoints)
