"""Disk faults through the runtime: fsync EIO and write ENOSPC under a running 8-node graph.

The store's own fault tests (tests/eventstore/test_jsonl_faults.py) drive appends by
hand; these drive them through a Supervisor and check what the runtime does: the failed
append is not acted on, `wait` raises StoreWriteError (it used to hang), the log reads with
a fresh store and holds every acknowledged event, and a resume with a healthy store ends
the run in the same state as an uninterrupted one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rel_agents import Executions, eight_graph

from agentos.actors import Supervisor
from agentos.events import Envelope
from agentos.events.codec import encode
from agentos.eventstore import JsonlEventStore, StoreWriteError
from agentos.eventstore._writer import FileOps
from agentos.state import fold, state_hash

GRAPH = eight_graph("steady", sleep=0.01)
RUN = "run-faults"


class FaultyOps:
    """FileOps failing after `ok` successful calls: fsync with EIO, or write with ENOSPC."""

    def __init__(self, kind: str, ok: int, partial: bool = False) -> None:
        self.kind, self.ok, self.partial = kind, ok, partial
        self.calls = 0
        self.failures = 0
        self.ops = FileOps(write=self.write, fsync=self.fsync, truncate=os.ftruncate)

    def _fail_now(self, kind: str) -> bool:
        if kind != self.kind:
            return False
        self.calls += 1
        return self.calls > self.ok

    def fsync(self, fd: int) -> None:
        if self._fail_now("fsync"):
            self.failures += 1
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        os.fdatasync(fd)

    def write(self, fd: int, data: bytes) -> int:
        if self._fail_now("write"):
            self.failures += 1
            if self.partial:
                os.write(fd, bytes(data[: len(data) // 2]))  # half reaches the file
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.write(fd, data)


@dataclass
class Watch:
    """What the store acknowledged and refused, and whether a retry was refused too."""

    acked: list[Envelope] = field(default_factory=list)
    failed: list[Envelope] = field(default_factory=list)
    retry_refused: list[bool] = field(default_factory=list)


class WatchedStore(JsonlEventStore):
    """A JSONL store that records each batch's outcome, and retries a failed one at once."""

    def __init__(self, root: Path, ops: FileOps, watch: Watch) -> None:
        super().__init__(root, durable=True, ops=ops)
        self.watch = watch

    def submit(
        self, run_id: str, events: Sequence[Envelope], expected_seq: int
    ) -> concurrent.futures.Future[int]:
        future = super().submit(run_id, events, expected_seq)
        batch = list(events)

        def outcome(f: concurrent.futures.Future[int]) -> None:
            if f.exception() is None:
                self.watch.acked.extend(batch)
                return
            self.watch.failed.extend(batch)
            # no retry may pretend the failed write or fsync worked: the log is refused
            try:
                super(WatchedStore, self).submit(run_id, batch, expected_seq)
            except StoreWriteError:
                self.watch.retry_refused.append(True)
            else:
                self.watch.retry_refused.append(False)

        future.add_done_callback(outcome)
        return future


async def _clean_run(root: Path) -> tuple[str, int, int]:
    """The uninterrupted run: its state hash, and how many fsyncs and writes it took."""
    fsyncs = writes = 0

    def fsync(fd: int) -> None:
        nonlocal fsyncs
        fsyncs += 1
        os.fdatasync(fd)

    def write(fd: int, data: bytes) -> int:
        nonlocal writes
        writes += 1
        return os.write(fd, data)

    ops = FileOps(write=write, fsync=fsync, truncate=os.ftruncate)
    store = JsonlEventStore(root, durable=True, ops=ops)
    sup = Supervisor.start(GRAPH, store, agents=Executions().registry(), workdir=root)
    try:
        state = await sup.run(run_id=RUN, timeout=20)
    finally:
        await sup.stop()
        await store.close()
    assert state.status == "succeeded"
    return state_hash(state), fsyncs, writes


@dataclass
class FaultResult:
    hit: bool  # whether the fault happened before the run ended
    resumed: bool


async def fault_then_resume(root: Path, faults: FaultyOps, ref_hash: str) -> FaultResult:
    """Run the graph on a faulty disk, check the failure, resume on a healthy store."""
    watch = Watch()
    execs = Executions()
    store = WatchedStore(root, faults.ops, watch)
    sup = Supervisor.start(GRAPH, store, agents=execs.registry(), workdir=root)
    error: BaseException | None = None
    try:
        try:
            await sup.start_run(run_id=RUN)
            state = await sup.wait(RUN, timeout=20)
        except StoreWriteError as exc:  # start_run raises it when the very first batch fails
            error = exc
        else:
            assert faults.failures == 0, "a failed append went unnoticed"
            assert state.status == "succeeded"
            return FaultResult(hit=False, resumed=False)
        await asyncio.sleep(0.05)  # give a wrongly started agent the time to show up
    finally:
        await sup.stop()
        await store.close()

    # a clear error, refused retries, and nothing acted on the failed batch
    assert "not acknowledged" in str(error) or "not stored" in str(error), error
    assert watch.failed and all(watch.retry_refused)
    started = {(e.node, e.attempt) for e in watch.failed if e.type == "node_started"}  # type: ignore[attr-defined]
    ran = {(node, attempt) for _, node, attempt in execs.seen}
    assert not started & ran, f"agents ran for an unacknowledged batch: {started & ran}"

    # the log reads with a fresh store and holds every acknowledged event, unchanged
    fresh = JsonlEventStore(root, durable=True)
    try:
        events = await fresh.read_all(RUN) if await fresh.exists(RUN) else []
    finally:
        await fresh.close()
    assert [encode(e) for e in events[: len(watch.acked)]] == [encode(e) for e in watch.acked]
    if faults.kind == "write":  # the torn batch is cut: exactly what was acknowledged
        assert len(events) == len(watch.acked)
    if not events:
        # the very first batch failed: nothing of the run is durable, there is nothing
        # to resume (start_run raised; the empty log keeps the id taken)
        return FaultResult(hit=True, resumed=False)

    # resume on a healthy disk ends the run as an uninterrupted run would
    healthy = JsonlEventStore(root, durable=True)
    sup = Supervisor.start(GRAPH, healthy, agents=execs.registry(), workdir=root)
    try:
        await sup.resume(RUN)
        state = await sup.wait(RUN, timeout=20)
        final = await healthy.read_all(RUN)
    finally:
        await sup.stop()
        await healthy.close()
    assert state.status == "succeeded"
    assert [e.seq for e in final] == list(range(1, len(final) + 1))
    assert [encode(e) for e in final[: len(watch.acked)]] == [encode(e) for e in watch.acked]
    assert state_hash(fold(final)) == ref_hash
    return FaultResult(hit=True, resumed=True)


async def _sweep(tmp_path: Path, cases: list[tuple[str, int, bool]]) -> list[FaultResult]:
    ref_hash, _, _ = await _clean_run(tmp_path / "clean")
    results = []
    for n, (kind, ok, partial) in enumerate(cases):
        faults = FaultyOps(kind, ok, partial)
        results.append(await fault_then_resume(tmp_path / f"case{n}", faults, ref_hash))
    return results


async def test_wait_raises_instead_of_hanging_after_a_failed_fsync(tmp_path: Path) -> None:
    """Regression: `wait` for a run stopped by a failed append used to follow it forever."""
    faults = FaultyOps("fsync", 3)  # the first commit syncs the new log and its 2 folders
    store = JsonlEventStore(tmp_path, durable=True, ops=faults.ops)
    sup = Supervisor.start(GRAPH, store, agents=Executions().registry(), workdir=tmp_path)
    try:
        await sup.start_run(run_id=RUN)
        while faults.failures == 0:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # the supervisor has dropped the run by now
        with pytest.raises(StoreWriteError, match="fsync failed"):
            await sup.wait(RUN, timeout=5)
    finally:
        await sup.stop()
        await store.close()


async def test_disk_faults_short(tmp_path: Path) -> None:
    cases = [
        ("fsync", 0, False),
        ("fsync", 3, False),
        ("fsync", 7, False),
        ("write", 0, True),
        ("write", 2, True),
        ("write", 5, False),
    ]
    results = await _sweep(tmp_path, cases)
    assert sum(r.hit for r in results) >= 5
    assert sum(r.resumed for r in results) >= 4


@pytest.mark.slow
async def test_disk_faults_every_commit(tmp_path: Path) -> None:
    _, fsyncs, writes = await _clean_run(tmp_path / "count")
    cases = [("fsync", k, False) for k in range(fsyncs)]
    cases += [("write", k, partial) for k in range(writes) for partial in (False, True)]
    results = await _sweep(tmp_path, cases)
    print(
        f"disk faults: {len(cases)} cases, {sum(r.hit for r in results)} hit, "
        f"{sum(r.resumed for r in results)} resumed ({fsyncs} fsyncs, {writes} writes a run)"
    )
    assert sum(r.hit for r in results) >= len(cases) // 2
