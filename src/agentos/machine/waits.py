"""Wait nodes, pure: what a signal's payload means for the node that takes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agentos.state.run_state import RunState, Waiting


def rejection(payload: dict[str, Any]) -> str | None:
    """The node's error when the payload rejects (`"approved": false`), else None."""
    if payload.get("approved") is not False:
        return None
    by, comment = payload.get("by"), payload.get("comment")
    error = f"rejected by {by}" if by else "rejected"
    return f"{error}: {comment}" if comment else error


def waiter(state: RunState, signal: str) -> str | None:
    """The first node (in waiting order) that waits for `signal`, if any."""
    return next((n for n, w in state.waiting.items() if w.signal == signal), None)


def time_left(waited: Waiting, now: datetime) -> float | None:
    """Seconds until the wait times out (0 when past); None when it has no timeout."""
    if waited.timeout is None:
        return None
    left = waited.timeout - (now - waited.since).total_seconds()
    return min(max(left, 0.0), waited.timeout)
