"""A run's workspace is derived state: its base snapshot plus the file events of its log."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

from agentos._exceptions import InvalidInputError
from agentos.events import model as ev
from agentos.eventstore.base import EventStore
from agentos.state.run_state import RunState
from agentos.tools.workspace import FileWrite, materialize


def file_writes(events: Iterable[ev.Envelope]) -> list[FileWrite]:
    """The workspace writes recorded in `events`, in order."""
    return [
        FileWrite(
            path=e.data.path,
            op=e.data.op,
            content=e.data.content,
            sha256=e.data.sha256,
            size=e.data.size,
        )
        for e in events
        if isinstance(e, ev.FileWritten)
    ]


async def rebuild_workspace(
    store: EventStore, run_id: str, state: RunState, events: Iterable[ev.Envelope], root: Path
) -> None:
    """Recreate `root` as the workspace was after `events` (base snapshot + file events)."""
    if state.workspace_base is None:
        raise InvalidInputError(f"run {run_id} has no workspace")
    base = await store.get_artifact(run_id, state.workspace_base)
    await asyncio.to_thread(materialize, root, base, file_writes(events))
