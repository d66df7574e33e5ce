"""Properties of fold over generated runs: prefixes, determinism, and a fresh process agrees."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentos.events import (
    Envelope,
    FileWritten,
    ModelCalled,
    NodeFailed,
    NodeRetrying,
    NodeScheduled,
    NodeSkipped,
    NodeStarted,
    NodeSucceeded,
    RunCreated,
    RunFailed,
    RunStarted,
    RunSucceeded,
    decode,
    encode,
)
from agentos.events.model import (
    FileWrittenData,
    ModelCalledData,
    NodeFailedData,
    NodeRetryingData,
    NodeSucceededData,
    ReasonData,
    RunCreatedData,
    RunFailedData,
)
from agentos.eventstore import JsonlEventStore
from agentos.state import RunState, evolve, fold, state_hash

T0 = datetime(2025, 1, 1, tzinfo=UTC)
Step = tuple[type[Envelope], dict[str, Any]]

_small = st.integers(min_value=0, max_value=5000)
_cost = st.floats(min_value=0, max_value=2, allow_nan=False, allow_infinity=False)
_paths = st.sampled_from(["a.py", "b.py", "docs/c.md"])


@st.composite
def _model_call(draw: st.DrawFn, node: str | None) -> Step:
    data = ModelCalledData(
        provider=draw(st.sampled_from(["p1", "p2"])),
        model="m",
        tokens_in=draw(_small),
        tokens_out=draw(_small),
        cost=draw(_cost),
        latency_ms=1.0,
    )
    return (ModelCalled, {"node": node, "data": data})


@st.composite
def _file_write(draw: st.DrawFn, node: str) -> Step:
    if draw(st.booleans()):
        data = FileWrittenData(path=draw(_paths), sha256=draw(st.text("0123abcdef", min_size=4)))
    else:
        data = FileWrittenData(path=draw(_paths), op="delete")
    return (FileWritten, {"node": node, "data": data})


@st.composite
def _node_program(draw: st.DrawFn, node: str) -> list[Step]:
    """The events of one node in order: attempts with work in them, then an outcome."""
    if draw(st.integers(0, 9)) == 0:
        return [(NodeSkipped, {"node": node, "data": ReasonData(reason="branch not taken")})]
    steps: list[Step] = []
    if draw(st.booleans()):
        steps.append((NodeScheduled, {"node": node}))
    attempts = draw(st.integers(1, 3))
    for attempt in range(1, attempts + 1):
        steps.append((NodeStarted, {"node": node, "attempt": attempt}))
        work = draw(st.lists(st.one_of(_model_call(node), _file_write(node)), max_size=3))
        steps.extend(work)
        if attempt < attempts:
            failed = NodeFailedData(error=f"try {attempt}", final=False)
            steps.append((NodeFailed, {"node": node, "data": failed}))
            steps.append(
                (NodeRetrying, {"node": node, "data": NodeRetryingData(delay=0, error="")})
            )
    if draw(st.integers(0, 4)) == 0:
        steps.append((NodeFailed, {"node": node, "data": NodeFailedData(error="gave up")}))
    else:
        output = {"value": draw(st.integers(-5, 5)), "text": draw(st.text(max_size=8))}
        steps.append((NodeSucceeded, {"node": node, "data": NodeSucceededData(output=output)}))
    return steps


@st.composite
def runs(draw: st.DrawFn) -> list[Step]:
    """A plausible run: created with n nodes, then the nodes' events interleaved."""
    names = [f"n{i}" for i in range(draw(st.integers(1, 4)))]
    spec = {"nodes": [{"name": n} for n in names]}
    steps: list[Step] = [
        (RunCreated, {"data": RunCreatedData(graph="g", spec=spec, inputs={"q": 1})}),
        (RunStarted, {}),
    ]
    pending = {n: draw(_node_program(n)) for n in names}
    run_calls = draw(st.integers(0, 2))
    while any(pending.values()):
        choices = [n for n, left in pending.items() if left]
        if run_calls:
            choices.append("")
        pick = draw(st.sampled_from(choices))
        if pick:
            steps.append(pending[pick].pop(0))
        else:
            run_calls -= 1
            steps.append(draw(_model_call(None)))
    end = draw(st.sampled_from(["open", "succeeded", "failed"]))
    if end == "succeeded":
        steps.append((RunSucceeded, {}))
    elif end == "failed":
        steps.append((RunFailed, {"data": RunFailedData(error="x")}))
    return steps


def materialize(steps: list[Step], run_id: str, offset: timedelta = timedelta()) -> list[Envelope]:
    """The events of generated steps for one run id."""
    return [
        cls(seq=i, run_id=run_id, ts=T0 + offset + timedelta(milliseconds=i), **kw)
        for i, (cls, kw) in enumerate(steps, start=1)
    ]


_fast = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_fast
@given(runs())
def test_fold_of_every_prefix_equals_stepwise_evolve(steps: list[Step]) -> None:
    events = materialize(steps, "r")
    state = RunState()
    for k, event in enumerate(events, start=1):
        evolve(state, event)
        folded = fold(events[:k])
        assert state_hash(folded) == state_hash(state)
        assert folded.model_dump() == state.model_dump()
        assert fold(events, upto=k).model_dump() == state.model_dump()


@_fast
@given(runs())
def test_fold_is_deterministic(steps: list[Step]) -> None:
    events = materialize(steps, "r")
    first, second = fold(events), fold(events)
    assert state_hash(first) == state_hash(second)
    assert first.model_dump() == second.model_dump()
    # through the codec, under another id and later: the same run
    decoded = [decode(encode(e)) for e in materialize(steps, "other", timedelta(days=3))]
    assert state_hash(fold(decoded)) == state_hash(first)
    # the usage total is the sum of the model calls
    calls = [kw["data"] for cls, kw in steps if cls is ModelCalled]
    assert first.usage.calls == len(calls)
    assert first.usage.tokens_in == sum(d.tokens_in for d in calls)
    assert first.usage.tokens_out == sum(d.tokens_out for d in calls)


@_fast
@given(runs(), st.data())
def test_fold_upto_node_is_state_before_its_first_start(steps: list[Step], data: Any) -> None:
    events = materialize(steps, "r")
    started = [e for e in events if e.type in ("node_scheduled", "node_started")]  # type: ignore[attr-defined]
    if not started:
        return
    target = data.draw(st.sampled_from(sorted({e.node for e in started if e.node})))
    first = next(e.seq for e in started if e.node == target)
    assert fold(events, upto=target).model_dump() == fold(events[: first - 1]).model_dump()


_FOLD_SCRIPT = """
import asyncio, json, sys
from agentos.eventstore import JsonlEventStore
from agentos.state import load_state, state_hash

async def main():
    store = JsonlEventStore(sys.argv[1], durable=False)
    out = {r: state_hash(await load_state(store, r)) for r in await store.list_runs()}
    await store.close()
    print(json.dumps(out))

asyncio.run(main())
"""


def test_fold_in_a_fresh_process_agrees(tmp_path: Path) -> None:
    """Logs written by JsonlEventStore fold to the same hash in another interpreter."""
    store = JsonlEventStore(tmp_path, durable=False)
    expected: dict[str, str] = {}

    @settings(max_examples=25, deadline=None, database=None)
    @given(runs())
    def write(steps: list[Step]) -> None:
        run_id = f"run{len(expected)}"
        events = materialize(steps, run_id)
        asyncio.run(store.append(run_id, events[:2], expected_seq=0))
        asyncio.run(store.append(run_id, events[2:], expected_seq=2))
        expected[run_id] = state_hash(fold(events))

    try:
        write()
    finally:
        asyncio.run(store.close())
    proc = subprocess.run(
        [sys.executable, "-c", _FOLD_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == expected
