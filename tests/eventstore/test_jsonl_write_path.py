"""The JSONL write path's shortcuts: each event checked once, a spare moved in one call."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from store_support import make_batch, make_event

from agentos.eventstore import JsonlEventStore
from agentos.eventstore._framing import frame
from agentos.eventstore._writer import rename_new
from agentos.eventstore.base import EventRejectedError
from agentos.state import load_state


async def test_the_log_holds_the_framed_lines_of_the_checked_events(tmp_path: Path) -> None:
    store = JsonlEventStore(tmp_path, durable=True)
    first = [make_event("r", 1, "run_created"), make_event("r", 2, "run_started")]
    later = make_batch("r", 3, 6)
    try:
        assert await store.append("r", first, 0) == 2  # a new log: checked before it exists
        assert await store.append("r", later, 2) == 8  # an open log
    finally:
        await store.close()
    assert store.log_path("r").read_bytes() == frame(first) + frame(later)
    reader = JsonlEventStore(tmp_path, durable=False)
    try:
        assert [e async for e in reader.read("r")] == [*first, *later]
        assert (await load_state(reader, "r")).last_seq == 8
    finally:
        await reader.close()


async def test_a_refused_event_in_a_batch_writes_none_of_it(tmp_path: Path) -> None:
    store = JsonlEventStore(tmp_path, durable=True)
    bad = make_event("r", 2, "node_succeeded").model_copy(update={"v": 99})
    try:
        assert await store.append("r", [make_event("r", 1, "run_created")], 0) == 1
        with pytest.raises(EventRejectedError, match="schema version"):
            await store.append("r", [bad, make_event("r", 3)], 1)
        assert await store.append("r", make_batch("r", 2, 2), 1) == 3
    finally:
        await store.close()
    assert [e.seq for e in await JsonlEventStore(tmp_path).read_all("r")] == [1, 2, 3]


def test_rename_new_moves_to_a_free_name(tmp_path: Path) -> None:
    (tmp_path / "spare").mkdir()
    (tmp_path / "spare" / "events.jsonl").write_bytes(b"")
    assert rename_new(str(tmp_path / "spare"), str(tmp_path / "run")) is True
    assert sorted(os.listdir(tmp_path)) == ["run"]
    assert (tmp_path / "run" / "events.jsonl").exists()


@pytest.mark.parametrize("taken", ["empty folder", "run folder", "file"])
def test_rename_new_never_replaces_a_name_that_exists(tmp_path: Path, taken: str) -> None:
    (tmp_path / "spare").mkdir()
    target = tmp_path / "run"
    if taken == "file":
        target.write_bytes(b"x")
    else:
        target.mkdir()  # rename() would silently replace an empty folder
        if taken == "run folder":
            (target / "events.jsonl").write_bytes(b"{}\n")
    assert rename_new(str(tmp_path / "spare"), str(target)) is False
    assert (tmp_path / "spare").is_dir()
    assert target.exists()
    if taken == "run folder":
        assert (target / "events.jsonl").read_bytes() == b"{}\n"


async def test_commit_stats_count_groups_and_their_batches(tmp_path: Path) -> None:
    store = JsonlEventStore(tmp_path / "data", durable=True)
    try:
        assert store.commit_stats() == (0, 0)
        await asyncio.gather(
            *(store.append(f"g{i}", make_batch(f"g{i}", 1, 2), expected_seq=0) for i in range(20))
        )
        groups, batches = store.commit_stats() or (0, 0)
        assert batches == 20 and 1 <= groups <= 20
    finally:
        await store.close()
    fast = JsonlEventStore(tmp_path / "fast", durable=False)
    assert fast.commit_stats() is None  # no group commit without fsync
    await fast.close()
