"""Signals for runs: a checked payload, and a signal recorded in the log of a run that
nobody drives (it is taken when the run resumes)."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from agentos._exceptions import InvalidInputError, UnknownRunError
from agentos._names import safe_name
from agentos.actors._unowned import decide_unowned
from agentos.events.limits import InputDict
from agentos.eventstore.base import EventStore
from agentos.machine.facts import Signal
from agentos.state.run_state import RunState

_PAYLOAD: TypeAdapter[dict[str, Any]] = TypeAdapter(InputDict)


def signal_payload(data: Any) -> dict[str, Any]:
    """`data` as a signal's payload (a bounded JSON object); InvalidInputError if not."""
    try:
        return _PAYLOAD.validate_python({} if data is None else data, strict=True)
    except ValidationError as exc:
        problem = exc.errors()[0]["msg"]
        raise InvalidInputError(f"a signal's data must be a JSON object: {problem}") from None


async def record_signal(
    store: EventStore, run_id: str, name: str, payload: dict[str, Any]
) -> RunState:
    """Append `signal_received` to the log of a run nobody drives; its state after.

    The log is owned while the signal is appended, then released: RunLockedError (naming
    the owner's pid) when another process drives the run, RunEndedError once it ended.
    """
    safe_name(name, "signal name")
    if not await store.exists(safe_name(run_id, "run id")):
        raise UnknownRunError(f"unknown run {run_id!r}")
    return await decide_unowned(store, run_id, lambda m: m.record(Signal(run_id, name, payload)))
