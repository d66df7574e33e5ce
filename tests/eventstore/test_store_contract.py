"""The contract every EventStore backend keeps, written once and run against each one."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import orjson
import pytest
from store_support import TS, make_batch, make_event

from agentos.events import Envelope, ModelCalled
from agentos.events.model import ModelCalledData
from agentos.eventstore import (
    ArtifactNotFoundError,
    ConcurrencyError,
    EventRejectedError,
    EventStore,
    JsonlEventStore,
    UnknownRunError,
)
from agentos.eventstore._framing import unframe
from agentos.eventstore.postgres import PostgresEventStore

BAD_NAMES = ["../x", "/abs", "a\x00b", ".hidden", "", "a/b", ".."]


def _on_disk(store: EventStore) -> list[str]:
    """Every file a JSONL store has written, every row a Postgres store has (none in memory)."""
    if isinstance(store, JsonlEventStore):
        root = store.root
        return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []
    if isinstance(store, PostgresEventStore):
        import psycopg

        with psycopg.connect(store.url) as conn:
            rows = conn.execute(
                "SELECT 'run ' || run_id FROM runs UNION ALL"
                " SELECT 'event ' || run_id || ' ' || seq FROM events UNION ALL"
                " SELECT 'artifact ' || run_id || ' ' || name FROM artifacts"
            ).fetchall()
        return sorted(r[0] for r in rows)
    return []


async def _seqs(store: EventStore, run_id: str, after: int = 0, upto: int | None = None) -> list:
    return [e.seq for e in await store.read_all(run_id, after, upto)]


# ordering and ranges


async def test_append_then_read_in_order(store: EventStore) -> None:
    assert await store.append("r1", make_batch("r1", 1, 3), expected_seq=0) == 3
    assert await store.append("r1", make_batch("r1", 4, 1), expected_seq=3) == 4
    assert await store.append("r1", make_batch("r1", 5, 2), expected_seq=4) == 6
    events = await store.read_all("r1")
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 6]
    assert events == make_batch("r1", 1, 6)
    assert await store.last_seq("r1") == 6
    assert await store.exists("r1")


async def test_read_ranges(store: EventStore) -> None:
    await store.append("r1", make_batch("r1", 1, 10), expected_seq=0)
    assert await _seqs(store, "r1", after=7) == [8, 9, 10]
    assert await _seqs(store, "r1", upto=3) == [1, 2, 3]
    assert await _seqs(store, "r1", after=2, upto=5) == [3, 4, 5]
    assert await _seqs(store, "r1", upto=99) == list(range(1, 11))


@pytest.mark.parametrize(("after", "upto"), [(10, None), (50, None), (4, 4), (6, 3), (0, 0)])
async def test_empty_ranges(store: EventStore, after: int, upto: int | None) -> None:
    await store.append("r1", make_batch("r1", 1, 10), expected_seq=0)
    assert await _seqs(store, "r1", after, upto) == []


async def test_unknown_run(store: EventStore) -> None:
    with pytest.raises(UnknownRunError):
        await store.read_all("nope")
    assert not await store.exists("nope")
    assert await store.last_seq("nope") == 0


async def test_runs_are_separate(store: EventStore) -> None:
    await store.append("r1", make_batch("r1", 1, 2), expected_seq=0)
    await store.append("r2", make_batch("r2", 1, 5), expected_seq=0)
    assert await _seqs(store, "r1") == [1, 2]
    assert await _seqs(store, "r2") == [1, 2, 3, 4, 5]
    assert {e.run_id for e in await store.read_all("r2")} == {"r2"}


async def test_list_runs(store: EventStore) -> None:
    assert await store.list_runs() == []
    for run_id in ("b", "a", "c-1"):
        await store.append(run_id, make_batch(run_id, 1, 1), expected_seq=0)
    assert await store.list_runs() == ["a", "b", "c-1"]


async def test_empty_append_writes_nothing(store: EventStore) -> None:
    assert await store.append("r1", [], expected_seq=0) == 0
    assert not await store.exists("r1")
    await store.append("r1", make_batch("r1", 1, 2), expected_seq=0)
    assert await store.append("r1", [], expected_seq=2) == 2


# refusals write nothing


@pytest.mark.parametrize("expected", [1, 5, -1])
async def test_conflict_on_new_run_writes_nothing(store: EventStore, expected: int) -> None:
    with pytest.raises(ConcurrencyError):
        await store.append("r1", make_batch("r1", max(expected, 0) + 1, 1), expected_seq=expected)
    assert not await store.exists("r1")
    assert await store.list_runs() == []
    assert _on_disk(store) == []


@pytest.mark.parametrize("expected", [0, 2, 4])
async def test_conflict_writes_nothing(store: EventStore, expected: int) -> None:
    await store.append("r1", make_batch("r1", 1, 3), expected_seq=0)
    with pytest.raises(ConcurrencyError):
        await store.append("r1", make_batch("r1", expected + 1, 2), expected_seq=expected)
    assert await _seqs(store, "r1") == [1, 2, 3]
    assert await store.last_seq("r1") == 3
    # the store still takes the right append
    assert await store.append("r1", make_batch("r1", 4, 1), expected_seq=3) == 4
    assert await _seqs(store, "r1") == [1, 2, 3, 4]


@pytest.mark.parametrize("seqs", [[4, 6], [4, 4], [5], [3], [4, 5, 7]])
async def test_non_contiguous_batch_writes_nothing(store: EventStore, seqs: list[int]) -> None:
    await store.append("r1", make_batch("r1", 1, 3), expected_seq=0)
    batch = [make_event("r1", s) for s in seqs]
    with pytest.raises(ValueError):
        await store.append("r1", batch, expected_seq=3)
    assert await _seqs(store, "r1") == [1, 2, 3]
    assert await store.append("r1", make_batch("r1", 4, 2), expected_seq=3) == 5


async def test_non_contiguous_first_batch_writes_nothing(store: EventStore) -> None:
    with pytest.raises(ValueError):
        await store.append("r1", [make_event("r1", 1), make_event("r1", 3)], expected_seq=0)
    assert not await store.exists("r1")
    assert _on_disk(store) == []


async def test_batch_of_another_run_refused(store: EventStore) -> None:
    await store.append("r1", make_batch("r1", 1, 1), expected_seq=0)
    with pytest.raises(ValueError):
        await store.append("r1", [make_event("r1", 2), make_event("r2", 3)], expected_seq=1)
    assert await _seqs(store, "r1") == [1]


def _unreadable(run_id: str, seq: int) -> Envelope:
    """A model call whose cost overflowed (built without validation, as a bug might)."""
    data = ModelCalledData.model_construct(
        provider="p", model="m", tokens_in=1, tokens_out=1, cost=float("inf"), latency_ms=1.0
    )
    return ModelCalled.model_construct(seq=seq, run_id=run_id, ts=TS, node="a", data=data)


async def test_event_the_reader_refuses_is_not_written(store: EventStore) -> None:
    await store.append("r1", make_batch("r1", 1, 3), expected_seq=0)
    batch = [make_event("r1", 4), _unreadable("r1", 5)]
    with pytest.raises(EventRejectedError, match="cost"):
        await store.append("r1", batch, expected_seq=3)
    assert await store.last_seq("r1") == 3
    assert await store.read_all("r1") == make_batch("r1", 1, 3)
    assert await store.append("r1", make_batch("r1", 4, 1), expected_seq=3) == 4


async def test_an_event_of_another_schema_version_is_not_written(store: EventStore) -> None:
    await store.append("r1", make_batch("r1", 1, 1), expected_seq=0)
    newer = make_event("r1", 2).model_copy(update={"v": 2})  # the reader reads v1 only
    with pytest.raises(EventRejectedError, match="schema version"):
        await store.append("r1", [newer], expected_seq=1)
    assert await store.read_all("r1") == make_batch("r1", 1, 1)


async def test_first_event_the_reader_refuses_creates_no_run(store: EventStore) -> None:
    with pytest.raises(EventRejectedError):
        store.submit("r1", [_unreadable("r1", 1)], expected_seq=0)
    with pytest.raises(EventRejectedError):
        await store.append("r2", [_unreadable("r2", 1)], expected_seq=0)
    assert await store.list_runs() == []
    assert _on_disk(store) == []


async def test_batch_atomicity(store: EventStore) -> None:
    """A batch is read back whole or not at all, even by a reader racing the writer."""
    await store.append("r1", make_batch("r1", 1, 1), expected_seq=0)
    seen: list[int] = []
    stop = threading.Event()

    def reader() -> None:
        async def go() -> None:
            while not stop.is_set():
                seen.append(len(await store.read_all("r1")))

        asyncio.run(go())

    thread = threading.Thread(target=reader)
    thread.start()
    last = 1
    try:
        for _ in range(40):
            last = await store.append("r1", make_batch("r1", last + 1, 5), expected_seq=last)
            await asyncio.sleep(0.001)
    finally:
        stop.set()
        thread.join()
    assert last == 201
    assert await _seqs(store, "r1") == list(range(1, 202))
    assert seen
    assert [n for n in seen if (n - 1) % 5] == [], "a reader saw part of a batch"


# artifacts


async def test_artifacts_round_trip(store: EventStore) -> None:
    doc = {"a": [1, 2.5, None, True], "b": {"c": "ünïcode"}}
    await store.put_artifact("r1", "report", doc)
    assert await store.get_artifact("r1", "report") == doc
    await store.put_artifact("r1", "report", [1, 2])
    assert await store.get_artifact("r1", "report") == [1, 2]
    await store.put_artifact("r2", "report", "other")
    assert await store.get_artifact("r1", "report") == [1, 2]
    assert await store.get_artifact("r2", "report") == "other"


async def test_missing_artifact(store: EventStore) -> None:
    with pytest.raises(ArtifactNotFoundError):
        await store.get_artifact("r1", "nothing")
    await store.put_artifact("r1", "x", 1)
    with pytest.raises(ArtifactNotFoundError):
        await store.get_artifact("r1", "y")
    with pytest.raises(KeyError):  # also a KeyError for dict-like callers
        await store.get_artifact("r9", "x")


@pytest.mark.parametrize("bad", BAD_NAMES)
async def test_invalid_names_refused(store: EventStore, bad: str) -> None:
    with pytest.raises(ValueError):
        await store.append(bad, [make_event(bad, 1)], expected_seq=0)
    with pytest.raises(ValueError):
        await store.read_all(bad)
    with pytest.raises(ValueError):
        await store.put_artifact(bad, "ok", {"x": 1})
    with pytest.raises(ValueError):
        await store.put_artifact("ok", bad, {"x": 1})
    with pytest.raises(ValueError):
        await store.get_artifact("ok", bad)
    with pytest.raises(ValueError):
        await store.get_artifact(bad, "ok")
    assert await store.list_runs() == []
    assert _on_disk(store) == []


# follow


async def test_follow_existing_then_new_until_terminal(store: EventStore) -> None:
    await store.append("r1", make_batch("r1", 1, 3), expected_seq=0)

    async def writer() -> None:
        await asyncio.sleep(0.05)
        await store.append("r1", make_batch("r1", 4, 2), expected_seq=3)
        await asyncio.sleep(0.05)
        await store.append("r1", [make_event("r1", 6, "run_succeeded")], expected_seq=5)
        await asyncio.sleep(0.05)
        # nothing after the terminal event is yielded to the follower that ended
        await store.append("r1", [make_event("r1", 7)], expected_seq=6)

    async def follower() -> list[int]:
        return [e.seq async for e in store.follow("r1")]

    task = asyncio.create_task(writer())
    seqs = await asyncio.wait_for(follower(), timeout=5)
    await task
    assert seqs == [1, 2, 3, 4, 5, 6]


async def test_follow_after_seq(store: EventStore) -> None:
    await store.append("r1", make_batch("r1", 1, 3), expected_seq=0)
    await store.append("r1", [make_event("r1", 4, "run_succeeded")], expected_seq=3)
    seqs = [e.seq async for e in store.follow("r1", after_seq=2)]
    assert seqs == [3, 4]


async def test_follow_wakes_from_another_thread(store: EventStore) -> None:
    await store.append("r1", make_batch("r1", 1, 1), expected_seq=0)
    store.follow_poll_interval = 30.0  # only a wake-up can end this test in time

    def other_loop() -> None:
        async def go() -> None:
            await store.append("r1", make_batch("r1", 2, 2), expected_seq=1)
            await store.append("r1", [make_event("r1", 4, "run_succeeded")], expected_seq=3)

        asyncio.run(go())

    async def follower() -> list[int]:
        out = []
        async for e in store.follow("r1"):
            out.append(e.seq)
            if e.seq == 1:
                threading.Thread(target=other_loop).start()
        return out

    assert await asyncio.wait_for(follower(), timeout=5) == [1, 2, 3, 4]


# concurrency


def _check_intact(store: EventStore, run_ids: list[str], expected_last: int) -> None:
    """Every line of every log parses and its seqs run 1..expected_last."""
    if not isinstance(store, JsonlEventStore):
        return
    for run_id in run_ids:
        data = store.log_path(run_id).read_bytes()
        assert data.endswith(b"\n")
        lines = data.split(b"\n")[:-1]
        seqs = []
        for line in lines:
            framed = unframe(line)
            assert framed is not None, f"bad line in {run_id}: {line[:80]!r}"
            obj = orjson.loads(line)
            assert obj["run_id"] == run_id
            seqs.append(obj["seq"])
        assert seqs == list(range(1, expected_last + 1))


async def test_threads_each_own_run(store: EventStore) -> None:
    threads, rounds = 8, 30
    errors: list[BaseException] = []

    def work(i: int) -> None:
        run_id = f"t{i}"

        async def go() -> None:
            last = 0
            for r in range(rounds):
                size = 1 + (r + i) % 3
                batch = make_batch(run_id, last + 1, size, node=f"n{i}")
                last = await store.append(run_id, batch, expected_seq=last)

        try:
            asyncio.run(go())
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    run_ids = [f"t{i}" for i in range(threads)]
    for i, run_id in enumerate(run_ids):
        total = sum(1 + (r + i) % 3 for r in range(rounds))
        events = await store.read_all(run_id)
        assert [e.seq for e in events] == list(range(1, total + 1))
        assert {e.node for e in events} == {f"n{i}"}
        _check_intact(store, [run_id], total)
    assert await store.list_runs() == sorted(run_ids)


async def test_threads_race_on_one_run(store: EventStore) -> None:
    """Several threads append the same seq with expected_seq: exactly one wins each time."""
    threads, rounds = 6, 25
    barrier = threading.Barrier(threads)
    wins: dict[int, list[int]] = {s: [] for s in range(1, rounds * 2 + 1, 2)}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        async def go() -> None:
            for seq in wins:
                barrier.wait()
                batch = make_batch("shared", seq, 2, node=f"n{i}")
                try:
                    await store.append("shared", batch, expected_seq=seq - 1)
                except ConcurrencyError:
                    continue
                wins[seq].append(i)

        try:
            asyncio.run(go())
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    assert all(len(winners) == 1 for winners in wins.values()), wins
    events = await store.read_all("shared")
    assert [e.seq for e in events] == list(range(1, rounds * 2 + 1))
    for seq, (winner,) in wins.items():
        # both events of a batch come from the one thread that won it
        assert events[seq - 1].node == events[seq].node == f"n{winner}"
    _check_intact(store, ["shared"], rounds * 2)


async def test_reopen_reads_the_same(store: EventStore, tmp_path: Path) -> None:
    """A log written by one store reads the same through a fresh one (JSONL, Postgres)."""
    await store.append("r1", make_batch("r1", 1, 4), expected_seq=0)
    await store.put_artifact("r1", "a", {"k": 1})
    fresh: EventStore
    if isinstance(store, JsonlEventStore):
        await store.close()
        fresh = JsonlEventStore(store.root, durable=False)
    elif isinstance(store, PostgresEventStore):
        await store.close()
        fresh = PostgresEventStore(store.url)
    else:
        return
    try:
        events: list[Envelope] = await fresh.read_all("r1")
        assert events == make_batch("r1", 1, 4)
        assert await fresh.last_seq("r1") == 4
        assert await fresh.get_artifact("r1", "a") == {"k": 1}
        assert await fresh.append("r1", make_batch("r1", 5, 1), expected_seq=4) == 5
    finally:
        await fresh.close()
