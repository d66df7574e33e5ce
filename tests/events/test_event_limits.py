"""Events hold finite numbers within 64 bits and JSON nested at most MAX_EVENT_DEPTH deep."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agentos.api.sse import event_frame
from agentos.events import EventDecodeError, NodeSucceeded, decode, encode
from agentos.events.codec import check_writable
from agentos.events.limits import (
    MAX_EVENT_DEPTH,
    MAX_INT,
    MIN_INT,
    _named_problem,
    json_problem,
)
from agentos.events.model import ModelCalledData, NodeSucceededData

TS = datetime(2025, 1, 1, tzinfo=UTC)


def _nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def _line(output: str) -> bytes:
    good = NodeSucceeded(seq=1, run_id="r", ts=TS, data=NodeSucceededData(output={"x": 1}))
    return encode(good).replace(b'{"x":1}', output.encode())


@pytest.mark.parametrize(
    "output",
    [
        {"x": float("inf")},
        {"x": [1, {"y": float("nan")}]},
        {"x": MAX_INT + 1},
        {"x": MIN_INT - 1},
        {"x": _nested(MAX_EVENT_DEPTH)},
        {"x": (1, 2)},
    ],
)
def test_event_values_refuse_what_json_readers_would_not_read_back(output: Any) -> None:
    with pytest.raises(ValidationError, match="output"):
        NodeSucceededData(output=output)


def test_event_numbers_refuse_non_finite_with_the_field_named() -> None:
    with pytest.raises(ValidationError, match="cost"):
        ModelCalledData(
            provider="p", model="m", tokens_in=1, tokens_out=1, cost=1e308 * 10, latency_ms=0
        )
    with pytest.raises(ValidationError, match="tokens_in"):
        ModelCalledData(
            provider="p", model="m", tokens_in=2**64, tokens_out=1, cost=0, latency_ms=0
        )


def test_limits_accept_the_edges() -> None:
    assert json_problem({"a": [MAX_INT, MIN_INT, 1e308, -0.0, None, True, "s"]}) is None
    assert NodeSucceededData(output={"x": _nested(MAX_EVENT_DEPTH - 2)})


@pytest.mark.parametrize(
    ("output", "says"),
    [
        ('{"x":18446744073709551616}', "64-bit"),
        ('{"x":-9223372036854775809}', "64-bit"),
        ('{"x":1e400}', "infinity"),
        ('{"x":Infinity}', "not JSON"),
    ],
)
def test_reader_refuses_out_of_range_numbers(output: str, says: str) -> None:
    with pytest.raises(EventDecodeError, match=says):
        decode(_line(output))


def test_writer_check_names_the_problem() -> None:
    data = NodeSucceededData.model_construct(output={"x": 2**64})
    event = NodeSucceeded.model_construct(seq=1, run_id="r", ts=TS, data=data)
    with pytest.raises(EventDecodeError, match="64-bit"):
        check_writable(event)
    good = NodeSucceeded(seq=1, run_id="r", ts=TS, data=NodeSucceededData(output={"x": 1}))
    assert decode(check_writable(good)) == good


def test_sse_frame_of_an_event_orjson_cannot_write_is_an_error_frame() -> None:
    data = NodeSucceededData.model_construct(output={"x": 10**30})
    event = NodeSucceeded.model_construct(seq=7, run_id="r", ts=TS, data=data)
    frame = event_frame(event)
    assert frame.startswith(b"id: 7\nevent: error\ndata: ")
    assert "event 7" in orjson.loads(frame.split(b"data: ", 1)[1])["error"]


_json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=3)
    | st.tuples(st.integers()),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=2) | st.integers(0, 3), inner, max_size=3)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(value=_json_like, max_depth=st.integers(0, 4))
def test_the_fast_check_agrees_with_the_one_that_names_the_place(
    value: object, max_depth: int
) -> None:
    assert json_problem(value, max_depth) == _named_problem(value, max_depth)


def test_writer_refuses_a_schema_version_the_reader_refuses() -> None:
    event = NodeSucceeded(v=2, seq=1, run_id="r", ts=TS, data=NodeSucceededData(output={}))
    with pytest.raises(EventDecodeError):
        decode(encode(event))  # what the reader does with it
    with pytest.raises(EventDecodeError, match="schema version 2"):
        check_writable(event)
