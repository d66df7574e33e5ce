"""Wait nodes, pure: what a signal's payload means for the node that takes it, and the
rules of `RunMachine` for waits and signals (a mixin deciding through its emit)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agentos.events import model as ev
from agentos.machine._decision import DecisionBuilder
from agentos.machine.effects import Answer, Decision, RetryLater, orphaned
from agentos.machine.facts import Signal, WaitTimeout
from agentos.state.run_state import RunState, Waiting


def rejection(payload: dict[str, Any]) -> str | None:
    """The node's error when the payload rejects (`"approved": false`), else None."""
    if payload.get("approved") is not False:
        return None
    by, comment = payload.get("by"), payload.get("comment")
    error = f"rejected by {by}" if by else "rejected"
    return f"{error}: {comment}" if comment else error


def waiter(state: RunState, signal: str) -> str | None:
    """The first node (in waiting order) that waits for `signal`, if any."""
    return next((n for n, w in state.waiting.items() if w.signal == signal), None)


def time_left(waited: Waiting, now: datetime) -> float | None:
    """Seconds until the wait times out (0 when past); None when it has no timeout."""
    if waited.timeout is None:
        return None
    left = waited.timeout - (now - waited.since).total_seconds()
    return min(max(left, 0.0), waited.timeout)


class WaitRules(DecisionBuilder):
    """How a run machine records signals and lets waiting nodes take them."""

    def _node_failed(self, name: str, attempt: int, error: str, kind: str) -> None:
        raise NotImplementedError  # RunMachine's: a failure follows the node's policy

    def record(self, fact: Signal) -> Decision:
        """Keep a signal for a run nobody drives: it is taken when the run resumes."""
        if self.state.finished:
            return Decision(effects=orphaned(fact))
        self._emit(ev.SignalReceived, name=fact.name, payload=fact.payload)
        self._effect(Answer(fact.reply, True))
        return self._take()

    def _signal(self, fact: Signal) -> None:
        name = waiter(self.state, fact.name)
        attempt = self.state.nodes[name].attempts if name is not None else None
        self._emit(ev.SignalReceived, name, attempt, name=fact.name, payload=fact.payload)
        if name is not None and attempt is not None:
            self._take_signal(name, attempt, fact.payload)
        self._effect(Answer(fact.reply, True))

    def _take_signal(self, name: str, attempt: int, payload: dict[str, Any]) -> None:
        error = rejection(payload)
        if error is None:
            self._emit(ev.NodeSucceeded, name, attempt, output=payload)
        else:
            self._node_failed(name, attempt, error, "Rejected")

    def _wait_timeout(self, fact: WaitTimeout) -> None:
        node = self.state.nodes.get(fact.node)
        waited = self.state.waiting.get(fact.node)
        if node is None or waited is None or node.attempts != fact.attempt:
            return  # the signal came first, or the run moved on
        if waited.timeout is None:
            return  # a wait without a timeout never times out
        error = f"no signal {waited.signal!r} within {waited.timeout:g}s"
        self._node_failed(fact.node, fact.attempt, error, "TimeoutError")

    def _wait_on(self, name: str, attempt: int, timeout: float | None) -> None:
        """A waiting node takes its signal if it was kept (sent before, or while nobody
        drove the run), else its timeout, if any, is set."""
        kept = self.state.signals.get(self.state.waiting[name].signal)
        if kept is not None:
            self._take_signal(name, attempt, kept)
        elif timeout is not None:
            self._effect(RetryLater(timeout, WaitTimeout(self.run_id, name, attempt)))
