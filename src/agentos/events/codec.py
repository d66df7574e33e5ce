"""Event to JSON and back, with clear errors for unknown types and versions."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError

from agentos._exceptions import EventDecodeError as EventDecodeError
from agentos.events.model import EVENT_TYPES, SCHEMA_VERSION, Envelope, Event

_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def encode(event: Envelope) -> bytes:
    """The event as compact JSON bytes."""
    return event.__pydantic_serializer__.to_json(event)


def to_dict(event: Envelope) -> dict[str, Any]:
    """The event as a JSON-compatible dict."""
    return event.model_dump(mode="json")


def decode(raw: bytes | str) -> Envelope:
    """Parse one event from JSON; raise EventDecodeError when it is not a known event."""
    refused: ValidationError | None = None
    try:
        event = _adapter.validate_json(raw)
    except ValidationError as exc:
        refused = exc
    else:
        if event.v == SCHEMA_VERSION:
            return event
        # any other version falls through to from_dict, which names it
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise EventDecodeError(f"not JSON: {exc}") from None
    checked = from_dict(obj)
    if refused is not None:
        # orjson reads some numbers pydantic refuses (e.g. integers beyond 64 bits, as
        # floats): the exact reading decides
        raise EventDecodeError(f"invalid {obj.get('type')} event: {_problems(refused)}")
    return checked


def check_writable(event: Envelope) -> bytes:
    """The event's JSON, once `decode` reads it back; raise EventDecodeError if it would not.

    Writers call this before appending, so a log never holds a line its reader refuses.
    """
    kind = getattr(event, "type", type(event).__name__)
    try:
        raw = encode(event)
    except PydanticSerializationError as exc:
        raise EventDecodeError(f"{kind} event cannot be written: {exc}") from None
    try:
        read = _adapter.validate_json(raw)
    except ValidationError as exc:
        raise EventDecodeError(f"invalid {kind} event: {_problems(exc)}") from None
    if read.v != SCHEMA_VERSION:  # `decode` reads no other version
        raise EventDecodeError(
            f"{kind} event of schema version {read.v!r} cannot be written "
            f"(this agentos reads and writes v{SCHEMA_VERSION})"
        )
    return raw


def from_dict(obj: Any) -> Envelope:
    """Validate one event from a parsed JSON value; raise EventDecodeError on failure."""
    if not isinstance(obj, dict):
        raise EventDecodeError(f"an event must be a JSON object, got {type(obj).__name__}")
    version = obj.get("v")
    if version != SCHEMA_VERSION:
        raise EventDecodeError(
            f"unsupported event schema version {version!r} (this agentos reads v{SCHEMA_VERSION})"
        )
    kind = obj.get("type")
    if kind not in EVENT_TYPES:
        known = ", ".join(sorted(EVENT_TYPES))
        raise EventDecodeError(f"unknown event type {kind!r} (known: {known})")
    try:
        return _adapter.validate_python(obj)
    except ValidationError as exc:
        raise EventDecodeError(f"invalid {kind} event: {_problems(exc)}") from None


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
    )
