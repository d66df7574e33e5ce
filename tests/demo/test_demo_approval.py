"""The demo's optional approval: with the input `approval`, the release waits for the
signal "approval" (Python API, or `agentos signal` while nobody drives the run)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import orjson
from demo_support import SAMPLE_REPO, kinds, read_events

from agentos.actors.supervisor import Supervisor
from agentos.demo import load_demo_graph, registry
from agentos.eventstore import JsonlEventStore
from agentos.state.run_state import RunState

INPUTS = {"repo": str(SAMPLE_REPO), "pr_number": 42, "approval": True}
AGENTOS = shutil.which("agentos") or str(Path(sys.executable).parent / "agentos")
BOUND = 120.0  # seconds: an upper bound on waiting for a condition, never a timing check


@asynccontextmanager
async def demo_supervisor(data: Path) -> AsyncIterator[Supervisor]:
    store = JsonlEventStore(data)
    sup = Supervisor.start(load_demo_graph(), store, agents=registry)
    try:
        yield sup
    finally:
        await sup.stop()
        await store.close()


async def waiting_for_approval(sup: Supervisor, run_id: str) -> RunState:
    """The run's state once its approval node waits (the run must not end before)."""
    async for event in sup.events(run_id):
        if event.type == "node_waiting" and event.node == "approval":
            return await sup.state(run_id)
    raise AssertionError(f"run {run_id} ended without waiting for approval")


async def test_the_release_waits_for_the_approval(tmp_path: Path) -> None:
    async with demo_supervisor(tmp_path) as sup:
        run_id = await sup.start_run(INPUTS)
        state = await waiting_for_approval(sup, run_id)
        assert state.status == "waiting"
        assert state.waiting["approval"].signal == "approval"
        assert state.nodes["security"].next == ["approval"]
        assert state.nodes["release"].status == "pending"
        changelog = (sup.workdir / run_id / "workspace" / "CHANGELOG.md").read_text()
        assert "(#42)" not in changelog
        approval = {"approved": True, "by": "ana", "comment": "ship it"}
        await sup.signal(run_id, "approval", approval)
        state = await sup.wait(run_id, BOUND)
    assert state.status == "succeeded", state.error
    assert state.nodes["approval"].output == approval
    assert state.nodes["release"].status == "succeeded"
    changelog = (sup.workdir / run_id / "workspace" / "CHANGELOG.md").read_text()
    assert "(#42)" in changelog
    taken = kinds(await read_events(tmp_path, run_id), "signal_received")
    assert [(e.node, e.data.payload) for e in taken] == [("approval", approval)]  # type: ignore[attr-defined]


async def test_a_rejection_fails_the_run_before_the_release(tmp_path: Path) -> None:
    async with demo_supervisor(tmp_path) as sup:
        run_id = await sup.start_run(INPUTS)
        await waiting_for_approval(sup, run_id)
        await sup.signal(run_id, "approval", {"approved": False, "by": "bo", "comment": "no"})
        state = await sup.wait(run_id, BOUND)
    assert state.status == "failed"
    assert state.nodes["approval"].status == "failed"
    assert state.nodes["approval"].error == "rejected by bo: no"
    assert state.nodes["approval"].attempts == 1  # the human policy does not wait again
    assert state.nodes["release"].status == "pending"  # never started
    events = await read_events(tmp_path, run_id)
    assert "release" not in {e.node for e in kinds(events, "node_started")}


async def test_agentos_signal_approves_a_run_nobody_drives(tmp_path: Path) -> None:
    async with demo_supervisor(tmp_path) as sup:
        run_id = await sup.start_run(INPUTS)
        await waiting_for_approval(sup, run_id)
    # the supervisor stopped: the run is still waiting, in its log only
    data = orjson.dumps({"approved": True, "by": "cli"}).decode()
    done = subprocess.run(
        [AGENTOS, "--data", str(tmp_path), "signal", run_id, "approval", "--data", data],
        capture_output=True,
        text=True,
        timeout=BOUND,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    async with demo_supervisor(tmp_path) as sup:
        await sup.resume(run_id)
        state = await sup.wait(run_id, BOUND)
    assert state.status == "succeeded", state.error
    assert state.nodes["approval"].output == {"approved": True, "by": "cli"}
    assert state.nodes["release"].status == "succeeded"
    started = [e.node for e in kinds(await read_events(tmp_path, run_id), "node_started")]
    assert started.count("tester") == 1  # what succeeded before is not run again
