"""Whether a run's kept fold still matches its log: the log file's stamp, compared."""

from __future__ import annotations

import os

from agentos.eventstore.base import EventStore
from agentos.eventstore.jsonl import JsonlEventStore
from agentos.state.run_state import RunState

#: a log file's inode, size and mtime
Stamp = tuple[int, int, int]


def log_stamp(store: EventStore, run_id: str) -> Stamp | None:
    """The log's inode, size and mtime (one stat call), or None without a log (or in a
    store whose logs are no files: they only grow)."""
    if not isinstance(store, JsonlEventStore):
        return None
    try:
        st = os.stat(store.log_path(run_id))
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def rewritten(before: Stamp | None, now: Stamp | None, state: RunState) -> bool:
    """Whether a kept fold no longer matches its log: an ended run's log changed, or any
    log was replaced or shrank (a growing log of a live run is only read further)."""
    if before == now:
        return False
    if before is None or now is None or state.finished:
        return True
    return before[0] != now[0] or now[1] < before[1]
