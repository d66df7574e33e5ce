"""Runs that stalled on a failed append, as the API shows them until they are resumed."""

from __future__ import annotations

from typing import Literal

from agentos.actors.stall import RunStalledError
from agentos.state.run_state import RunState, RunStatus


class RunView(RunState):
    """A run's state as GET /runs/{id} shows it: `stalled` when an append failed."""

    status: RunStatus | Literal["stalled"] = "pending"  # type: ignore[assignment]
    stalled_reason: str | None = None
    stalled_code: str | None = None


def stalled_view(state: RunState, stall: RunStalledError) -> RunView:
    """The folded state of a stalled run, with its status and reason."""
    fields = {**dict(state), "status": "stalled", "error": stall.reason}
    return RunView.model_construct(**fields, stalled_reason=stall.reason, stalled_code=stall.code)


def http_status(stall: RunStalledError) -> int:
    """507 Insufficient Storage when the disk is full, else 503 Service Unavailable."""
    return 507 if stall.no_space else 503
