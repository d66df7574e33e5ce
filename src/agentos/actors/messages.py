"""Messages between the loop side, the supervisor actor and the node actors."""

from __future__ import annotations

import asyncio
import concurrent.futures
from dataclasses import dataclass, field
from typing import Any

from agentos.context.manifest import CompiledContext
from agentos.events.model import Envelope
from agentos.routing.router import Selection
from agentos.state.run_state import RunState
from agentos.tools.workspace import FileWrite

#: how an asker hears back: a loop future when it asks on the actor's own loop
Reply = concurrent.futures.Future[Any] | asyncio.Future[Any]


def answer(reply: Reply, value: Any) -> None:
    """Resolve `reply`, unless its asker gave up on it (a cancelled wait, a timeout)."""
    if not reply.done():
        reply.set_result(value)


def refuse(reply: Reply | None, error: BaseException) -> None:
    """Fail `reply` with `error`, unless there is none or its asker gave up on it."""
    if reply is not None and not reply.done():
        reply.set_exception(error)


@dataclass
class WorkspaceInfo:
    """A run's workspace: where it lives, where it came from, and its base snapshot."""

    root: str
    source: str
    artifact: str
    files: dict[str, str]


# loop side -> supervisor


@dataclass
class StartRun:
    run_id: str
    inputs: dict[str, Any]
    budget: dict[str, Any] | None
    workspace: WorkspaceInfo | None
    reply: Reply


@dataclass
class ContinueRun:
    """Carry on a run from its folded log (resume after a crash, or a replay fork)."""

    state: RunState
    workspace_root: str | None
    artifacts: dict[str, Any]
    reply: Reply


@dataclass
class CancelRun:
    run_id: str
    reason: str
    reply: Reply


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


# node side -> supervisor


@dataclass
class NodeDone:
    """The outcome of one node attempt."""

    run_id: str
    node: str
    attempt: int
    ok: bool
    output: dict[str, Any] = field(default_factory=dict)
    next: list[str] | None = None
    error: str = ""
    error_type: str = ""
    duration_ms: float = 0.0
    writes: list[FileWrite] = field(default_factory=list)
    artifacts: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelCall:
    """A model call an agent made through the runtime, to be recorded before it returns."""

    run_id: str
    node: str
    attempt: int
    data: dict[str, Any]
    reply: Reply


@dataclass
class RetryDue:
    run_id: str
    node: str
    attempt: int


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


# supervisor -> node actors


@dataclass
class Execute:
    """Run one attempt of a node."""

    run_id: str
    node: str
    attempt: int
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    upstream: dict[str, dict[str, Any]]
    params: dict[str, Any]
    timeout: float | None
    context: CompiledContext | None
    model: Selection | None
    workspace_root: str | None
    seed: int


@dataclass
class CancelTasks:
    run_id: str


Fact = NodeDone | ModelCall | RetryDue | CancelRun | SlotFree
Listener = Any  # callable(events: list[Envelope], state: RunState) -> None
__all__ = ["Envelope"]
