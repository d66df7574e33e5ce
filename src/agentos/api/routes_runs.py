"""Runs: create, list, inspect, follow and replay."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from agentos.api import sse
from agentos.api.models import (
    EventList,
    ReplayAccepted,
    ReplayRequest,
    RunAccepted,
    RunRequest,
    RunSummary,
)
from agentos.api.routes_resources import graph_or_404, runtime
from agentos.api.runtime import Runtime
from agentos.events.codec import to_dict
from agentos.eventstore.base import StoreError, UnknownRunError
from agentos.state.fold import UnknownStepError
from agentos.state.run_state import RunState

router = APIRouter(tags=["runs"])


async def state_or_404(rt: Runtime, run_id: str) -> RunState:
    """The run's folded state, else a 404."""
    try:
        return await rt.state(run_id)
    except (UnknownRunError, ValueError):
        raise HTTPException(404, f"unknown run {run_id!r}") from None


def summary(state: RunState) -> RunSummary:
    """The runs-list line of a run."""
    origin = state.replayed_from
    return RunSummary(
        run_id=state.run_id,
        graph=state.graph,
        status=state.status,
        events=state.last_seq,
        started=state.created_at,
        duration=state.duration_s(),
        replayed_from=origin.source_run if origin else None,
    )


@router.post("/runs", response_model=RunAccepted, status_code=200)
async def create_run(body: RunRequest, request: Request) -> RunAccepted:
    """Create a run; it executes in the background (poll GET /runs/{id} or stream it)."""
    rt = runtime(request)
    graph_or_404(rt, body.graph)
    try:
        run_id = await rt.start_run(body.graph, body.inputs, body.budget)
    except (ValueError, FileNotFoundError) as exc:
        raise HTTPException(422, str(exc)) from None
    return RunAccepted(run_id=run_id, status="pending")


@router.get("/runs", response_model=list[RunSummary])
async def list_runs(request: Request) -> list[RunSummary]:
    """Every run, newest first."""
    return [summary(s) for s in await runtime(request).states()]


@router.get("/runs/{run_id}", response_model=RunState)
async def get_run(run_id: str, request: Request) -> RunState:
    """The run's state folded from its events: status, nodes, usage."""
    return await state_or_404(runtime(request), run_id)


@router.get("/runs/{run_id}/events", response_model=EventList)
async def get_events(
    run_id: str,
    request: Request,
    after: Annotated[int, Query(ge=0, description="only events with a greater seq")] = 0,
    type: Annotated[str | None, Query(description="event types, comma-separated")] = None,
    node: Annotated[str | None, Query(description="only events of this node")] = None,
) -> EventList:
    """The run's events, in order, optionally filtered."""
    rt = runtime(request)
    await state_or_404(rt, run_id)
    try:
        events = await rt.store.read_all(run_id)
    except StoreError as exc:
        raise HTTPException(500, str(exc)) from None
    last = events[-1].seq if events else 0
    types = {t.strip() for t in type.split(",")} if type else None
    kept = [
        to_dict(e)
        for e in events
        if e.seq > after
        and (types is None or e.type in types)  # type: ignore[attr-defined]
        and (node is None or e.node == node)
    ]
    return EventList(run_id=run_id, last_seq=last, count=len(kept), events=kept)


@router.get(
    "/runs/{run_id}/events/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "SSE frames"}},
)
async def stream_events(
    run_id: str,
    request: Request,
    after: Annotated[int, Query(ge=0)] = 0,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """The run's events as server-sent events, live, ending after the terminal event."""
    rt = runtime(request)
    state = await state_or_404(rt, run_id)
    # a start past the log's end would wait forever for seqs the run will never reach
    start = min(sse.resume_after(after, last_event_id), state.last_seq)
    ended = state.finished and start >= state.last_seq
    return StreamingResponse(
        sse.stream(rt.store, run_id, start, ended),
        media_type="text/event-stream",
        headers=sse.HEADERS,
    )


@router.post("/runs/{run_id}/replay", response_model=ReplayAccepted)
async def replay_run(run_id: str, body: ReplayRequest, request: Request) -> ReplayAccepted:
    """Fork a new run from a step (a node name or a seq) of this one and execute it."""
    rt = runtime(request)
    state = await state_or_404(rt, run_id)
    graph_or_404(rt, state.graph)
    try:
        new_id = await rt.replay(run_id, body.from_step)
    except UnknownStepError as exc:
        raise HTTPException(422, f"cannot replay from {body.from_step!r}: {exc}") from None
    new = await rt.state(new_id)
    assert new.replayed_from is not None
    return ReplayAccepted(run_id=new_id, status=new.status, replayed_from=new.replayed_from)
