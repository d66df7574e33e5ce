"""What a loop decider's choice does: another pass of the body, or the loop's end (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from agentos.graphs.topology import Topology
from agentos.state.run_state import RunState


@dataclass(frozen=True)
class LoopTurn:
    """The successors a decider takes (its `node_succeeded`'s next), and whether its loop
    starts pass `again`, or was `exhausted` (why), or neither."""

    chosen: list[str] | None
    again: int | None = None
    exhausted: str | None = None


def loop_turn(state: RunState, topo: Topology, node: str, chosen: list[str] | None) -> LoopTurn:
    """Choosing the loop's target starts the next pass while passes are left; after the
    last one that edge is gone: the other choices stand, else every successor runs."""
    loop = topo.loops.get(node)
    if loop is None or chosen is None or loop.to not in chosen:
        return LoopTurn(chosen)
    iteration = state.nodes[loop.to].iteration
    if iteration < loop.max_iterations:
        return LoopTurn(chosen, again=iteration + 1)
    others = [n for n in chosen if n != loop.to]
    reason = f"loop {node} -> {loop.to} reached max_iterations {loop.max_iterations}"
    return LoopTurn(others or None, exhausted=reason)
