"""Disk faults injected through FileOps: failed appends are refused, acknowledged ones stay."""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import os
from pathlib import Path

import pytest
from store_support import make_batch

from agentos.eventstore import JsonlEventStore, StoreWriteError
from agentos.eventstore._writer import FileOps

RUN = "r1"


class Faults:
    """FileOps whose calls fail on demand, for chosen descriptors only."""

    def __init__(self) -> None:
        self.fail_fsync: set[int] | None = None  # None: healthy; empty set: every fd
        self.fail_write = False
        self.fail_truncate = False
        self.fsyncs = 0
        self.failed_fsyncs = 0
        self.ops = FileOps(write=self.write, fsync=self.fsync, truncate=self.truncate)

    def fsync(self, fd: int) -> None:
        self.fsyncs += 1
        if self.fail_fsync is not None and (not self.fail_fsync or fd in self.fail_fsync):
            self.failed_fsyncs += 1
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        os.fdatasync(fd)

    def write(self, fd: int, data: bytes) -> int:
        if self.fail_write:
            # a partial write: half the bytes reach the file, then the disk is full
            os.write(fd, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.write(fd, data)

    def truncate(self, fd: int, size: int) -> None:
        if self.fail_truncate:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        os.ftruncate(fd, size)


async def _seqs(store: JsonlEventStore, run_id: str = RUN) -> list[int]:
    return [e.seq for e in await store.read_all(run_id)]


@pytest.fixture
async def faulty(tmp_path: Path):  # type: ignore[no-untyped-def]
    faults = Faults()
    store = JsonlEventStore(tmp_path, durable=True, ops=faults.ops)
    await store.append(RUN, make_batch(RUN, 1, 2), expected_seq=0)
    await store.append(RUN, make_batch(RUN, 3, 1), expected_seq=2)
    yield store, faults
    await store.close()


async def test_fsync_error_fails_the_append_and_the_log(faulty) -> None:  # type: ignore[no-untyped-def]
    store, faults = faulty
    faults.fail_fsync = set()
    with pytest.raises(StoreWriteError, match="fsync failed"):
        await store.append(RUN, make_batch(RUN, 4, 2), expected_seq=3)
    # the disk recovers, but a failed fsync is never retried: the log takes no more writes
    faults.fail_fsync = None
    for _ in range(2):
        with pytest.raises(StoreWriteError, match="fsync failed"):
            await store.append(RUN, make_batch(RUN, 6, 1), expected_seq=5)
    # every acknowledged event is still there and the log reads fine
    seqs = await _seqs(store)
    assert seqs[:3] == [1, 2, 3]
    # after release the log is opened again and takes appends after what it holds
    await store.release(RUN)
    # the unacknowledged batch was cut off the file: no reader takes it for committed
    assert await store.last_seq(RUN) == 3
    assert await store.append(RUN, make_batch(RUN, 4, 1), expected_seq=3) == 4
    assert await _seqs(store) == [1, 2, 3, 4]
    assert store.recovered == []


async def test_partial_write_is_cut_off(faulty, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store, faults = faulty
    log = store.log_path(RUN)
    size = log.stat().st_size
    faults.fail_write = True
    with pytest.raises(StoreWriteError, match="write failed"):
        await store.append(RUN, make_batch(RUN, 4, 3), expected_seq=3)
    assert log.stat().st_size == size, "the partial batch must be truncated away"
    assert await _seqs(store) == [1, 2, 3]
    faults.fail_write = False
    with pytest.raises(StoreWriteError):
        await store.append(RUN, make_batch(RUN, 4, 1), expected_seq=3)
    await store.release(RUN)
    assert await store.last_seq(RUN) == 3
    assert await store.append(RUN, make_batch(RUN, 4, 1), expected_seq=3) == 4
    assert await _seqs(store) == [1, 2, 3, 4]
    assert store.recovered == []


async def test_partial_write_left_when_truncate_fails(faulty) -> None:  # type: ignore[no-untyped-def]
    store, faults = faulty
    faults.fail_write = True
    faults.fail_truncate = True
    with pytest.raises(StoreWriteError, match="cut when the run is opened again"):
        await store.append(RUN, make_batch(RUN, 4, 3), expected_seq=3)
    # the torn batch is in the file, but a reader does not take it as committed
    assert await _seqs(store) == [1, 2, 3]
    faults.fail_write = faults.fail_truncate = False
    await store.release(RUN)
    assert await store.append(RUN, make_batch(RUN, 4, 1), expected_seq=3) == 4
    assert len(store.recovered) == 1
    assert await _seqs(store) == [1, 2, 3, 4]


async def test_fault_on_one_run_spares_the_others(faulty) -> None:  # type: ignore[no-untyped-def]
    store, faults = faulty
    # every group syncs file by file, so the fault on one file is met on every run of
    # this test (a syncfs, for a wide group or a new log, would not call fsync at all)
    faults.ops.syncfs = None
    await store.append("r2", make_batch("r2", 1, 1), expected_seq=0)
    bad_fd = store._logs[RUN].fd
    faults.fail_fsync = {bad_fd}

    async def good(run_id: str) -> int:
        last = 0
        for _ in range(5):
            last = await store.append(run_id, make_batch(run_id, last + 1, 1), expected_seq=last)
        return last

    results = await asyncio.gather(
        store.append(RUN, make_batch(RUN, 4, 1), expected_seq=3),
        good("r3"),
        good("r4"),
        return_exceptions=True,
    )
    assert isinstance(results[0], StoreWriteError)
    assert "fsync failed" in str(results[0])
    assert faults.failed_fsyncs == 1  # the fault was met, once, by the run it was on
    assert results[1:] == [5, 5]
    assert await store.append("r2", make_batch("r2", 2, 1), expected_seq=1) == 2
    assert await _seqs(store, "r3") == [1, 2, 3, 4, 5]


async def test_queued_appends_after_a_failure_fail_too(faulty) -> None:  # type: ignore[no-untyped-def]
    """Appends pipelined behind a failed one are refused, never written after a gap."""
    store, faults = faulty
    faults.fail_write = True
    results = await asyncio.gather(
        *(store.append(RUN, make_batch(RUN, 4 + i, 1), expected_seq=3 + i) for i in range(5)),
        return_exceptions=True,
    )
    assert all(isinstance(r, StoreWriteError) for r in results), results
    faults.fail_write = False
    assert await _seqs(store) == [1, 2, 3]


async def test_group_commit_fsyncs_once_per_file(tmp_path: Path) -> None:
    faults = Faults()
    store = JsonlEventStore(tmp_path, durable=True, ops=faults.ops)
    runs = [f"g{i}" for i in range(16)]
    for run_id in runs:  # open every log first
        await store.append(run_id, make_batch(run_id, 1, 1), expected_seq=0)
    faults.fsyncs = 0
    rounds = 20

    async def appender(run_id: str) -> None:
        for i in range(rounds):
            await store.append(run_id, make_batch(run_id, 2 + i, 1), expected_seq=1 + i)

    await asyncio.gather(*(appender(r) for r in runs))
    # one fsync per file per group: never more than one per append
    assert faults.fsyncs <= len(runs) * rounds
    for run_id in runs:
        assert await _seqs(store, run_id) == list(range(1, rounds + 2))
    await store.close()


class CountingSyncfs:
    """A syncfs that counts its calls and fails on demand; fdatasync counted too."""

    def __init__(self, fail: bool = False, syncfs_from: int = 2, syncfs: bool = True) -> None:
        self.fail = fail
        self.syncfs_calls = 0
        self.fsync_calls = 0
        self.synced: list[str] = []  # the paths fsynced, in order
        self.ops = FileOps(
            fsync=self.fsync, syncfs=self.syncfs if syncfs else None, syncfs_from=syncfs_from
        )

    def fsync(self, fd: int) -> None:
        self.fsync_calls += 1
        self.synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        os.fdatasync(fd)

    def syncfs(self, fd: int) -> None:
        self.syncfs_calls += 1
        if self.fail:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        os.sync()


async def _append_many(store: JsonlEventStore, runs: list[str]) -> list[BaseException | int]:
    for run in runs:
        await store.prepare(run)  # open first, so the appends land in one group
    futures = [store.submit(run, make_batch(run, 1, 2), 0) for run in runs]
    return await asyncio.gather(*(asyncio.wrap_future(f) for f in futures), return_exceptions=True)


async def test_a_large_group_is_made_durable_with_one_syncfs(tmp_path: Path) -> None:
    counting = CountingSyncfs()
    store = JsonlEventStore(tmp_path, durable=True, ops=counting.ops)
    try:
        runs = [f"r{i}" for i in range(12)]
        results = await _append_many(store, runs)
        assert results == [2] * 12
        assert counting.syncfs_calls >= 1
        assert counting.syncfs_calls + counting.fsync_calls < 12  # shared, not one per file
        for run in runs:
            assert [e.seq for e in await store.read_all(run)] == [1, 2]
        # the syncfs made the new folders durable too: a later small group syncs the file only
        counting.synced.clear()
        assert await store.append("r0", make_batch("r0", 3, 1), 2) == 3
        assert counting.synced == [str(store.run_dir("r0") / "events.jsonl")]
    finally:
        await store.close()


async def test_a_small_group_syncs_file_by_file(tmp_path: Path) -> None:
    counting = CountingSyncfs()
    store = JsonlEventStore(tmp_path, durable=True, ops=counting.ops)
    try:
        # a new log: its folders must be synced too, so one syncfs does all three
        assert await _append_many(store, ["only"]) == [2]
        assert (counting.syncfs_calls, counting.synced) == (1, [])
        # the names are durable now: the next small group syncs the file only
        assert await store.append("only", make_batch("only", 3, 1), 2) == 3
        run_dir = store.run_dir("only")
        assert counting.synced == [str(run_dir / "events.jsonl")]
        assert counting.syncfs_calls == 1
    finally:
        await store.close()


async def test_without_syncfs_a_new_log_syncs_its_folders(tmp_path: Path) -> None:
    counting = CountingSyncfs(syncfs=False)
    store = JsonlEventStore(tmp_path, durable=True, ops=counting.ops)
    try:
        assert await _append_many(store, ["only"]) == [2]
        # the new log, and the folders that hold its name and its run folder's name
        run_dir = store.run_dir("only")
        assert counting.synced == [str(run_dir / "events.jsonl"), str(run_dir), str(tmp_path)]
        counting.synced.clear()
        assert await store.append("only", make_batch("only", 3, 1), 2) == 3
        assert counting.synced == [str(run_dir / "events.jsonl")]  # the names are durable now
    finally:
        await store.close()


async def test_a_failed_folder_sync_acknowledges_nothing(tmp_path: Path) -> None:
    def fsync(fd: int) -> None:
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        os.fdatasync(fd)

    store = JsonlEventStore(tmp_path, durable=True, ops=FileOps(fsync=fsync, syncfs=None))
    try:
        with pytest.raises(StoreWriteError, match="fsync failed on its folder"):
            await store.append("r", make_batch("r", 1, 2), 0)
        assert store.log_path("r").read_bytes() == b""  # written, then cut: not acknowledged
        with pytest.raises(StoreWriteError):
            await store.append("r", make_batch("r", 1, 2), 0)
    finally:
        await store.close()


async def test_a_failed_syncfs_acknowledges_nothing_of_its_group(tmp_path: Path) -> None:
    counting = CountingSyncfs(fail=True, syncfs_from=0)  # every group goes through syncfs
    store = JsonlEventStore(tmp_path, durable=True, ops=counting.ops)
    runs = [f"r{i}" for i in range(6)]
    try:
        results = await _append_many(store, runs)
        assert all(isinstance(r, StoreWriteError) for r in results), results
        for run, result in zip(runs, results, strict=True):
            if isinstance(result, StoreWriteError):
                assert f"run {run}: syncfs failed" in str(result)
                with pytest.raises(StoreWriteError):  # no retry pretends it worked
                    await store.append(run, make_batch(run, 3, 1), 2)
    finally:
        await store.close()
    for run in runs:  # nothing unacknowledged is left, not even an empty log
        assert not (tmp_path / run).exists()


async def test_a_group_that_fails_later_leaves_none_of_its_batches(tmp_path: Path) -> None:
    import threading
    import time

    writes = 0
    hold = threading.Event()

    def write(fd: int, data: bytes) -> int:
        nonlocal writes
        writes += 1
        if writes == 3:  # the second batch of run "r" in the held group
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.write(fd, data)

    def fsync(fd: int) -> None:
        if not hold.is_set():
            hold.set()
            time.sleep(0.3)  # hold the writer: the next appends queue up as one group
        os.fdatasync(fd)

    store = JsonlEventStore(tmp_path, ops=FileOps(write=write, fsync=fsync, syncfs=None))
    try:
        await store.prepare("r")
        first = asyncio.ensure_future(store.append("x", make_batch("x", 1, 1), 0))
        await asyncio.to_thread(hold.wait)
        a = store.submit("r", make_batch("r", 1, 2), 0)
        b = store.submit("r", make_batch("r", 3, 1), 2)
        await first
        for future in (a, b):
            with pytest.raises(StoreWriteError):
                await asyncio.wrap_future(future)
        assert store.log_path("r").read_bytes() == b""  # batch a was written, then cut
    finally:
        await store.close()


async def test_commit_hook_runs_once_per_group_after_its_futures(tmp_path: Path) -> None:
    """The hook the supervisor's ack queue relies on: after every future of the group."""
    import threading
    import time

    hold = threading.Event()
    release = threading.Event()

    def fsync(fd: int) -> None:
        if not hold.is_set():
            hold.set()
            release.wait(5)  # hold the first group: the next appends form one group
        os.fdatasync(fd)

    store = JsonlEventStore(tmp_path, ops=FileOps(fsync=fsync, syncfs=None))
    seen: list[list[bool]] = []
    futures: list[concurrent.futures.Future[int]] = []
    store.on_commit(lambda: seen.append([f.done() for f in futures]))
    try:
        first = store.submit("a", make_batch("a", 1, 1), 0)
        await asyncio.to_thread(hold.wait, 5)
        futures += [store.submit(r, make_batch(r, 1, 2), 0) for r in ("b", "c")]
        # the sync thread writes them with their group: not while it syncs the first
        assert all(store.log_path(r).stat().st_size == 0 for r in ("b", "c"))
        assert not any(f.done() for f in futures)
        release.set()
        assert await asyncio.wrap_future(first) == 1
        assert [await asyncio.wrap_future(f) for f in futures] == [2, 2]
        deadline = time.monotonic() + 5
        while len(seen) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert seen[-1] == [True, True]  # the group's hook ran after both were resolved
        assert len(seen) == 2  # one call per group, not one per append
    finally:
        release.set()
        await store.close()


async def test_release_waits_for_the_batches_the_sync_thread_still_writes(tmp_path: Path) -> None:
    """A log given up with a batch queued keeps its descriptor (and folder) until the
    sync thread has written and synced it: nothing is written to a closed descriptor."""
    import threading

    hold = threading.Event()
    release = threading.Event()

    def syncfs(fd: int) -> None:
        hold.set()
        release.wait(5)
        os.sync()

    store = JsonlEventStore(tmp_path, ops=FileOps(syncfs=syncfs))
    try:
        first = store.submit("a", make_batch("a", 1, 1), 0)
        await asyncio.to_thread(hold.wait, 5)  # the first group is syncing
        second = store.submit("r", make_batch("r", 1, 2), 0)  # queued behind it
        giving_up = asyncio.ensure_future(store.release("r"))
        await asyncio.sleep(0.05)
        assert not giving_up.done()  # waits for the queued batch
        release.set()
        await giving_up
        assert await asyncio.wrap_future(first) == 1
        assert await asyncio.wrap_future(second) == 2
        assert len(store.log_path("r").read_bytes().splitlines()) == 2
    finally:
        release.set()
        await store.close()


async def test_without_fsync_an_append_is_acknowledged_before_submit_returns(
    tmp_path: Path,
) -> None:
    store = JsonlEventStore(tmp_path, durable=False)
    calls: list[int] = []
    store.on_commit(lambda: calls.append(1))
    try:
        future = store.submit("r", make_batch("r", 1, 3), 0)
        assert future.done() and future.result() == 3  # no thread, no wait
        assert calls == []  # nothing was resolved outside submit
        assert [e.seq for e in await store.read_all("r")] == [1, 2, 3]
    finally:
        await store.close()


async def test_a_log_created_in_an_existing_folder_syncs_both_folders(tmp_path: Path) -> None:
    """A replay puts artifacts in the new run's folder before its first event."""
    counting = CountingSyncfs(syncfs=False)
    store = JsonlEventStore(tmp_path, durable=True, ops=counting.ops)
    try:
        await store.put_artifact("fork", "base", {"a": 1})  # makes the folder
        assert await store.append("fork", make_batch("fork", 1, 1), 0) == 1
        run_dir = store.run_dir("fork")
        assert counting.synced == [str(run_dir / "events.jsonl"), str(run_dir), str(tmp_path)]
    finally:
        await store.close()


async def test_a_new_data_root_is_made_durable_before_its_first_ack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentos import _files

    made: list[str] = []
    monkeypatch.setattr(_files, "fsync_dir", lambda p: made.append(str(p)))
    root = tmp_path / "new" / "data"
    store = JsonlEventStore(root, durable=True)
    try:
        assert await store.append("r", make_batch("r", 1, 1), 0) == 1
        # the names of the root's new folders, before the first event was acknowledged
        # (the spare-folder thread may make the root at the same time: both sync it)
        assert set(made) == {str(tmp_path), str(tmp_path / "new")}
    finally:
        await store.close()


async def test_a_cancelled_append_leaves_the_writer_working(tmp_path: Path) -> None:
    """Regression: cancelling `append` after its batch was written cancelled the store's
    future, and resolving it then killed the sync thread: every later append hung."""
    store = JsonlEventStore(tmp_path, durable=True)
    try:
        task = asyncio.ensure_future(store.append("r", make_batch("r", 1, 1), 0))
        while not (store.log_path("r").exists() and store.log_path("r").stat().st_size):
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await asyncio.wait_for(store.append("s", make_batch("s", 1, 1), 0), 5) == 1
        assert await asyncio.wait_for(store.append("r", make_batch("r", 2, 1), 1), 5) == 2
    finally:
        await store.close()


async def test_futures_are_resolved_on_the_loop_that_submitted_them(tmp_path: Path) -> None:
    """The sync thread hands each group back to the submitting loop (no GIL-heavy
    callbacks in that thread); appends made off any loop are resolved by the thread."""
    import threading

    watched = threading.Event()

    def fsync(fd: int) -> None:
        watched.wait(5)  # not before the test's callback is on the future
        os.fdatasync(fd)

    store = JsonlEventStore(tmp_path, durable=True, ops=FileOps(fsync=fsync, syncfs=None))
    threads: dict[str, str] = {}

    def submit_and_watch(run: str) -> concurrent.futures.Future[int]:
        watched.clear()
        future = store.submit(run, make_batch(run, 1, 1), 0)
        future.add_done_callback(lambda _: threads.setdefault(run, threading.current_thread().name))
        watched.set()
        return future

    try:
        assert await asyncio.wrap_future(submit_and_watch("on-loop")) == 1
        off = await asyncio.to_thread(submit_and_watch, "off-loop")
        assert await asyncio.wrap_future(off) == 1
        here = threading.current_thread().name
        assert threads == {"on-loop": here, "off-loop": "agentos-log-sync"}
    finally:
        await store.close()


async def test_a_later_groups_failure_does_not_fail_a_committed_group(tmp_path: Path) -> None:
    """A group is resolved on its loop after the hand-over; if a later group on the same
    log fails before the loop gets to it, the committed group still succeeds."""
    import threading
    import time

    fail = threading.Event()
    synced = threading.Event()

    def fsync(fd: int) -> None:
        if fail.is_set():
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        os.fdatasync(fd)
        synced.set()

    store = JsonlEventStore(tmp_path, durable=True, ops=FileOps(fsync=fsync, syncfs=None))
    try:
        assert await store.append("r", make_batch("r", 1, 1), 0) == 1
        synced.clear()
        first = store.submit("r", make_batch("r", 2, 1), 1)  # resolved on this loop, later
        assert synced.wait(5)
        time.sleep(0.1)  # the loop is held here: the group is handed over, not resolved
        fail.set()
        box: list[concurrent.futures.Future[int]] = []
        submitter = threading.Thread(
            target=lambda: box.append(store.submit("r", make_batch("r", 3, 1), 2))
        )
        submitter.start()
        submitter.join()
        assert isinstance(box[0].exception(timeout=5), StoreWriteError)  # off-loop: resolved
        assert await asyncio.wrap_future(first) == 2  # durable before the failure
        assert [e.seq for e in await store.read_all("r")] == [1, 2]
    finally:
        await store.close()


async def test_a_run_whose_first_append_failed_leaves_no_folder(tmp_path: Path) -> None:
    faults = Faults()
    faults.fail_write = True  # the disk is full from the first byte of the run on
    store = JsonlEventStore(tmp_path, durable=True, ops=faults.ops, spares=0)
    try:
        with pytest.raises(StoreWriteError):
            await store.append("never", make_batch("never", 1, 2), expected_seq=0)
        await store.release("never")
        assert not (tmp_path / "never").exists()
        faults.fail_write = False  # space is back: the same run starts from nothing
        await store.append("never", make_batch("never", 1, 2), expected_seq=0)
        assert await _seqs(store, "never") == [1, 2]
    finally:
        await store.close()
