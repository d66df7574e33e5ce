"""Run lifecycle log lines, from the acknowledged events: logger `agentos.lifecycle`.

One record per run created, started, resumed, node failed, node retrying, node waiting
and run finished. Each record's `fields` hold ids, the graph, the node (as its step,
`writer#2`), the status, the error type and a bounded error message: never a run's
inputs, outputs, signal payloads or keys.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from agentos._progress import step_name
from agentos.events import model as ev
from agentos.machine.run_machine import INTERRUPTED
from agentos.observe._events import bounded, fresh
from agentos.state.run_state import RunState

LOGGER = "agentos.lifecycle"
Fields = dict[str, Any]


class LifecycleLog:
    """A supervisor listener logging each run's lifecycle to `agentos.lifecycle`.

    A run first heard of mid-way (a resume after a restart), or whose batch records an
    interrupted attempt, is logged as resumed.
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger(LOGGER)
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def listen(self, events: Sequence[ev.Envelope], state: RunState) -> None:
        """Log the lifecycle steps of one acknowledged batch of a run."""
        batch = fresh(events)
        if not batch:
            return
        with self._lock:
            first = state.run_id not in self._seen
            self._seen.add(state.run_id)
            if state.finished:
                self._seen.discard(state.run_id)
        if not self.logger.isEnabledFor(logging.WARNING):
            return
        run = {"run_id": state.run_id, "graph": state.graph}
        created = any(isinstance(e, ev.RunCreated | ev.ReplayedFrom) for e in batch)
        if not created and (first or any(_interrupted(e) for e in batch)):
            self._log(logging.INFO, "run_resumed", run, status=state.status)
        for event in batch:
            self._event(event, run, state)

    def taken_over(self, state: RunState, member: int) -> None:
        """Log that member `member` took the run over from a member that died."""
        with self._lock:
            self._seen.add(state.run_id)
        run = {"run_id": state.run_id, "graph": state.graph}
        self._log(logging.INFO, "run_taken_over", run, status=state.status, member=member)

    def resumed(self, state: RunState) -> None:
        """Log that this process resumed the run (one that appends nothing as it resumes,
        a waiting run, is heard of by no listener until its signal); once per run."""
        with self._lock:
            if state.run_id in self._seen or state.finished:
                return
            self._seen.add(state.run_id)
        run = {"run_id": state.run_id, "graph": state.graph}
        self._log(logging.INFO, "run_resumed", run, status=state.status)

    def _event(self, event: ev.Envelope, run: Fields, state: RunState) -> None:
        if isinstance(event, ev.RunCreated):
            self._log(logging.INFO, "run_created", run)
        elif isinstance(event, ev.ReplayedFrom):
            source, step = event.data.source_run, event.data.from_step
            self._log(logging.INFO, "run_created", run, replayed_from=source, from_step=step)
        elif isinstance(event, ev.RunStarted):
            self._log(logging.INFO, "run_started", run)
        elif isinstance(event, ev.NodeFailed):
            self._log(
                logging.WARNING,
                "node_failed",
                run,
                **_node(event),
                error_type=event.data.error_type,
                error=bounded(event.data.error),
                final=event.data.final,
            )
        elif isinstance(event, ev.NodeRetrying):
            data = event.data
            node = _node(event)
            error = bounded(data.error)
            self._log(logging.INFO, "node_retrying", run, **node, delay=data.delay, error=error)
        elif isinstance(event, ev.NodeWaiting):
            node = _node(event)
            signal, timeout = event.data.signal, event.data.timeout
            self._log(logging.INFO, "node_waiting", run, **node, signal=signal, timeout=timeout)
        elif event.type in ev.TERMINAL_TYPES:
            self._finished(event, run, state)

    def _finished(self, event: ev.Envelope, run: Fields, state: RunState) -> None:
        fields: Fields = {"status": event.type.removeprefix("run_")}
        if state.created_at is not None:
            fields["duration_s"] = round((event.ts - state.created_at).total_seconds(), 3)
        level = logging.INFO
        if isinstance(event, ev.RunFailed):
            level = logging.WARNING
            fields["error"] = bounded(event.data.error)
            if event.data.node is not None:
                fields["node"] = event.data.node
        self._log(level, "run_finished", run, **fields)

    def _log(self, level: int, name: str, run: Fields, **fields: Any) -> None:
        line = {"event": name, **run, **fields}
        self.logger.log(level, _message(line), extra={"fields": line})


def _node(event: ev.Envelope) -> Fields:
    return {"node": step_name(event), "attempt": event.attempt or 1}


def _interrupted(event: ev.Envelope) -> bool:
    return isinstance(event, ev.NodeRetrying) and event.data.error == INTERRUPTED


def _message(line: Fields) -> str:
    """`run_finished run_id=… status=failed`: the event, then its fields."""
    rest = " ".join(f"{k}={_value(v)}" for k, v in line.items() if k != "event")
    return f"{line['event']} {rest}"


def _value(value: Any) -> str:
    text = str(value)
    if text and not any(c.isspace() or c in "\"'=" for c in text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
