"""The loop pass of an event (`writer#2`): carried when > 1, absent from older events."""

from __future__ import annotations

from datetime import UTC, datetime

from agentos.events import decode, encode
from agentos.events.model import NodeStarted

TS = datetime(2026, 12, 2, tzinfo=UTC)


def test_a_later_pass_is_written_and_read_back() -> None:
    event = NodeStarted(seq=5, run_id="r", ts=TS, node="writer", attempt=1, iteration=2)
    raw = encode(event)
    assert b'"iteration":2' in raw
    assert decode(raw) == event


def test_the_first_pass_writes_what_it_always_wrote() -> None:
    event = NodeStarted(seq=5, run_id="r", ts=TS, node="writer", attempt=1)
    raw = encode(event)
    assert b"iteration" not in raw
    assert raw.index(b'"attempt"') < raw.index(b'"type"')
    assert decode(raw).iteration is None  # an old log reads as pass 1
