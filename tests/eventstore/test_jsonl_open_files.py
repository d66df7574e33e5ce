"""Open files: thousands of live runs within a small open-file limit, one writer per run."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from store_support import make_batch

from agentos.eventstore import JsonlEventStore, RunLockedError, StoreWriteError
from agentos.eventstore._lock import is_held
from agentos.eventstore._writer import FileOps

# a child with a hard limit of 256 open files runs many small durable runs at once
_MANY_RUNS = """
import asyncio, json, os, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
from agentos.actors import NodeContext, Supervisor
from agentos.agents import AgentRegistry
from agentos.eventstore import JsonlEventStore

async def step(ctx: NodeContext) -> dict:
    await asyncio.sleep(0.01)
    return {"ok": True}

async def main() -> None:
    reg = AgentRegistry()
    reg.register("step", step)
    graph = {"name": "two", "nodes": [
        {"name": "a", "agent": "step"}, {"name": "b", "agent": "step", "after": ["a"]}]}
    store = JsonlEventStore(sys.argv[1], durable=True)
    sup = Supervisor.start(graph, store, agents=reg)
    peak = 0

    async def one(i: int) -> str:
        nonlocal peak
        run_id = await sup.start_run({"i": i})
        peak = max(peak, len(os.listdir("/proc/self/fd")))
        return (await sup.wait(run_id, timeout=120)).status

    results = await asyncio.gather(*(one(i) for i in range(int(sys.argv[2]))),
                                   return_exceptions=True)
    await sup.stop()
    await store.close()
    errors = sorted({repr(r)[:200] for r in results if r != "succeeded"})
    print(json.dumps({"succeeded": results.count("succeeded"), "errors": errors[:3],
                      "peak_fds": peak, "closed": store.open_logs.closed}))

asyncio.run(main())
"""

# a child whose every descriptor is taken when a new run is created
_NO_FDS_LEFT = """
import asyncio, errno, os, resource, sys, time
from store_support import make_batch
from agentos.eventstore import JsonlEventStore

async def main() -> None:
    store = JsonlEventStore(sys.argv[1], durable=True, spares=int(sys.argv[2]))
    await store.append("warm", make_batch("warm", 1, 1), 0)
    await store.release("warm")  # no log of this store is open: none can be closed
    deadline = time.monotonic() + 10
    while store.spares and len(store.spares._ready) < store.spares.size:
        assert time.monotonic() < deadline, "no spares"
        await asyncio.sleep(0.01)
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    taken = []
    try:
        while True:
            taken.append(os.open(os.devnull, os.O_RDONLY))
    except OSError as exc:
        assert exc.errno == errno.EMFILE
    try:
        store.submit("new", make_batch("new", 1, 1), 0)
    except OSError as exc:
        print(exc.errno == errno.EMFILE, exc.strerror)
    else:
        print("started")
    for fd in taken:
        os.close(fd)
    await store.close()

asyncio.run(main())
"""

# another process that tries to write a run
_SECOND_WRITER = """
import asyncio, sys
from store_support import make_batch
from agentos.eventstore import JsonlEventStore

async def main() -> None:
    store = JsonlEventStore(sys.argv[1], durable=True)
    try:
        await store.append(sys.argv[2], make_batch(sys.argv[2], 2, 1), 1)
        print("written")
    except Exception as exc:
        print(type(exc).__name__)
    finally:
        await store.close()

asyncio.run(main())
"""

HERE = Path(__file__).resolve().parent


def _child(script: str, *args: str) -> str:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def _many_runs(tmp_path: Path, runs: int) -> None:
    import json

    report = json.loads(_child(_MANY_RUNS, str(tmp_path), str(runs)))
    assert report["errors"] == []
    assert report["succeeded"] == runs
    assert report["peak_fds"] < 256
    assert report["closed"] > 0  # idle logs were closed to make room
    runs_left = [n for n in os.listdir(tmp_path) if not n.startswith(".")]
    assert len(runs_left) == runs


def test_2000_concurrent_durable_runs_fit_in_256_open_files(tmp_path: Path) -> None:
    _many_runs(tmp_path, 2000)


@pytest.mark.slow
def test_10000_concurrent_durable_runs_fit_in_256_open_files(tmp_path: Path) -> None:
    _many_runs(tmp_path, 10_000)


@pytest.mark.parametrize("spares", [0, 4])
def test_a_run_that_cannot_open_its_log_leaves_no_folder(tmp_path: Path, spares: int) -> None:
    out = _child(_NO_FDS_LEFT, str(tmp_path), str(spares))
    assert out == "True Too many open files"  # the caller hears why
    assert sorted(n for n in os.listdir(tmp_path) if not n.startswith(".")) == ["warm"]


def test_the_soft_open_file_limit_is_raised_to_the_hard_one(tmp_path: Path) -> None:
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, 512))\n"
        "from agentos.eventstore import JsonlEventStore\n"
        "store = JsonlEventStore(sys.argv[1], durable=True)\n"
        "print(resource.getrlimit(resource.RLIMIT_NOFILE)[0], store.open_logs.limit)\n"
    )
    assert _child(script, str(tmp_path)) == "512 256"


async def test_a_closed_idle_log_still_refuses_a_second_writer(tmp_path: Path) -> None:
    store = JsonlEventStore(tmp_path, durable=True, max_open_logs=2)
    other = JsonlEventStore(tmp_path, durable=True)
    try:
        for run in ("r1", "r2", "r3"):
            assert await store.append(run, make_batch(run, 1, 1), 0) == 1
        assert store._logs["r1"].fd == -1 and len(store.open_logs) == 2  # closed to make room
        assert is_held(store.log_path("r1"))
        assert await other.has_writer("r1")
        with pytest.raises(RunLockedError, match="run r1 is already being written"):
            await other.append("r1", make_batch("r1", 2, 1), 1)
        assert _child(_SECOND_WRITER, str(tmp_path), "r1") == "RunLockedError"
        # the owner opens it again on its next write, and carries on
        assert await store.append("r1", make_batch("r1", 2, 1), 1) == 2
        assert [e.seq for e in await store.read_all("r1")] == [1, 2]
        with pytest.raises(RunLockedError):  # open again: refused by its flock too
            await other.append("r1", make_batch("r1", 3, 1), 2)
        # released: the run may be written by another store
        await store.release("r1")
        assert not is_held(store.log_path("r1"))
        assert await other.append("r1", make_batch("r1", 3, 1), 2) == 3
    finally:
        await other.close()
        await store.close()
    assert await JsonlEventStore(tmp_path, durable=False).list_runs() == ["r1", "r2", "r3"]


async def test_a_log_waiting_for_its_sync_is_not_closed(tmp_path: Path) -> None:
    """Only an idle log is closed: everything written to it is durable by then."""
    hold = threading.Event()
    release = threading.Event()

    def fsync(fd: int) -> None:
        if not hold.is_set():
            hold.set()
            release.wait(5)  # the first batch of "a" waits for its sync
        os.fdatasync(fd)

    ops = FileOps(fsync=fsync, syncfs=None)
    store = JsonlEventStore(tmp_path, durable=True, ops=ops, max_open_logs=1)
    try:
        first = store.submit("a", make_batch("a", 1, 1), 0)
        assert await asyncio.to_thread(hold.wait, 5)
        await store.prepare("b")  # over the limit: "a" is busy, so it stays open
        log_a = store._logs["a"]
        assert log_a.fd >= 0 and log_a.pending == 1
        release.set()
        assert await asyncio.wrap_future(first) == 1
        await store.prepare("c")  # now "a" is idle: it is closed to make room
        assert log_a.fd == -1 and log_a.kept
        assert await store.append("a", make_batch("a", 2, 1), 1) == 2
        assert [e.seq for e in await store.read_all("a")] == [1, 2]
    finally:
        release.set()
        await store.close()


async def test_a_log_changed_while_closed_takes_no_more_writes(tmp_path: Path) -> None:
    store = JsonlEventStore(tmp_path, durable=True, max_open_logs=1)
    try:
        await store.append("a", make_batch("a", 1, 1), 0)
        await store.append("b", make_batch("b", 1, 1), 0)  # closes "a"
        with open(store.log_path("a"), "ab") as f:  # someone wrote it behind the lock
            f.write(b"{}\n")
        with pytest.raises(StoreWriteError, match="changed while this store had it closed"):
            await store.append("a", make_batch("a", 2, 1), 1)
    finally:
        await store.close()
