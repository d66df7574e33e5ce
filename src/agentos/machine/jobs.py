"""What an attempt is given: its job, built from the run's state (pure)."""

from __future__ import annotations

import zlib
from typing import Any

from agentos._addresses import index_of, node_of
from agentos.context.manifest import CompiledContext
from agentos.context.profile import ContextProfile
from agentos.graphs.topology import Topology
from agentos.machine.effects import Dispatch, Prepare
from agentos.machine.facts import Prepared
from agentos.machine.maps import map_outputs
from agentos.routing.router import Selection
from agentos.state.run_state import RunState


def node_outputs(state: RunState) -> dict[str, Any]:
    """The recorded outputs of every node that succeeded so far; a node of a loop's body
    that has not yet succeeded in this pass gives its output of the pass before (the
    reviewer's comments reach the writer); a map node gives the list of its instances'
    outputs, in item order (the instances are not listed on their own)."""
    outputs: dict[str, Any] = {}
    for name, node in state.nodes.items():
        if node.status == "succeeded" and node.output is not None:
            output = node.output
        elif node.previous_output is not None:
            output = node.previous_output
        else:
            continue
        if node.instances is not None:
            outputs[name] = map_outputs(output)
        elif "[" not in name:
            outputs[name] = output
    return outputs


def node_upstream(state: RunState, topo: Topology, name: str) -> dict[str, dict[str, Any]]:
    """Status, output and error of each direct predecessor: what a join decides on."""
    nodes = state.nodes
    return {
        pred: {
            "status": nodes[pred].status,
            "output": map_outputs(nodes[pred].output)
            if nodes[pred].instances is not None
            else nodes[pred].output,
            "error": nodes[pred].error,
        }
        for pred in topo.predecessors(name)
    }


def map_item(state: RunState, name: str) -> tuple[Any, int | None]:
    """A map instance's item and index; (None, None) for any other node."""
    index = index_of(name)
    items = state.nodes[node_of(name)].items if index is not None else None
    if items is None or index is None or index >= len(items):
        return None, None
    return items[index], index


def dispatch(
    state: RunState,
    topo: Topology,
    name: str,
    attempt: int,
    workspace_root: str | None,
    prepared: Prepared | None = None,
) -> Dispatch:
    """The job of one attempt, as its node actor runs it."""
    item, index = map_item(state, name)
    return Dispatch(
        run_id=state.run_id,
        node=name,
        attempt=attempt,
        inputs=state.inputs,
        outputs=node_outputs(state),
        upstream=node_upstream(state, topo, name),
        params=topo.node(name).params,
        timeout=topo.policy(name).timeout,
        context=prepared.context if prepared else None,
        model=prepared.model if prepared else None,
        workspace_root=workspace_root,
        seed=zlib.crc32(f"{name}:{attempt}".encode()),
        item=item,
        index=index,
        stream=topo.policy(name).stream,
    )


def preparation(
    state: RunState,
    topo: Topology,
    name: str,
    attempt: int,
    profile: ContextProfile,
    *,
    artifacts: dict[str, Any],
    workspace_root: str | None,
    max_tier: int | None,
) -> Prepare:
    """What compiling an attempt's context and choosing its model need."""
    policy = topo.policy(name)
    item, index = map_item(state, name)
    inputs = state.inputs if index is None else {**state.inputs, "item": item, "index": index}
    return Prepare(
        run_id=state.run_id,
        node=name,
        attempt=attempt,
        profile_name=topo.node(name).context or "",
        profile=profile,
        inputs=inputs,
        outputs=node_outputs(state),
        artifacts=dict(artifacts),
        workspace_root=workspace_root,
        min_tier=policy.min_tier if max_tier is None else 1,
        max_tier=max_tier,
        preferred=list(policy.preferred_models),
    )


def context_artifact(manifest_sha256: str) -> str:
    """The artifact name under which an attempt's context text is kept."""
    return f"context-{manifest_sha256[:16]}"


def context_compiled(profile: str, context: CompiledContext) -> dict[str, Any]:
    """The data of an attempt's `context_compiled` event."""
    manifest = context.manifest
    return {
        "profile": profile,
        "manifest": manifest.model_dump(mode="json"),
        "context_artifact": context_artifact(manifest.context_sha256),
    }


def model_selected(model: Selection) -> dict[str, Any]:
    """The data of an attempt's `model_selected` event."""
    return {
        "provider": model.chosen.provider,
        "model": model.chosen.model,
        "reason": model.reason,
        "candidates": [c.model_dump(mode="json") for c in model.candidates],
    }
