"""Folding a run straight from an event store, from the nearest snapshot when one is kept."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from agentos.eventstore.base import EventStore
from agentos.state.fold import Folding
from agentos.state.run_state import RunState
from agentos.state.snapshots import Snapshot, Snapshots, copy_state

_SNAPSHOTS: WeakKeyDictionary[EventStore, Snapshots] = WeakKeyDictionary()


def snapshots_of(store: EventStore) -> Snapshots:
    """The fold snapshots kept for `store`'s runs (in memory, as long as the store lives)."""
    kept = _SNAPSHOTS.get(store)
    if kept is None:
        kept = _SNAPSHOTS[store] = Snapshots()
    return kept


async def load_state(store: EventStore, run_id: str, upto: int | str | None = None) -> RunState:
    """The run's state folded from the store, up to a seq or just before a step.

    A seq (or the last one) folds from the nearest snapshot at or before it, when the
    event it was taken after is still the log's; else, and for a step name, from seq 1.
    """
    snapshots = snapshots_of(store)
    if not isinstance(upto, str):
        start = snapshots.nearest(run_id, upto)
        state = None if start is None else await _from_snapshot(store, run_id, upto, start)
        if state is not None:
            return state
        if start is not None:
            snapshots.forget(run_id)  # another log than the one the snapshots came from
    folding = Folding(upto)
    async for event in store.read(run_id):
        if not folding.feed(event):
            break
        if snapshots.due(event.seq):
            snapshots.keep(run_id, folding.state, event)
    return folding.result(run_id)


async def _from_snapshot(
    store: EventStore, run_id: str, upto: int | None, start: Snapshot
) -> RunState | None:
    """The fold from `start`; None if the log no longer holds `start`'s event."""
    snapshots = snapshots_of(store)
    folding = Folding(upto)
    folding.state = copy_state(start.state)
    first = True
    async for event in store.read(run_id, after_seq=start.seq - 1, upto_seq=upto):
        if first:
            if event != start.event:
                return None
            first = False
            continue
        if not folding.feed(event):
            break
        if snapshots.due(event.seq):
            snapshots.keep(run_id, folding.state, event)
    if first:
        return None
    return folding.result(run_id)
