"""The store's own delete of a run, part of the contract every backend keeps: the run,
its events and artifacts go; an unknown run is refused; a run some writer has is
refused and stays whole."""

from __future__ import annotations

import pytest
from store_support import make_batch

from agentos.eventstore import EventStore, JsonlEventStore, UnknownRunError
from agentos.eventstore.base import RunLockedError
from agentos.eventstore.postgres import PostgresEventStore


async def _second(store: EventStore) -> EventStore | None:
    """Another store on the same data (another process, as far as locks go)."""
    if isinstance(store, JsonlEventStore):
        return JsonlEventStore(store.root, durable=False)
    if isinstance(store, PostgresEventStore):
        return PostgresEventStore(store.url)
    return None


async def test_delete_removes_the_run_and_only_it(store: EventStore) -> None:
    for run_id in ("r1", "r2"):
        await store.append(run_id, make_batch(run_id, 1, 3), expected_seq=0)
        await store.put_artifact(run_id, "doc", {"run": run_id})
        await store.release(run_id)
    await store.delete_run("r1")
    assert not await store.exists("r1")
    assert await store.list_runs() == ["r2"]
    with pytest.raises(UnknownRunError):
        await store.read_all("r1")
    assert await store.get_artifact("r2", "doc") == {"run": "r2"}
    assert await store.read_all("r2") == make_batch("r2", 1, 3)
    # the id may be used again, from seq 1
    assert await store.append("r1", make_batch("r1", 1, 1), expected_seq=0) == 1


async def test_delete_of_an_unknown_run_is_refused(store: EventStore) -> None:
    with pytest.raises(UnknownRunError):
        await store.delete_run("nope")
    with pytest.raises(ValueError):
        await store.delete_run("../x")


async def test_a_run_some_writer_has_is_not_deleted(store: EventStore) -> None:
    await store.append("r1", make_batch("r1", 1, 3), expected_seq=0)
    other = await _second(store)
    if other is None:  # the memory store has no writers but the caller
        await store.delete_run("r1")
        assert not await store.exists("r1")
        return
    try:
        with pytest.raises(RunLockedError):
            await other.delete_run("r1")  # this store still writes it
        with pytest.raises(RunLockedError):
            await store.delete_run("r1")  # its own writer too
        assert await other.read_all("r1") == make_batch("r1", 1, 3)
        await store.release("r1")
        await other.delete_run("r1")
        assert not await store.exists("r1")
    finally:
        await other.close()
