"""Signals: POST /runs/{id}/signals/{name}, what a waiting node waits for."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request

from agentos._exceptions import InvalidInputError, RunEndedError, RunLockedError
from agentos.api.routes_resources import graph_or_404, runtime
from agentos.api.routes_runs import state_or_404
from agentos.api.stalls import RunView
from agentos.state.run_state import RunState

router = APIRouter(tags=["runs"])

EXAMPLE = {"approved": True, "by": "ana", "comment": "ship it"}


@router.post(
    "/runs/{run_id}/signals/{name}",
    response_model=RunView,
    responses={409: {"description": "the run has ended, or another process drives it"}},
)
async def send_signal(
    run_id: str,
    name: str,
    request: Request,
    body: Annotated[dict[str, Any] | None, Body(examples=[EXAMPLE])] = None,
) -> RunState:
    """Send the signal `name` (its payload: the JSON object in the body) to the run.

    The node waiting for it takes it at once (an approval is `{"approved": true, "by":
    ..., "comment": ...}`; `"approved": false` rejects); a signal no node waits for yet
    is kept until one does. For a run that no process drives, it is recorded and taken
    when the run resumes. 404 unknown run, 409 ended run (or one another process
    drives: the message names its pid), 422 a payload that is not a bounded JSON object.
    """
    rt = runtime(request)
    state = await state_or_404(rt, run_id)
    if state.finished:
        raise HTTPException(409, f"run {run_id} has ended ({state.status}): no more signals")
    graph_or_404(rt, state.graph)
    try:
        return await rt.supervisor(state.graph).signal(run_id, name, body)
    except InvalidInputError as exc:
        raise HTTPException(422, str(exc)) from None
    except (RunEndedError, RunLockedError) as exc:
        raise HTTPException(409, str(exc)) from None
