"""Graph shapes and counters shared by the runtime tests."""

from __future__ import annotations

from typing import Any

from agentos.actors import NodeContext

EIGHT = [
    "planner",
    "py_fixer",
    "fe_fixer",
    "test_writer",
    "aggregator",
    "tester",
    "security",
    "release",
]


def eight_node_graph(agent: str = "sleepy", **node_extra: Any) -> dict[str, Any]:
    """The 8-node shape: one node, three in parallel, a join, three in a row."""
    after = {
        "py_fixer": ["planner"],
        "fe_fixer": ["planner"],
        "test_writer": ["planner"],
        "aggregator": ["py_fixer", "fe_fixer", "test_writer"],
        "tester": ["aggregator"],
        "security": ["tester"],
        "release": ["security"],
    }
    return {
        "name": "eight",
        "nodes": [
            {"name": n, "agent": agent, "after": after.get(n, []), **node_extra} for n in EIGHT
        ],
    }


class Calls:
    """Counts agent executions per (run, node)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def hit(self, ctx: NodeContext) -> int:
        key = (ctx.run_id, ctx.node)
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key]
