"""Reads of a growing log resume where the last read ended, and equal full reads."""

from __future__ import annotations

import os
from pathlib import Path

from store_support import make_batch

from agentos.eventstore import JsonlEventStore
from agentos.eventstore._reader import read_log


async def test_reads_after_a_mark_equal_full_reads(tmp_path: Path) -> None:
    store = JsonlEventStore(tmp_path, durable=False)
    try:
        last = 0
        for size in (3, 1, 4, 2):
            await store.append("r", make_batch("r", last + 1, size), last)
            last += size
            tail = await store.read_all("r", after_seq=last - size)  # from the mark
            assert [e.seq for e in tail] == list(range(last - size + 1, last + 1))
            mark = store._read_marks[store.log_path("r")]
            assert mark.seq == last
            assert mark.offset == store.log_path("r").stat().st_size
        full = [e async for e in read_log(store.log_path("r"))]  # no mark: from byte 0
        assert full == await store.read_all("r")
        assert await store.read_all("r", after_seq=2, upto_seq=5) == full[2:5]
    finally:
        await store.close()


async def test_a_replaced_log_is_read_from_its_start(tmp_path: Path) -> None:
    store = JsonlEventStore(tmp_path, durable=False)
    other = JsonlEventStore(tmp_path / "other", durable=False)
    try:
        await store.append("r", make_batch("r", 1, 5), 0)
        assert len(await store.read_all("r")) == 5
        await store.release("r")
        await other.append("r", make_batch("r", 1, 2), 0)
        os.replace(other.log_path("r"), store.log_path("r"))  # a new file, a new inode
        assert [e.seq for e in await store.read_all("r", after_seq=1)] == [2]
    finally:
        await store.close()
        await other.close()


async def test_a_mark_never_hides_an_uncommitted_tail(tmp_path: Path) -> None:
    store = JsonlEventStore(tmp_path, durable=False)
    try:
        await store.append("r", make_batch("r", 1, 2), 0)
        await store.read_all("r")
        with open(store.log_path("r"), "ab") as f:
            f.write(b'{"v":1,"seq":3')  # a torn line: not committed
        assert [e.seq for e in await store.read_all("r", after_seq=2)] == []
        assert store._read_marks[store.log_path("r")].seq == 2
    finally:
        await store.close()
