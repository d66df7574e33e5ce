"""Fold snapshots: a run's state kept every few events, so a later step folds only a tail."""

from __future__ import annotations

import dataclasses
import threading
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass

from agentos.events.model import Envelope
from agentos.state.run_state import NodeState, RunState

#: a snapshot is kept after every this many events of a run
EVERY = 64
#: the runs whose snapshots one cache keeps; the least recently read go first
RUNS = 64


def copy_state(state: RunState) -> RunState:
    """A copy that `evolve` can change without touching `state`.

    `evolve` changes the state's dicts, its nodes and usage records in place and only
    replaces the other values (an event's data is frozen), so those are copied.
    """
    copy = state.model_copy()
    copy.nodes = {name: _copy_node(node) for name, node in state.nodes.items()}
    copy.usage = dataclasses.replace(state.usage)
    copy.artifacts = dict(state.artifacts)
    copy.workspace = dict(state.workspace)
    copy.waiting = dict(state.waiting)
    copy.signals = dict(state.signals)
    return copy


def _copy_node(node: NodeState) -> NodeState:
    copy = dataclasses.replace(node)
    copy.usage = dataclasses.replace(node.usage)
    return copy


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The state after event `seq`, and that event, to tell the same log from another."""

    seq: int
    state: RunState
    event: Envelope


class Snapshots:
    """Snapshots of the runs of one store, in memory, the RUNS last read kept.

    Thread-safe: a store may be read from more than one loop (the HTTP server's and its
    supervisors')."""

    def __init__(self, every: int = EVERY, runs: int = RUNS) -> None:
        self.every = every
        self._runs: OrderedDict[str, list[Snapshot]] = OrderedDict()
        self._limit = runs
        self._lock = threading.Lock()

    def nearest(self, run_id: str, upto: int | None) -> Snapshot | None:
        """The last snapshot of the run at or before seq `upto` (any seq when None)."""
        with self._lock:
            kept = self._runs.get(run_id)
            if not kept:
                return None
            self._runs.move_to_end(run_id)
            at = len(kept) if upto is None else bisect_right(kept, upto, key=lambda s: s.seq)
            return kept[at - 1] if at else None

    def due(self, seq: int) -> bool:
        """Whether the state after event `seq` is one to keep."""
        return seq % self.every == 0

    def keep(self, run_id: str, state: RunState, event: Envelope) -> None:
        """Keep a copy of `state`, the state after `event`, unless one is kept already."""
        snapshot = Snapshot(event.seq, copy_state(state), event)
        with self._lock:
            kept = self._runs.setdefault(run_id, [])
            self._runs.move_to_end(run_id)
            at = bisect_right(kept, event.seq, key=lambda s: s.seq)
            if at and kept[at - 1].seq == event.seq:
                return
            kept.insert(at, snapshot)
            while len(self._runs) > self._limit:
                self._runs.popitem(last=False)

    def forget(self, run_id: str) -> None:
        """Drop the run's snapshots (its log is not the one they were taken from)."""
        with self._lock:
            self._runs.pop(run_id, None)
