"""The shell's record of one run it drives: its machine, its log, the batch in flight."""

from __future__ import annotations

from dataclasses import dataclass, field

from agentos.actors.messages import Reply
from agentos.eventstore.run_log import RunLog
from agentos.machine.effects import Answer, Decision, Refuse
from agentos.machine.facts import Fact
from agentos.machine.run_machine import RunMachine
from agentos.state.run_state import RunState


@dataclass
class DrivenRun:
    """A run the supervisor drives. While a decision's events are being appended
    (`busy`), new facts wait in `inbox` and state queries in `queries`."""

    machine: RunMachine
    log: RunLog
    busy: bool = False
    in_flight: Decision = field(default_factory=Decision)  # appended, effects due on ack
    inbox: list[Fact] = field(default_factory=list)
    queries: list[Reply] = field(default_factory=list)
    waiters: list[Reply] = field(default_factory=list)  # answered when the run ends

    @property
    def run_id(self) -> str:
        return self.machine.run_id

    @property
    def state(self) -> RunState:
        return self.machine.state

    def replies(self) -> list[object]:
        """Every caller this run still owes an answer (when it must stop unanswered)."""
        owed: list[object] = [*self.waiters, *self.queries]
        owed += [e.reply for e in self.in_flight.effects if isinstance(e, Answer | Refuse)]
        owed += [getattr(fact, "reply", None) for fact in self.inbox]
        return owed
