"""Runs: create, list, inspect, follow, cancel and replay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, get_args

import orjson
from fastapi import APIRouter, Body, Header, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse

from agentos._exceptions import (
    CorruptLogError,
    EventRejectedError,
    InvalidInputError,
    InvalidNameError,
    RunExistsError,
    RunLockedError,
    RunStalledError,
    StoreError,
    UnknownRunError,
    UnknownStepError,
)
from agentos.actors.stall import as_stall
from agentos.api import sse
from agentos.api.models import (
    CorruptRunSummary,
    EventList,
    ReplayAccepted,
    ReplayRequest,
    RunAccepted,
    RunRequest,
    RunSummary,
)
from agentos.api.replay_models import replay_models
from agentos.api.routes_resources import fresh, graph_or_404, runtime
from agentos.api.runs_stream import run_changes
from agentos.api.runtime import CorruptRun, Runtime
from agentos.api.stalls import RunView, http_status
from agentos.events.codec import to_dict
from agentos.events.model import Envelope
from agentos.state.fold import starts_step
from agentos.state.run_state import RunState, RunStatus

router = APIRouter(tags=["runs"])


async def state_or_404(rt: Runtime, run_id: str) -> RunState:
    """The run's folded state, else a 404 (no such run, or an id no run can have) or a
    409 (a corrupt log); any other error is a bug (500)."""
    try:
        return await rt.state(run_id)
    except CorruptLogError as exc:
        raise corrupt_409(rt, run_id, exc) from None
    except (UnknownRunError, InvalidNameError):
        raise HTTPException(404, f"unknown run {run_id!r}") from None


def corrupt_message(rt: Runtime, run_id: str, exc: CorruptLogError) -> str:
    """What is wrong with a run's log: the file in the data dir, the line, the reason."""
    return f"run {run_id!r} has a corrupt log: {exc.describe(rt.data_dir)}"


def corrupt_409(rt: Runtime, run_id: str, exc: CorruptLogError) -> HTTPException:
    """The 409 of a request on a run whose log exists but cannot be read."""
    return HTTPException(409, corrupt_message(rt, run_id, exc))


def stall_error(exc: RunStalledError) -> HTTPException:
    """507 (disk full) or 503 (another I/O failure), with the reason as JSON."""
    return HTTPException(http_status(exc), str(exc))


def summary(run: RunState | CorruptRun) -> RunSummary:
    """The runs-list line of a run."""
    if isinstance(run, CorruptRun):
        prefix = run.prefix
        return CorruptRunSummary(
            run_id=run.run_id,
            graph=prefix.graph,
            status=run.status,
            events=prefix.last_seq,
            started=prefix.created_at,
            duration=prefix.duration_s(),
            error=run.error,
        )
    state = run
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
    rt = await fresh(request)  # a graph another member registered is known too
    graph_or_404(rt, body.graph)
    try:
        run_id = await rt.start_run(body.graph, body.inputs, body.budget)
    except (InvalidInputError, EventRejectedError, FileNotFoundError) as exc:
        raise HTTPException(422, str(exc)) from None
    except RunExistsError as exc:
        raise HTTPException(409, str(exc)) from None
    except (RunStalledError, OSError) as exc:  # e.g. the workspace snapshot met a full disk
        raise stall_error(as_stall("new", exc)) from None
    return RunAccepted(run_id=run_id, status="pending")


#: what `GET /runs?status=` may ask for
LISTED_STATUSES = (*get_args(RunStatus), "corrupt")


def matches(run: RunState | CorruptRun, graphs: set[str] | None, q: str) -> bool:
    """Whether a run is of one of `graphs` and has `q` in its id or its inputs' JSON."""
    state = run.prefix if isinstance(run, CorruptRun) else run
    if graphs is not None and state.graph not in graphs:
        return False
    if not q:
        return True
    inputs = orjson.dumps(state.inputs).decode("utf-8", "replace")
    return q in run.run_id.lower() or q in inputs.lower()


@router.get(
    "/runs",
    response_model=list[RunSummary | CorruptRunSummary],
    responses={200: {"headers": {"X-Total-Count": {"description": "runs that match"}}}},
)
async def list_runs(
    request: Request,
    response: Response,
    status: Annotated[str | None, Query(description="statuses, comma-separated")] = None,
    graph: Annotated[str | None, Query(description="graph names, comma-separated")] = None,
    q: Annotated[str | None, Query(max_length=200, description="in the id or inputs")] = None,
    limit: Annotated[int | None, Query(ge=1, le=1000, description="at most this many")] = None,
    offset: Annotated[int, Query(ge=0, description="skip this many matches")] = 0,
) -> list[RunSummary]:
    """The runs that match, newest first (every run without filters); the count of all
    matches is in the `X-Total-Count` header. A run whose log cannot be read has status
    `corrupt` and an `error` naming the file and line."""
    statuses = {s.strip() for s in status.split(",") if s.strip()} if status else None
    unknown = sorted((statuses or set()) - set(LISTED_STATUSES))
    if unknown:
        valid = ", ".join(LISTED_STATUSES)
        raise HTTPException(422, f"unknown status {', '.join(unknown)}: use one of {valid}")
    graphs = {g.strip() for g in graph.split(",") if g.strip()} if graph else None
    needle = (q or "").strip().lower()
    found = [
        run
        for run in await runtime(request).listing()
        if (statuses is None or run.status in statuses) and matches(run, graphs, needle)
    ]
    response.headers["X-Total-Count"] = str(len(found))
    end = None if limit is None else offset + limit
    return [summary(s) for s in found[offset:end]]


@router.get(
    "/runs/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "SSE frames"}},
)
async def stream_runs(request: Request) -> StreamingResponse:
    """The runs list, live, as server-sent events: an `event: run` frame with a run's
    summary (as in GET /runs) each time a run appears or its summary changes, an
    `event: removed` frame with `{"run_id"}` when a run is deleted. Nothing is sent for
    runs as they were when the stream began: read GET /runs once it is open."""
    rt = runtime(request)
    return StreamingResponse(
        run_changes(rt.listing, summary, request.is_disconnected),
        media_type="text/event-stream",
        headers=sse.HEADERS,
    )


@router.get("/runs/{run_id}", response_model=RunView)
async def get_run(run_id: str, request: Request) -> RunState:
    """The run's state folded from its events: status, nodes, usage.

    `stalled` (with `stalled_reason`) when an append failed: resume it once the disk
    is healthy (POST /runs/{id}/resume)."""
    return await state_or_404(runtime(request), run_id)


@router.post("/runs/{run_id}/resume", response_model=RunView)
async def resume_run(run_id: str, request: Request) -> RunState:
    """Carry on a stalled or interrupted run from its log; its state after the resume."""
    rt = await fresh(request)
    state = await state_or_404(rt, run_id)
    graph_or_404(rt, state.graph)
    try:
        return await rt.resume(run_id)
    except RunStalledError as exc:
        raise stall_error(exc) from None
    except RunLockedError as exc:  # another process drives it
        raise HTTPException(409, str(exc)) from None


@router.post("/runs/{run_id}/cancel", response_model=RunView)
async def cancel_run(
    run_id: str,
    request: Request,
    reason: Annotated[
        str, Body(embed=True, min_length=1, max_length=500, description="recorded in the log")
    ] = "cancelled by the user",
) -> RunState:
    """Cancel a run: running nodes are stopped, nothing new starts; its state once its
    log ends `cancelled`. A run another process drives is cancelled by that process.

    409 when the run had already ended (nothing changes), 503 when its owner did not
    cancel it within 10 s."""
    rt = await fresh(request)
    state = await state_or_404(rt, run_id)
    if state.finished:
        raise HTTPException(409, f"run {run_id} already ended: {state.status}")
    graph_or_404(rt, state.graph)
    try:
        state = await rt.supervisor(state.graph).cancel(run_id, reason)
    except TimeoutError:
        raise HTTPException(503, f"run {run_id}: its owner did not cancel it in time") from None
    except RunLockedError as exc:
        raise HTTPException(409, str(exc)) from None
    except RunStalledError as exc:
        raise stall_error(exc) from None
    if state.status != "cancelled":
        raise HTTPException(409, f"run {run_id} ended {state.status} before the cancel")
    return await rt.state(run_id)


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
    except CorruptLogError as exc:
        raise corrupt_409(rt, run_id, exc) from None
    except StoreError as exc:
        raise HTTPException(500, str(exc)) from None
    last = events[-1].seq if events else 0
    types = {t.strip() for t in type.split(",")} if type else None
    kept = [
        to_dict(e)
        for e in events
        if e.seq > after and (types is None or e.type in types) and (node is None or e.node == node)
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
    """The run's events as server-sent events, live, ending after the terminal event.

    A corrupt log's stream has the events before the bad line, then an `error` frame
    whose `detail` names the file and line.
    """
    rt = runtime(request)
    start = sse.resume_after(after, last_event_id)
    ended = False
    try:
        state = await state_or_404(rt, run_id)
    except HTTPException as exc:
        if exc.status_code != 409:
            raise
    else:
        # a start past the log's end would wait forever for seqs the run will never reach
        start = min(start, state.last_seq)
        ended = state.finished and start >= state.last_seq
    return StreamingResponse(
        until_corrupt(
            rt,
            run_id,
            sse.stream(rt.store, run_id, start, ended, rt.stall_watch(run_id)),
        ),
        media_type="text/event-stream",
        headers=sse.HEADERS,
    )


async def until_corrupt(
    rt: Runtime, run_id: str, frames: AsyncIterator[bytes]
) -> AsyncIterator[bytes]:
    """The frames, ended by an `error` frame (without an id) if the log is corrupt."""
    try:
        async for chunk in frames:
            yield chunk
    except CorruptLogError as exc:
        body = orjson.dumps({"detail": corrupt_message(rt, run_id, exc)})
        yield b"event: error\ndata: %s\n\n" % body


def replay_step(step: str | int) -> int | str:
    """A replay step as the CLI reads it: an int, or a string of digits, is a seq;
    anything else a node (`tester`, `researcher[1]`, `writer#2`)."""
    if isinstance(step, str) and step.strip().isdigit():
        return int(step.strip())
    return step


def valid_steps(events: list[Envelope]) -> str:
    """The steps a replay of this log may start from, for a 422."""
    started: list[str] = []
    for event in events:
        name = event.node
        if name is None:
            continue
        step = name if (event.iteration or 1) == 1 else f"{name}#{event.iteration}"
        if step not in started and starts_step(event, step):
            started.append(step)
    return f"a seq 1..{len(events)} or a node it started: {', '.join(started) or 'none'}"


@router.post("/runs/{run_id}/replay", response_model=ReplayAccepted)
async def replay_run(run_id: str, body: ReplayRequest, request: Request) -> ReplayAccepted:
    """Fork a new run from a step of this one and execute it: a node name (`tester`,
    `researcher[1]`, `writer#2`) or a seq, given as a number or a string of digits.
    `model` and `pool` make it a what-if (docs/providers.md).

    422 for a step the run lacks, listing the steps it has."""
    rt = await fresh(request)
    state = await state_or_404(rt, run_id)
    graph_or_404(rt, state.graph)
    step = replay_step(body.from_step)
    try:
        what_if = await replay_models(rt, run_id, step, body.model, body.pool)
        new_id = await rt.replay(run_id, step, what_if, body.pool)
    except UnknownStepError as exc:
        events = await rt.store.read_all(run_id)
        detail = f"cannot replay from {body.from_step!r}: {exc}; steps: {valid_steps(events)}"
        raise HTTPException(422, detail) from None
    except CorruptLogError as exc:
        raise corrupt_409(rt, run_id, exc) from None
    new = await rt.state(new_id)
    assert new.replayed_from is not None
    return ReplayAccepted(run_id=new_id, status=new.status, replayed_from=new.replayed_from)
