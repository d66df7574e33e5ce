"""`Envelope.type` is a declared field (typed code reads it without a cast) and the JSON
of an event keeps its key order."""

from __future__ import annotations

import orjson

from agentos.events.codec import encode
from agentos.events.model import EVENT_TYPES, Envelope, NodeStarted, utcnow


def test_the_envelope_declares_type_as_a_string() -> None:
    assert Envelope.model_fields["type"].annotation is str
    assert Envelope.model_fields["type"].is_required()


def test_each_event_type_narrows_it_to_its_literal() -> None:
    for name, cls in EVENT_TYPES.items():
        assert cls.model_fields["type"].default == name


def test_the_json_keeps_type_after_the_envelope_fields() -> None:
    event: Envelope = NodeStarted(seq=2, run_id="r", ts=utcnow(), node="a", attempt=1)
    assert event.type == "node_started"
    keys = list(orjson.loads(encode(event)))
    assert keys == ["v", "seq", "run_id", "ts", "node", "attempt", "type", "data"]
