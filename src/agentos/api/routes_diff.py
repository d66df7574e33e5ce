"""The diff of two runs: `GET /runs/{a}/diff/{b}`."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from agentos._exceptions import CorruptLogError, StoreError
from agentos.api.routes_resources import runtime
from agentos.api.routes_runs import corrupt_409, state_or_404
from agentos.api.runtime import Runtime
from agentos.events.model import Envelope
from agentos.state.diff import RunDiff, diff_runs

router = APIRouter(tags=["runs"])


async def events_or_404(rt: Runtime, run_id: str) -> list[Envelope]:
    """Every event of the run; 404 for an unknown run, 409 for a corrupt log."""
    await state_or_404(rt, run_id)
    try:
        return await rt.store.read_all(run_id)
    except CorruptLogError as exc:
        raise corrupt_409(rt, run_id, exc) from None
    except StoreError as exc:
        raise HTTPException(500, str(exc)) from None


async def run_diff(rt: Runtime, run_a: str, run_b: str) -> RunDiff:
    """The diff of two runs of the runtime's store, with HTTP errors."""
    return diff_runs(await events_or_404(rt, run_a), await events_or_404(rt, run_b))


@router.get("/runs/{run_a}/diff/{run_b}", response_model=RunDiff)
async def diff(run_a: str, run_b: str, request: Request) -> RunDiff:
    """Compare two runs (e.g. a replay with its source): per step (node, map instance
    `node[i]`, loop pass `node#2`) whether it ran in both, its status, output
    differences, model, tokens and cost; and `diverged`, the first seq where the logs
    differ (events compared without run id, timestamps and durations)."""
    return await run_diff(runtime(request), run_a, run_b)
