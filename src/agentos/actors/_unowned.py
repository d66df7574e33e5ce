"""Deciding for a run nobody drives: own its log for one decision, then let it go."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from agentos.events.model import utcnow
from agentos.eventstore.base import EventStore
from agentos.eventstore.run_log import RunLog
from agentos.graphs.spec import GraphSpec
from agentos.graphs.topology import Topology
from agentos.machine.effects import Decision, Refuse
from agentos.machine.run_machine import RunMachine
from agentos.machine.slots import NodeSlots
from agentos.state.fold import fold
from agentos.state.run_state import RunState


async def decide_unowned(
    store: EventStore, run_id: str, decide: Callable[[RunMachine], Decision]
) -> RunState:
    """Own the run's log (RunLockedError when another writer holds it), fold it, let a
    machine of it `decide`, append that decision, release the log; the state after.

    A decision that refuses raises its error (a signal for an ended run)."""
    log = await RunLog.open(store, run_id)
    try:
        state = fold(await store.read_all(run_id))
        spec = GraphSpec.model_validate(state.spec)
        machine = RunMachine(state, spec, Topology(spec), NodeSlots(), utcnow)
        decision = decide(machine)
        for effect in decision.effects:
            if isinstance(effect, Refuse):
                raise effect.error
        if decision.events:
            await asyncio.wrap_future(log.submit(decision.events))
        return machine.state
    finally:
        await log.release()
