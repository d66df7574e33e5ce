"""Messages to the supervisor actor besides facts (`agentos.machine.facts`): from the
loop side (start, continue, queries) and from itself (acks, freed slots)."""

from __future__ import annotations

import asyncio
import concurrent.futures
from dataclasses import dataclass, field
from typing import Any

from agentos.events.model import Envelope
from agentos.eventstore.run_log import RunLog
from agentos.state.run_state import RunState

#: how an asker hears back: a loop future when it asks on the actor's own loop
Reply = concurrent.futures.Future[Any] | asyncio.Future[Any]
_FUTURES = (concurrent.futures.Future, asyncio.Future)


def answer(reply: object, value: Any) -> None:
    """Resolve `reply`, unless there is none or its asker gave up on it (a cancelled
    wait, a timeout)."""
    if isinstance(reply, _FUTURES) and not reply.done():
        reply.set_result(value)


def refuse(reply: object, error: BaseException) -> None:
    """Fail `reply` with `error`, unless there is none or its asker gave up on it."""
    if isinstance(reply, _FUTURES) and not reply.done():
        reply.set_exception(error)


# loop side -> supervisor


@dataclass
class ContinueRun:
    """Carry on a run from its folded log (resume after a crash, or a replay fork).

    `log` is the run's log, already owned: the actor appends through it from now on,
    first `fork` (a replay's copied events, folded into `state`), if any."""

    state: RunState
    log: RunLog
    workspace_root: str | None
    artifacts: dict[str, Any]
    reply: Reply
    fork: list[Envelope] = field(default_factory=list)


@dataclass
class GetState:
    run_id: str
    reply: Reply


@dataclass
class WaitRun:
    run_id: str
    reply: Reply


@dataclass
class ListLive:
    """The ids of the runs the supervisor is driving."""

    reply: Reply


# supervisor internals


@dataclass
class Acked:
    """The store's answer to one append of a run."""

    run_id: str
    future: concurrent.futures.Future[int]


@dataclass
class AcksDue:
    """Appends were acknowledged: drain the supervisor's `AckQueue`."""


@dataclass
class SlotFree:
    """A node's concurrency slot was released; a waiting run may start it."""

    node: str


# supervisor -> node actors (besides the `Dispatch` effect)


@dataclass
class CancelTasks:
    run_id: str
