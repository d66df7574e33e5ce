"""Graph nodes, pure: the id and inputs of the child run a node starts."""

from __future__ import annotations

import hashlib
from typing import Any

from agentos.graphs.topology import Topology
from agentos.state.run_state import RunState

_MAX_ID = 128  # a run id is one path component (see `_names.safe_name`)


def child_run_id(run_id: str, node: str, iteration: int, attempt: int) -> str:
    """`run-1.notify` for the first attempt of the first pass, then `.pass2`, `.try2`:
    the same id on every resume, so the child is found again, never started twice."""
    child = f"{run_id}.{node}"
    if iteration > 1:
        child += f".pass{iteration}"
    if attempt > 1:
        child += f".try{attempt}"
    if len(child) > _MAX_ID:
        digest = hashlib.sha256(child.encode()).hexdigest()[:16]
        child = f"{run_id[: _MAX_ID - 17]}.{digest}"
    return child


def child_inputs(state: RunState, topo: Topology, node: str) -> dict[str, Any]:
    """A child run's inputs: the parent run's inputs, overridden by the node's params."""
    return {**state.inputs, **topo.node(node).params}
