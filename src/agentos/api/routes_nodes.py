"""One node of a run in full: GET /runs/{id}/nodes/{node}."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from agentos._exceptions import CorruptLogError, StoreError
from agentos.api.node_detail import NodeDetail, node_detail, resolve
from agentos.api.routes_resources import runtime
from agentos.api.routes_runs import corrupt_409, state_or_404
from agentos.state.fold import fold

router = APIRouter(tags=["runs"])


@router.get("/runs/{run_id}/nodes/{node}", response_model=NodeDetail)
async def get_node(run_id: str, node: str, request: Request) -> NodeDetail:
    """A node of the run in full: its input (params, run inputs, its predecessors'
    outputs), output, error (type and message), attempts, model calls and manifest.

    `node` is a name, a map instance (`researcher[2]`) or a loop pass (`writer#2`,
    with `#` encoded as `%23`); 404 when the run has no such node."""
    rt = runtime(request)
    await state_or_404(rt, run_id)
    try:
        events = await rt.store.read_all(run_id)
    except CorruptLogError as exc:
        raise corrupt_409(rt, run_id, exc) from None
    state = fold(events)
    where = resolve(state, node)
    if where is None:
        raise HTTPException(404, f"run {run_id} has no node {node!r}")
    detail = node_detail(state, events, where)
    for attempt in detail.attempts:
        name = (attempt.manifest or {}).get("context_artifact")
        if isinstance(name, str):
            try:
                doc = await rt.store.get_artifact(run_id, name)
            except StoreError:
                continue  # an artifact that is gone leaves the manifest without its text
            text = doc.get("text") if isinstance(doc, dict) else None
            attempt.context_text = text if isinstance(text, str) else None
    return detail
