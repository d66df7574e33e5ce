"""Folding a run straight from an event store."""

from __future__ import annotations

from agentos.eventstore.base import EventStore
from agentos.state.fold import UnknownStepError, evolve, starts_step
from agentos.state.run_state import RunState


async def load_state(store: EventStore, run_id: str, upto: int | str | None = None) -> RunState:
    """The run's state folded from the store, up to a seq or just before a step."""
    state = RunState()
    async for event in store.read(run_id):
        if isinstance(upto, int) and event.seq > upto:
            break
        if isinstance(upto, str) and starts_step(event, upto):
            return state
        evolve(state, event)
    if isinstance(upto, str):
        raise UnknownStepError(f"run {run_id} never started step {upto!r}")
    if isinstance(upto, int) and not 1 <= upto <= state.last_seq:
        raise UnknownStepError(f"run {run_id} has no seq {upto} (last is {state.last_seq})")
    return state
