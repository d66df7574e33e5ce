"""Starting a run on a member of a shared store: queued for the first member with room
(`eventstore.pg_cluster`), answered once its log exists; and the workspace input both
ways of starting share."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from agentos.actors.supervisor import new_run_id
from agentos.eventstore.pg_cluster import enqueue
from agentos.eventstore.postgres import PostgresEventStore
from agentos.graphs.policy import Budget
from agentos.graphs.spec import GraphSpec

#: seconds `queue_run` waits for a queued run to start before answering
QUEUED_WAIT = 5.0


async def queue_run(
    store: PostgresEventStore, spec: GraphSpec, inputs: dict[str, Any], budget: Budget | None
) -> str:
    """Queue a run of `spec` (inputs over the spec's defaults); its id once its log
    exists, or after `QUEUED_WAIT` seconds when every member is full (it starts when
    one has room)."""
    run_id = new_run_id()
    limits = budget.model_dump() if budget is not None else None
    merged = {**spec.inputs, **inputs}
    await enqueue(store, run_id, spec.model_dump(mode="json"), merged, limits)
    with store.wakeups(run_id) as appended, contextlib.suppress(TimeoutError):
        async with asyncio.timeout(QUEUED_WAIT):
            while not await store.exists(run_id):
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.05):
                        await appended.wait()
                appended.clear()
    return run_id


def with_workspace(
    spec: GraphSpec, inputs: Mapping[str, Any], resolve_source: Callable[[str], Path]
) -> dict[str, Any]:
    """The inputs with a relative workspace source made absolute by `resolve_source`."""
    merged = dict(inputs)
    key = spec.workspace
    if key is None:
        return merged
    value = merged.get(key, spec.inputs.get(key))
    if isinstance(value, str) and value and not Path(value).is_absolute():
        merged[key] = str(resolve_source(value))
    return merged
