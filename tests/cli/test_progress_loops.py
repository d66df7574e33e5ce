"""Progress lines name a loop's later passes `writer#2`, and say why a loop stopped."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from agentos._progress import Progress, step_name
from agentos.events import model as ev

TS = datetime(2026, 12, 2, tzinfo=UTC)


def shown(*events: ev.Envelope) -> str:
    console = Console(record=True, width=120, color_system=None)
    progress = Progress(console)
    for event in events:
        progress.show(event)
    return console.export_text()


def test_a_later_pass_is_shown_with_its_number() -> None:
    first = ev.NodeStarted(seq=3, run_id="r", ts=TS, node="writer", attempt=1)
    second = first.model_copy(update={"seq": 9, "iteration": 2})
    assert (step_name(first), step_name(second)) == ("writer", "writer#2")
    data = ev.LoopIteratedData(to="writer", iteration=2, body=["writer"], max_iterations=3)
    turn = ev.LoopIterated(seq=8, run_id="r", ts=TS, node="reviewer", data=data)
    text = shown(first, turn, second)
    assert "writer#2" in text and "pass 2 of 3" in text


def test_an_exhausted_loop_says_why() -> None:
    reason = "loop reviewer -> writer reached max_iterations 3"
    data = ev.LoopExhaustedData(to="writer", max_iterations=3, reason=reason)
    assert reason in shown(ev.LoopExhausted(seq=4, run_id="r", ts=TS, node="reviewer", data=data))
