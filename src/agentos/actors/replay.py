"""Replay from a step: a new run whose log starts with the original's events up to it."""

from __future__ import annotations

from collections.abc import Sequence

from agentos.events import model as ev
from agentos.events.model import TERMINAL_TYPES, utcnow
from agentos.state.fold import UnknownStepError, starts_step


def cut_index(events: Sequence[ev.Envelope], step: int | str) -> int:
    """How many events precede `step`: a node name (before it first started) or a seq."""
    if isinstance(step, int):
        if not 1 <= step <= len(events):
            raise UnknownStepError(f"the run has no seq {step} (its log has 1..{len(events)})")
        return step
    for index, event in enumerate(events):
        if starts_step(event, step):
            return index
    raise UnknownStepError(f"the run never started step {step!r}")


def fork_events(
    events: Sequence[ev.Envelope], step: int | str, new_run_id: str
) -> list[ev.Envelope]:
    """The log of the fork: the original's events up to `step`, then `replayed_from`.

    The copies keep their seqs and timestamps; only the run id changes, so folding the
    fork up to the step gives the same state hash as folding the original up to it.
    """
    if not events:
        raise UnknownStepError("the run has no events")
    index = cut_index(events, step)
    prefix = events[:index]
    if any(e.type in TERMINAL_TYPES for e in prefix):
        raise UnknownStepError(f"step {step!r} comes after the run ended: nothing to replay")
    copies = [e.model_copy(update={"run_id": new_run_id}) for e in prefix]
    marker = ev.ReplayedFrom(
        seq=len(copies) + 1,
        run_id=new_run_id,
        ts=utcnow(),
        data=ev.ReplayedFromData(
            source_run=events[0].run_id, from_step=str(step), from_seq=len(copies)
        ),
    )
    return [*copies, marker]
