"""What the observers read of a batch: its fresh events, and bounded error text."""

from __future__ import annotations

from collections.abc import Sequence

from agentos.events import model as ev

MAX_MESSAGE = 200  # characters of an error message in a log line or a span status


def fresh(events: Sequence[ev.Envelope]) -> Sequence[ev.Envelope]:
    """The batch without a replay's copies of its source's events (they come first, up
    to `replayed_from`, and were observed when the source ran)."""
    for i in range(len(events) - 1, -1, -1):
        if isinstance(events[i], ev.ReplayedFrom):
            return events[i:]
    return events


def bounded(text: str, limit: int = MAX_MESSAGE) -> str:
    """`text` on one line, cut to `limit` characters (an ellipsis marks the cut)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
