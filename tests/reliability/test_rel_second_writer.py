"""A second writer on a live run gets RunLockedError at once, from another process or not."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rel_agents import Executions, eight_graph

from agentos.actors import Supervisor
from agentos.eventstore import JsonlEventStore, RunLockedError
from agentos.state import fold

HERE = Path(__file__).resolve().parent
RUN = "run-live"

# a process that runs the 8-node graph slowly and says when its run has started
_WRITER = """
import asyncio, sys
from rel_agents import eight_graph
from agentos.actors import Supervisor
from agentos.eventstore import JsonlEventStore

async def main():
    store = JsonlEventStore(sys.argv[1], durable=True)
    sup = Supervisor.start(eight_graph(sleep=0.3), store)
    await sup.start_run(run_id=sys.argv[2])
    print("started", flush=True)
    state = await sup.wait(sys.argv[2])
    print(state.status, flush=True)
    await sup.stop()
    await store.close()

asyncio.run(main())
"""


async def _refused_fast(sup: Supervisor, store: JsonlEventStore, holder: str) -> None:
    """Resume and a raw append both fail with RunLockedError in well under a second."""
    began = time.monotonic()
    with pytest.raises(RunLockedError, match=holder):
        await sup.resume(RUN)
    assert time.monotonic() - began < 1.0
    events = await store.read_all(RUN)  # reading needs no lock
    last = events[-1].seq
    began = time.monotonic()
    with pytest.raises(RunLockedError):
        await store.append(RUN, [events[-1].model_copy(update={"seq": last + 1})], last)
    assert time.monotonic() - began < 1.0
    with pytest.raises(ValueError, match="already exists"):
        await sup.start_run(run_id=RUN)


async def test_second_process_cannot_resume_a_live_run(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(tmp_path), RUN],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    store = JsonlEventStore(tmp_path, durable=True)
    sup = Supervisor.start(eight_graph(sleep=0.3), store, agents=Executions().registry())
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "started"
        await _refused_fast(sup, store, f"pid {writer.pid}")
        out, err = await asyncio.to_thread(writer.communicate, timeout=30)
        assert out.strip() == "succeeded", err
        # the live writer was not disturbed: its log is whole and finished
        state = fold(await store.read_all(RUN))
        assert state.status == "succeeded"
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.communicate()
        await sup.stop()
        await store.close()


async def test_second_supervisor_in_process_cannot_resume_a_live_run(tmp_path: Path) -> None:
    execs = Executions()
    graph = eight_graph("steady", sleep=0.25)
    first_store = JsonlEventStore(tmp_path, durable=True)
    second_store = JsonlEventStore(tmp_path, durable=True)
    first = Supervisor.start(graph, first_store, agents=execs.registry())
    second = Supervisor.start(graph, second_store, agents=execs.registry())
    try:
        await first.start_run(run_id=RUN)
        await _refused_fast(second, second_store, f"pid {os.getpid()}")
        state = await first.wait(RUN, timeout=20)
        assert state.status == "succeeded"
        # no node ran twice: the second supervisor never acted
        assert len(execs.seen) == len(set(execs.seen)) == 8
        # once the first has finished and let go (released just after the end), the
        # second may open the run
        for _ in range(100):
            try:
                await second.resume(RUN)
                break
            except RunLockedError:
                await asyncio.sleep(0.01)
        assert (await second.wait(RUN, timeout=5)).status == "succeeded"
    finally:
        await first.stop()
        await second.stop()
        await first_store.close()
        await second_store.close()
