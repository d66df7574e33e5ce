"""Facts: what happened to a run, as data, for `RunMachine.handle`.

A fact that wants an answer carries `reply`, an object the machine never looks into: it
hands it back in an `Answer` or `Refuse` effect once the fact's events are durable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentos.context.manifest import CompiledContext
from agentos.routing.router import Selection
from agentos.tools.workspace import FileWrite


@dataclass(slots=True)
class WorkspaceInfo:
    """A run's workspace: where it lives, where it came from, and its base snapshot."""

    root: str
    source: str
    artifact: str
    files: dict[str, str]


@dataclass(slots=True)
class Start:
    """Create a run: its first events, then its first nodes."""

    run_id: str
    inputs: dict[str, Any]
    budget: dict[str, Any] | None
    workspace: WorkspaceInfo | None
    reply: object = None
    parent: tuple[str, str] | None = None  # (run, node) that started it as a child run
    graphs: dict[str, dict[str, Any]] | None = None  # the specs its graph nodes run


@dataclass(slots=True)
class NodeDone:
    """The outcome of one node attempt, as its node actor reports it."""

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


@dataclass(slots=True)
class Prepared:
    """An attempt's context compiled and model chosen (or why no model fits)."""

    run_id: str
    node: str
    attempt: int
    context: CompiledContext | None
    model: Selection | None
    error: str = ""  # set when no model fits: the attempt fails with it
    error_type: str = ""


@dataclass(slots=True)
class ModelCall:
    """A model call an agent made through the runtime, to be recorded before it returns."""

    run_id: str
    node: str
    attempt: int
    data: dict[str, Any]
    reply: object = None


@dataclass(slots=True)
class RetryDue:
    """An attempt's wait is over: its retry delay passed, or a concurrency slot freed."""

    run_id: str
    node: str
    attempt: int


@dataclass(slots=True)
class Cancel:
    """Cancel the run: running attempts are stopped and nothing new starts."""

    run_id: str
    reason: str
    reply: object = None


@dataclass(slots=True)
class Signal:
    """A signal sent to the run: the node waiting for `name` takes `payload`, else it is kept."""

    run_id: str
    name: str
    payload: dict[str, Any] = field(default_factory=dict)
    reply: object = None


@dataclass(slots=True)
class WaitTimeout:
    """A wait node's timeout passed: it fails if that attempt still waits."""

    run_id: str
    node: str
    attempt: int


Fact = NodeDone | Prepared | ModelCall | RetryDue | Cancel | Signal | WaitTimeout
