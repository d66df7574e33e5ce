"""Effects: what the shell does once a decision's events are acknowledged, as data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agentos._exceptions import RunEndedError
from agentos.context.manifest import CompiledContext
from agentos.context.profile import ContextProfile
from agentos.events.model import Envelope
from agentos.machine.facts import Cancel, Fact, ModelCall, RetryDue, Signal, WaitTimeout
from agentos.routing.router import Selection


@dataclass(slots=True)
class Dispatch:
    """Run one attempt of a node on its node actor (the job it gets)."""

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
    item: Any = None  # a map instance's item
    index: int | None = None  # and its index in the list
    stream: bool = False  # the policy streams model answers to live listeners


@dataclass(slots=True)
class Prepare:
    """Compile an attempt's context and choose its model, then report `Prepared`.

    Done outside the decision: compiling may read workspace files, and choosing looks at
    the providers' load. What the run knew when the attempt started travels with it.
    """

    run_id: str
    node: str
    attempt: int
    profile_name: str
    profile: ContextProfile
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    artifacts: dict[str, Any]
    workspace_root: str | None
    min_tier: int
    max_tier: int | None
    preferred: list[str]


@dataclass(slots=True)
class RetryLater:
    """Feed `due` back to the run after `delay` seconds."""

    delay: float
    due: RetryDue | WaitTimeout


@dataclass(slots=True)
class Answer:
    """Resolve a caller's reply with `value`."""

    reply: object
    value: Any


@dataclass(slots=True)
class Refuse:
    """Fail a caller's reply with `error`."""

    reply: object
    error: Exception


@dataclass(slots=True)
class CancelAttempts:
    """Stop the running attempts of these nodes of the run."""

    run_id: str
    nodes: tuple[str, ...]


@dataclass(slots=True)
class SlotFreed:
    """A concurrency slot of `node` was given back while attempts wait for it."""

    node: str


@dataclass(slots=True)
class StartChild:
    """Run graph `graph` as the child run `child_run` (or re-attach to it when it
    exists), then report its end as the attempt's `NodeDone`."""

    run_id: str
    node: str
    attempt: int
    child_run: str
    graph: str
    inputs: dict[str, Any]
    spec: dict[str, Any] | None = None  # the graph's spec as the parent run recorded it


@dataclass(slots=True)
class CancelChildren:
    """Cancel these child runs (their parent ended)."""

    child_runs: tuple[str, ...]
    reason: str


@dataclass(slots=True)
class Finished:
    """The run ended: answer who waits for its end, release its log."""

    run_id: str


Effect = (
    Dispatch
    | Prepare
    | RetryLater
    | Answer
    | Refuse
    | CancelAttempts
    | SlotFreed
    | StartChild
    | CancelChildren
    | Finished
)


@dataclass(slots=True)
class Decision:
    """The events to append for a fact and the effects to carry out once they are durable."""

    events: list[Envelope] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)

    def extend(self, other: Decision) -> None:
        """Add `other`'s events and effects after these (one batch, one ack)."""
        self.events += other.events
        self.effects += other.effects

    def kinds(self) -> Sequence[str]:
        """The event types, in order (for tests and logs)."""
        return [str(getattr(e, "type", "")) for e in self.events]


def orphaned(fact: Fact) -> list[Effect]:
    """The effects of a fact for a run that has ended (or is not driven here any more).

    A late attempt outcome frees no slot: the run's end (or its drop) gave back the slots
    of every attempt still running, and giving one back twice would lift another run's
    limit."""
    if isinstance(fact, ModelCall):
        return [Refuse(fact.reply, RunEndedError(f"run {fact.run_id} is no longer running"))]
    if isinstance(fact, Cancel):
        return [Answer(fact.reply, None)]
    if isinstance(fact, Signal):
        return [Refuse(fact.reply, RunEndedError(f"run {fact.run_id} has ended"))]
    return []
