"""The JSONL store across processes: concurrent writers of different runs, one writer per run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from store_support import make_batch

from agentos.eventstore import JsonlEventStore, RunLockedError
from agentos.eventstore._framing import unframe

_PRELUDE = """
import asyncio, sys, time
from datetime import UTC, datetime
from agentos.events import NodeStarted
from agentos.eventstore import JsonlEventStore

def batch(run_id, first, n):
    ts = datetime.now(UTC)
    return [NodeStarted(seq=first + i, run_id=run_id, ts=ts, node="p" * 50) for i in range(n)]
"""

# append `count` batches of 1-3 events to run argv[2]
_APPENDER = (
    _PRELUDE
    + """
async def main():
    store = JsonlEventStore(sys.argv[1], durable=sys.argv[4] == "1")
    run_id, last = sys.argv[2], 0
    for i in range(int(sys.argv[3])):
        last = await store.append(run_id, batch(run_id, last + 1, 1 + i % 3), expected_seq=last)
    await store.close()

asyncio.run(main())
"""
)

# take the lock of run argv[2] by appending to it, say so, then hold it until killed
_HOLDER = (
    _PRELUDE
    + """
async def main():
    store = JsonlEventStore(sys.argv[1], durable=True)
    run_id = sys.argv[2]
    last = await store.last_seq(run_id)
    await store.append(run_id, batch(run_id, last + 1, 1), expected_seq=last)
    print("ready", flush=True)
    time.sleep(60)

asyncio.run(main())
"""
)


def _spawn(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _hold(root: Path, run_id: str) -> subprocess.Popen[str]:
    proc = _spawn(_HOLDER, str(root), run_id)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"holder did not start: {err}")
    return proc


def _check_log(path: Path, run_id: str) -> int:
    """Assert every line of the log is intact with contiguous seqs; return the count."""
    data = path.read_bytes()
    assert data.endswith(b"\n")
    lines = data.split(b"\n")[:-1]
    for n, line in enumerate(lines, start=1):
        assert unframe(line) is not None, f"{path}: line {n} is damaged"
        obj = orjson.loads(line)
        assert obj["run_id"] == run_id
        assert obj["seq"] == n
    return len(lines)


@pytest.mark.parametrize("durable", [True, False])
def test_processes_append_to_different_runs(tmp_path: Path, durable: bool) -> None:
    procs, count = 6, 40
    children = [
        _spawn(_APPENDER, str(tmp_path), f"run{i}", str(count), "1" if durable else "0")
        for i in range(procs)
    ]
    for child in children:
        _, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
    expected = sum(1 + i % 3 for i in range(count))
    for i in range(procs):
        assert _check_log(tmp_path / f"run{i}" / "events.jsonl", f"run{i}") == expected


async def test_second_process_gets_run_locked_quickly(tmp_path: Path) -> None:
    holder = _hold(tmp_path, "r1")
    store = JsonlEventStore(tmp_path, durable=True)
    try:
        start = time.monotonic()
        with pytest.raises(RunLockedError, match=f"pid {holder.pid}"):
            await store.append("r1", make_batch("r1", 2, 1), expected_seq=1)
        assert time.monotonic() - start < 1.0
        # reading needs no lock
        assert [e.seq for e in await store.read_all("r1")] == [1]
        # other runs are free
        assert await store.append("r2", make_batch("r2", 1, 1), expected_seq=0) == 1
    finally:
        holder.kill()
        holder.communicate()
        await store.close()


async def test_lock_released_when_holder_dies(tmp_path: Path) -> None:
    holder = _hold(tmp_path, "r1")
    store = JsonlEventStore(tmp_path, durable=True)
    try:
        with pytest.raises(RunLockedError):
            await store.append("r1", make_batch("r1", 2, 1), expected_seq=1)
        holder.send_signal(signal.SIGKILL)
        holder.communicate(timeout=10)
        assert await store.append("r1", make_batch("r1", 2, 2), expected_seq=1) == 3
        assert [e.seq for e in await store.read_all("r1")] == [1, 2, 3]
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.communicate()
        await store.close()


@pytest.mark.parametrize("how", ["release", "close"])
async def test_lock_released_by_release_or_close(tmp_path: Path, how: str) -> None:
    first = JsonlEventStore(tmp_path, durable=True)
    await first.append("r1", make_batch("r1", 1, 1), expected_seq=0)
    # a second store in this process is refused like another process would be
    second = JsonlEventStore(tmp_path, durable=True)
    with pytest.raises(RunLockedError):
        await second.append("r1", make_batch("r1", 2, 1), expected_seq=1)
    await second.close()
    if how == "release":
        await first.release("r1")
    else:
        await first.close()
    # now a child process can take the run
    holder = _hold(tmp_path, "r1")
    holder.kill()
    holder.communicate()
    assert _check_log(tmp_path / "r1" / "events.jsonl", "r1") == 2
    if how == "release":
        # and the first store takes it back after the holder is gone
        assert await first.append("r1", make_batch("r1", 3, 1), expected_seq=2) == 3
        await first.close()
    assert _check_log(tmp_path / "r1" / "events.jsonl", "r1") == 3 - (how == "close")


async def test_has_writer_sees_a_live_writer_and_its_absence(tmp_path: Path) -> None:
    from agentos.events import RunStarted, utcnow

    writer = JsonlEventStore(tmp_path, durable=False)
    reader = JsonlEventStore(tmp_path, durable=False)
    try:
        await writer.append("r1", [RunStarted(seq=1, run_id="r1", ts=utcnow())], 0)
        assert await reader.has_writer("r1")
        await writer.release("r1")
        assert not await reader.has_writer("r1")
        assert not await reader.has_writer("never-written")
    finally:
        await writer.close()
        await reader.close()


async def test_the_log_itself_is_the_lock(tmp_path: Path) -> None:
    """A new run's folder holds only its log; has_writer probes the log's own flock."""
    store = JsonlEventStore(tmp_path, durable=True)
    other = JsonlEventStore(tmp_path, durable=True)
    try:
        await store.append("r1", make_batch("r1", 1, 1), expected_seq=0)
        assert sorted(p.name for p in (tmp_path / "r1").iterdir()) == ["events.jsonl"]
        assert await other.has_writer("r1")
        await store.release("r1")
        assert not await other.has_writer("r1")
        assert await other.append("r1", make_batch("r1", 2, 1), expected_seq=1) == 2
        with pytest.raises(RunLockedError, match=f"locked by pid {os.getpid()}"):
            await store.append("r1", make_batch("r1", 3, 1), expected_seq=2)
    finally:
        await other.close()
        await store.close()
