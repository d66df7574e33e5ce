"""fold of waits and signals: the run's `waiting` status, kept signals, old logs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agentos.events import model as ev
from agentos.state import canonical, fold
from agentos.state.fold import starts_step

T0 = datetime(2026, 12, 2, tzinfo=UTC)
SPEC = {"nodes": [{"name": "plan"}, {"name": "approval"}, {"name": "other"}]}


class Log:
    """Events built one after the other, with contiguous seqs."""

    def __init__(self) -> None:
        self.events: list[ev.Envelope] = []

    def add(self, cls: type[ev.Envelope], node: str | None = None, **data: Any) -> Log:
        seq = len(self.events) + 1
        fields: dict[str, Any] = {"seq": seq, "run_id": "r", "ts": T0 + timedelta(seconds=seq)}
        fields |= {"node": node, "attempt": 1 if node else None}
        if data:
            fields["data"] = data
        self.events.append(cls(**fields))
        return self


def started() -> Log:
    log = Log().add(ev.RunCreated, graph="g", spec=SPEC).add(ev.RunStarted)
    return log.add(ev.NodeStarted, "plan")


def test_a_run_waits_only_when_nothing_else_runs() -> None:
    log = started().add(ev.NodeWaiting, "approval", signal="go", timeout=5.0)
    state = fold(log.events)
    assert state.status == "running"  # plan still runs
    assert state.nodes["approval"].status == "waiting"
    assert state.waiting["approval"].signal == "go"
    assert state.waiting["approval"].timeout == 5.0
    state = fold(log.add(ev.NodeSucceeded, "plan", output={}).events)
    assert state.status == "waiting"
    log.add(ev.SignalReceived, "approval", name="go", payload={"approved": True})
    log.add(ev.NodeSucceeded, "approval", output={"approved": True})
    state = fold(log.events)
    assert (state.status, state.waiting, state.signals) == ("running", {}, {})
    assert state.nodes["approval"].output == {"approved": True}


def test_a_kept_signal_is_taken_when_its_waiting_node_settles() -> None:
    log = started().add(ev.SignalReceived, name="go", payload={"by": "ana"})
    assert fold(log.events).signals == {"go": {"by": "ana"}}
    log.add(ev.NodeWaiting, "approval", signal="go")
    log.add(ev.NodeSucceeded, "approval", output={"by": "ana"})
    state = fold(log.events)
    assert state.signals == {} and state.waiting == {}


def test_a_waiting_node_cancelled_no_longer_waits() -> None:
    log = started().add(ev.NodeWaiting, "approval", signal="go")
    log.add(ev.NodeCancelled, "approval", reason="run ended").add(ev.RunCancelled, reason="x")
    state = fold(log.events)
    assert state.status == "cancelled" and state.waiting == {}


def test_runs_without_waits_keep_their_canonical_form() -> None:
    state = fold(started().add(ev.NodeSucceeded, "plan", output={}).events)
    assert "waiting" not in canonical(state) and "signals" not in canonical(state)
    log = started().add(ev.NodeWaiting, "approval", signal="go")
    assert canonical(fold(log.events))["waiting"] == {"approval": {"signal": "go", "timeout": None}}


def test_a_wait_is_the_step_a_replay_can_start_from() -> None:
    log = started().add(ev.NodeWaiting, "approval", signal="go")
    assert starts_step(log.events[-1], "approval")
    assert fold(log.events, upto="approval").nodes["approval"].status == "pending"
