"""The state at a step of a long run: from a fold snapshot and a tail, exactly a full fold."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agentos.events.model import (
    ArtifactWritten,
    ArtifactWrittenData,
    Envelope,
    FileWritten,
    FileWrittenData,
    LoopIterated,
    LoopIteratedData,
    MapExpanded,
    MapExpandedData,
    ModelCalled,
    ModelCalledData,
    NodeFailed,
    NodeFailedData,
    NodeStarted,
    NodeSucceeded,
    NodeSucceededData,
    NodeWaiting,
    NodeWaitingData,
    RunCreated,
    RunCreatedData,
    RunStarted,
    SignalReceived,
    SignalReceivedData,
)
from agentos.eventstore import CorruptLogError, EventStore, InMemoryEventStore, JsonlEventStore
from agentos.eventstore._reader import INDEX_EVERY
from agentos.state import evolve, fold, load_state, state_hash
from agentos.state.load import snapshots_of
from agentos.state.snapshots import EVERY, copy_state

T0 = datetime(2025, 6, 1, tzinfo=UTC)
SPEC = {"nodes": [{"name": "plan"}, {"name": "code"}, {"name": "gate"}, {"name": "fan"}]}


def _pass(run_id: str, seq: int, i: int) -> list[Envelope]:
    """One pass of a loop over plan, code, gate and fan: every kind of change to state."""
    ts = T0 + timedelta(seconds=seq)
    env: dict[str, Any] = {"run_id": run_id, "ts": ts, "attempt": 1}
    called = ModelCalledData(
        provider="p", model="m", tokens_in=10 + i, tokens_out=3, cost=0.01, latency_ms=5
    )
    out: list[Envelope] = [
        NodeStarted(node="plan", **env, seq=1),
        ModelCalled(node="plan", **env, seq=1, data=called),
        ModelCalled(**env, seq=1, data=called),  # a call of the run, not of a node
        NodeSucceeded(node="plan", **env, seq=1, data=NodeSucceededData(output={"i": i})),
        NodeStarted(node="code", **env, seq=1),
        FileWritten(node="code", **env, seq=1, data=FileWrittenData(path=f"f{i % 3}.py", size=i)),
        ArtifactWritten(
            node="code",
            **env,
            seq=1,
            data=ArtifactWrittenData(name=f"a{i % 4}", sha256="x", size=1),
        ),
        NodeFailed(node="code", **env, seq=1, data=NodeFailedData(error="boom", final=False)),
        NodeSucceeded(node="code", **env, seq=1, data=NodeSucceededData(output={"code": i})),
        SignalReceived(**env, seq=1, data=SignalReceivedData(name="go", payload={"i": i})),
        NodeWaiting(node="gate", **env, seq=1, data=NodeWaitingData(signal="go")),
        NodeSucceeded(node="gate", **env, seq=1, data=NodeSucceededData(output={"ok": True})),
        MapExpanded(
            node="fan",
            **env,
            seq=1,
            data=MapExpandedData(source="code.code", items=[1, 2][: 1 + i % 2]),
        ),
        NodeSucceeded(node="fan", **env, seq=1, data=NodeSucceededData(output={"n": i})),
        LoopIterated(
            node="fan",
            **env,
            seq=1,
            data=LoopIteratedData(
                to="plan",
                iteration=i + 2,
                body=["plan", "code", "gate", "fan"],
                max_iterations=10**6,
            ),
        ),
    ]
    return [e.model_copy(update={"seq": seq + n}) for n, e in enumerate(out)]


def long_run(run_id: str, total: int) -> list[Envelope]:
    """A run of at least `total` events."""
    created = RunCreatedData(graph="g", spec=SPEC, inputs={"task": "t"})
    events: list[Envelope] = [
        RunCreated(seq=1, run_id=run_id, ts=T0, data=created),
        RunStarted(seq=2, run_id=run_id, ts=T0),
    ]
    i = 0
    while len(events) < total:
        events += _pass(run_id, len(events) + 1, i)
        i += 1
    return events


async def _append(store: EventStore, run_id: str, events: list[Envelope]) -> None:
    last = 0
    while last < len(events):
        size = 1 + last % 5
        last = await store.append(run_id, events[last : last + size], expected_seq=last)


@pytest.fixture(params=["jsonl", "memory"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    made: EventStore = (
        JsonlEventStore(tmp_path, durable=False)
        if request.param == "jsonl"
        else InMemoryEventStore()
    )
    yield made
    await made.close()


def _steps(total: int) -> list[int]:
    """Every seq around each snapshot, and a spread of others."""
    around = [s + d for s in range(EVERY, total, EVERY) for d in (-1, 0, 1, 2)]
    return sorted({1, 2, total, *around, *range(3, total, 37)})


async def test_a_snapshot_and_its_tail_fold_to_the_full_fold(store: EventStore) -> None:
    events = long_run("r", 6 * EVERY)
    await _append(store, "r", events)
    assert (await load_state(store, "r")).model_dump() == fold(events).model_dump()
    assert snapshots_of(store).nearest("r", None) is not None  # the first read kept some
    for seq in _steps(len(events)):
        state = await load_state(store, "r", upto=seq)
        expected = fold(events, upto=seq)
        assert state.model_dump() == expected.model_dump(), seq
        assert state_hash(state) == state_hash(expected)
    # read backwards too: every seq from a snapshot, every tail from a read mark
    for seq in reversed(_steps(len(events))):
        assert state_hash(await load_state(store, "r", upto=seq)) == state_hash(
            fold(events, upto=seq)
        )


async def test_a_state_handed_out_is_never_a_kept_snapshot(store: EventStore) -> None:
    events = long_run("r", 3 * EVERY)
    await _append(store, "r", events)
    await load_state(store, "r")
    mine = await load_state(store, "r", upto=EVERY)
    for event in events[EVERY:]:  # the caller carries its copy on
        evolve(mine, event)
    assert mine.model_dump() == fold(events).model_dump()
    again = await load_state(store, "r", upto=EVERY + 1)
    assert again.model_dump() == fold(events, upto=EVERY + 1).model_dump()


async def test_a_log_of_other_events_under_the_same_run_is_folded_afresh(
    store: EventStore,
) -> None:
    events = long_run("r", 3 * EVERY)
    await _append(store, "r", events)
    await load_state(store, "r")
    assert snapshots_of(store).nearest("r", 2 * EVERY) is not None
    other = long_run("r", 3 * EVERY)
    other = [e.model_copy(update={"ts": e.ts + timedelta(days=1)}) for e in other]
    if isinstance(store, JsonlEventStore):
        elsewhere = JsonlEventStore(store.root / "elsewhere", durable=False)
        await _append(elsewhere, "r", other)
        await elsewhere.close()
        await store.release("r")
        os.replace(elsewhere.log_path("r"), store.log_path("r"))  # a new inode
    else:
        await store.delete_run("r")
        await _append(store, "r", other)
    state = await load_state(store, "r", upto=2 * EVERY + 5)
    assert state.model_dump() == fold(other, upto=2 * EVERY + 5).model_dump()
    assert state.model_dump() != fold(events, upto=2 * EVERY + 5).model_dump()


def test_a_copy_is_untouched_by_evolving_the_state_it_came_from() -> None:
    events = long_run("r", 4 * len(_pass("r", 1, 0)))
    for cut in range(1, len(events)):
        state = fold(events[:cut])
        copy = copy_state(state)
        for event in events[cut:]:
            evolve(state, event)
        assert copy.model_dump() == fold(events[:cut]).model_dump(), cut


async def test_a_read_starts_at_the_nearest_mark_at_or_before_it(tmp_path: Path) -> None:
    store = JsonlEventStore(tmp_path, durable=False)
    try:
        events = long_run("r", 8 * INDEX_EVERY)
        await _append(store, "r", events)
        assert await store.read_all("r") == events  # a first read marks the log on the way
        await store.read_all("r", after_seq=2, upto_seq=3)  # the latest mark is now early
        # a later step starts at a mark near it, not at the latest mark nor at byte 0: a
        # line between them is not read again (a read of it would fail now)
        path = store.log_path("r")
        data = path.read_bytes()
        line = 2 * INDEX_EVERY
        at = sum(len(x) + 1 for x in data.split(b"\n")[: line - 1])
        path.write_bytes(data[:at] + b"x" + data[at + 1 :])
        with pytest.raises(CorruptLogError):
            await store.read_all("r", after_seq=line - 2)
        after = 5 * INDEX_EVERY
        assert await store.read_all("r", after_seq=after) == events[after:]
    finally:
        await store.close()
