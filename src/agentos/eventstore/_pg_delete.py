"""Deleting a run of the PostgreSQL store: its row, events and artifacts in one
statement, only while no live owner has it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from agentos._exceptions import RunLockedError, UnknownRunError
from agentos.eventstore._pg_schema import OWNER_ALIVE

Query = Callable[[str, Mapping[str, Any]], Awaitable[list[Any]]]

#: the run's row goes only when no live owner has it; its events and artifacts with it.
#: answers (deleted, whether a row is there) so a refusal can say why
DELETE_RUN = f"""
    WITH gone AS (
        DELETE FROM runs r WHERE r.run_id = %(run)s
          AND (r.owner IS NULL OR NOT {OWNER_ALIVE.format(owner="r.owner")})
        RETURNING r.run_id
    ), events_gone AS (
        DELETE FROM events e USING gone WHERE e.run_id = gone.run_id
    ), artifacts_gone AS (
        DELETE FROM artifacts a USING gone WHERE a.run_id = gone.run_id
    )
    SELECT (SELECT count(*) FROM gone),
           EXISTS (SELECT 1 FROM runs WHERE run_id = %(run)s AND last_seq > 0)
"""


async def delete_run(query: Query, run_id: str, held: bool) -> None:
    """Delete the run through `query`: UnknownRunError when there is none,
    RunLockedError while a live owner has it (`held`: the caller's store does)."""
    if held:
        raise RunLockedError(f"run {run_id} is being written by this store")
    ((deleted, present),) = await query(DELETE_RUN, {"run": run_id})
    if deleted:
        return
    if present:
        raise RunLockedError(f"run {run_id} is owned by a live writer: it cannot be deleted")
    raise UnknownRunError(f"unknown run {run_id!r}")
