"""fold of loops: a new pass resets the body and keeps the last outputs; `writer#2`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentos._exceptions import UnknownStepError
from agentos.events import model as ev
from agentos.state import canonical, fold
from agentos.state.fold import starts_step

T0 = datetime(2026, 12, 2, tzinfo=UTC)
SPEC = {"nodes": [{"name": "writer"}, {"name": "reviewer"}]}


class Log:
    """Events built one after the other, with contiguous seqs."""

    def __init__(self) -> None:
        self.events: list[ev.Envelope] = []

    def add(
        self, cls: type[ev.Envelope], node: str | None = None, it: int | None = None, **data: Any
    ) -> Log:
        seq = len(self.events) + 1
        fields: dict[str, Any] = {"seq": seq, "run_id": "r", "ts": T0 + timedelta(seconds=seq)}
        fields |= {"node": node, "attempt": 1 if node else None, "iteration": it}
        if data:
            fields["data"] = data
        self.events.append(cls(**fields))
        return self


def one_pass() -> Log:
    log = Log().add(ev.RunCreated, graph="g", spec=SPEC).add(ev.RunStarted)
    log.add(ev.NodeStarted, "writer").add(ev.NodeSucceeded, "writer", output={"text": "v1"})
    log.add(ev.NodeStarted, "reviewer")
    log.add(ev.NodeSucceeded, "reviewer", output={"comments": "c1"}, next=["writer"])
    body = ["writer", "reviewer"]
    return log.add(
        ev.LoopIterated, "reviewer", to="writer", iteration=2, body=body, max_iterations=3
    )


def test_a_new_pass_resets_the_body_and_keeps_its_outputs() -> None:
    state = fold(one_pass().events)
    for name, output in (("writer", {"text": "v1"}), ("reviewer", {"comments": "c1"})):
        node = state.nodes[name]
        assert (node.status, node.iteration, node.attempts) == ("pending", 2, 0)
        assert node.output is None and node.previous_output == output
    assert state.status == "running"


def test_a_node_skipped_in_a_pass_keeps_the_output_of_the_pass_before() -> None:
    log = one_pass().add(ev.NodeStarted, "writer", 2)
    log.add(ev.NodeSucceeded, "writer", 2, output={"text": "v2"})
    log.add(ev.NodeSkipped, "reviewer", 2, reason="x")
    log.add(
        ev.LoopIterated,
        "reviewer",
        2,
        to="writer",
        iteration=3,
        body=["writer", "reviewer"],
        max_iterations=3,
    )
    state = fold(log.events)
    assert state.nodes["writer"].previous_output == {"text": "v2"}
    assert state.nodes["reviewer"].previous_output == {"comments": "c1"}


def test_an_exhausted_loop_changes_no_state() -> None:
    log = one_pass()
    before = fold(log.events).model_dump(exclude={"last_seq", "updated_at"})
    log.add(ev.LoopExhausted, "reviewer", to="writer", max_iterations=3, reason="r")
    assert fold(log.events).model_dump(exclude={"last_seq", "updated_at"}) == before


def test_a_state_without_loops_is_canonically_what_it_was() -> None:
    log = Log().add(ev.RunCreated, graph="g", spec=SPEC).add(ev.RunStarted)
    nodes = canonical(fold(log.events))["nodes"]
    assert "iteration" not in nodes["writer"] and "previous_output" not in nodes["writer"]
    assert canonical(fold(one_pass().events))["nodes"]["writer"]["iteration"] == 2


def test_a_pass_is_a_step_to_fold_up_to() -> None:
    log = one_pass().add(ev.NodeStarted, "writer", 2)
    assert starts_step(log.events[-1], "writer#2")
    assert not starts_step(log.events[-1], "writer#1")
    assert starts_step(log.events[2], "writer#1") and starts_step(log.events[2], "writer")
    state = fold(log.events, upto="writer#2")
    assert state.last_seq == len(log.events) - 1
    with pytest.raises(UnknownStepError):
        fold(log.events, upto="writer#3")
