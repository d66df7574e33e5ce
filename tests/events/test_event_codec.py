"""The event codec: every event type round-trips; anything else is refused clearly."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from agentos.events import (
    EVENT_TYPES,
    SCHEMA_VERSION,
    Envelope,
    EventDecodeError,
    decode,
    encode,
    from_dict,
    to_dict,
)

TS = datetime(2025, 6, 1, 8, 30, 15, 123456, tzinfo=UTC)

# data for every event type whose data has required fields
DATA: dict[str, dict[str, Any]] = {
    "run_created": {"graph": "g", "spec": {"nodes": [{"name": "a"}]}, "inputs": {"q": "é"}},
    "node_succeeded": {"output": {"x": [1, 2.5, None]}, "next": ["b"], "duration_ms": 1.5},
    "node_failed": {"error": "boom", "error_type": "ValueError", "final": False},
    "node_retrying": {"delay": 0.5, "error": "boom"},
    "node_skipped": {"reason": "branch"},
    "node_cancelled": {"reason": "stop"},
    "context_compiled": {"profile": "p", "manifest": {"files": ["a"]}, "context_artifact": "c"},
    "model_selected": {"provider": "p", "model": "m", "reason": "cheap", "candidates": [{"m": 1}]},
    "model_called": {
        "provider": "p",
        "model": "m",
        "tokens_in": 10,
        "tokens_out": 3,
        "cost": 0.002,
        "latency_ms": 12.5,
        "ok": False,
        "error": "timeout",
        "fallbacks": [{"model": "m0"}],
    },
    "budget_exceeded": {"action": "downgrade", "reason": "cost", "tokens": 100, "cost": 1.0},
    "artifact_written": {"name": "report", "sha256": "ab" * 32, "size": 10},
    "file_written": {"path": "src/a.py", "op": "write", "content": "x", "sha256": "cd", "size": 1},
    "workspace_created": {"source": "/repo", "artifact": "ws", "files": {"a.py": "ef"}},
    "run_failed": {"error": "bad", "node": "a"},
    "run_cancelled": {"reason": "user"},
    "replayed_from": {"source_run": "r0", "from_step": "b", "from_seq": 7},
    "node_waiting": {"signal": "approval", "timeout": 30.0},
    "signal_received": {"name": "approval", "payload": {"approved": True, "by": "ana"}},
    "loop_iterated": {"to": "w", "iteration": 2, "body": ["w", "a"], "max_iterations": 3},
    "loop_exhausted": {"to": "w", "max_iterations": 3, "reason": "loop a -> w reached 3"},
    "map_expanded": {"source": "planner.questions", "items": ["q1", {"q": 2}]},
    "child_started": {"child_run": "run-1.notify.1", "graph": "notify-team"},
}


def _event(kind: str, **extra: Any) -> Envelope:
    cls = EVENT_TYPES[kind]
    fields: dict[str, Any] = {"seq": 3, "run_id": "run-1", "ts": TS, "node": "a", "attempt": 2}
    if kind in DATA:
        fields["data"] = DATA[kind]
    fields.update(extra)
    return cls.model_validate(fields)


@pytest.mark.parametrize("kind", sorted(EVENT_TYPES))
def test_round_trip(kind: str) -> None:
    event = _event(kind)
    assert event.type == kind  # type: ignore[attr-defined]
    raw = encode(event)
    assert isinstance(raw, bytes)
    back = decode(raw)
    assert type(back) is type(event)
    assert back == event
    assert back.ts == TS and back.ts.tzinfo is not None
    assert decode(raw.decode()) == event  # str works too
    assert from_dict(to_dict(event)) == event
    assert from_dict(orjson.loads(raw)) == event
    assert to_dict(event)["v"] == SCHEMA_VERSION


def test_every_type_is_covered() -> None:
    no_data = {k for k, cls in EVENT_TYPES.items() if not cls.model_fields["data"].is_required()}
    assert set(DATA) | no_data == set(EVENT_TYPES)


def test_minimal_event_round_trip() -> None:
    event = _event("run_started", node=None, attempt=None)
    assert decode(encode(event)) == event


def _raw(kind: str = "node_started", **changes: Any) -> dict[str, Any]:
    obj = to_dict(_event(kind))
    obj.update(changes)
    return obj


@pytest.mark.parametrize("via", ["json", "dict"])
def test_unknown_type(via: str) -> None:
    obj = _raw(type="node_exploded")
    with pytest.raises(EventDecodeError, match=r"unknown event type 'node_exploded' \(known: "):
        decode(orjson.dumps(obj)) if via == "json" else from_dict(obj)


@pytest.mark.parametrize("version", [0, 2, 99, None])
@pytest.mark.parametrize("via", ["json", "dict"])
def test_unsupported_version(version: Any, via: str) -> None:
    obj = _raw(v=version)
    with pytest.raises(EventDecodeError, match=r"unsupported event schema version .* reads v1"):
        decode(orjson.dumps(obj)) if via == "json" else from_dict(obj)


def test_missing_version_is_unsupported() -> None:
    obj = _raw()
    del obj["v"]
    with pytest.raises(EventDecodeError, match="unsupported event schema version None"):
        from_dict(obj)


@pytest.mark.parametrize("where", ["envelope", "data"])
def test_extra_fields_refused(where: str) -> None:
    obj = _raw("node_failed")
    if where == "envelope":
        obj["surprise"] = 1
    else:
        obj["data"]["surprise"] = 1
    with pytest.raises(EventDecodeError, match=r"invalid node_failed event: .*surprise") as err:
        decode(orjson.dumps(obj))
    assert "Extra inputs are not permitted" in str(err.value)
    with pytest.raises(EventDecodeError):
        from_dict(obj)
    with pytest.raises(ValueError):  # the models refuse it too
        EVENT_TYPES["node_failed"].model_validate(obj)


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (_raw("model_called", data={**DATA["model_called"], "tokens_in": -1}), "data.tokens_in"),
        (_raw("run_created", data={"graph": "g"}), "data.spec: Field required"),
        (_raw(seq=0), "seq"),
        (_raw(ts="yesterday"), "ts"),
    ],
)
def test_invalid_fields_named(obj: dict[str, Any], message: str) -> None:
    with pytest.raises(EventDecodeError, match="invalid") as err:
        decode(orjson.dumps(obj))
    assert message in str(err.value)


@pytest.mark.parametrize("raw", [b"", b"{", b"not json", b"\xff\xfe"])
def test_not_json(raw: bytes) -> None:
    with pytest.raises(EventDecodeError, match="not JSON"):
        decode(raw)


@pytest.mark.parametrize("raw", [b"[]", b"1", b'"x"', b"null"])
def test_not_an_object(raw: bytes) -> None:
    with pytest.raises(EventDecodeError, match="must be a JSON object"):
        decode(raw)


def test_decode_error_is_a_value_error() -> None:
    assert issubclass(EventDecodeError, ValueError)
