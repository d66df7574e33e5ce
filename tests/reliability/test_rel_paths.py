"""Path safety: names that try to leave the data dir, symlinked run dirs, hostile workspace
paths written by a real agent.

The store's own name checks are in tests/eventstore/test_store_contract.py; these go
through the Supervisor, the Catalog, symlinks, and an agent's workspace.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from rel_agents import Executions, eight_graph

from agentos.actors import NodeContext, Supervisor
from agentos.agents import AgentRegistry
from agentos.eventstore import JsonlEventStore
from agentos.graphs.catalog import Catalog
from agentos.graphs.policy import Policy
from agentos.graphs.spec import GraphSpec
from agentos.graphs.validate import GraphValidationError

BAD_NAMES = ["../x", "/etc/passwd", "a/b", "a\x00b", "..", ".", ".hidden", "", "-x", "x" * 300]


def _tree(root: Path) -> set[str]:
    """Every path under `root` (following nothing)."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """A data dir inside a sandbox whose every other file is watched."""
    (tmp_path / "data").mkdir()
    (tmp_path / "outside").mkdir()
    return tmp_path


async def test_supervisor_refuses_bad_run_ids(sandbox: Path) -> None:
    before = _tree(sandbox)
    store = JsonlEventStore(sandbox / "data", durable=False)
    sup = Supervisor.start(eight_graph("steady"), store, agents=Executions().registry())
    try:
        for bad in BAD_NAMES:
            with pytest.raises(ValueError):
                await sup.start_run(run_id=bad)
            with pytest.raises(ValueError):
                await sup.resume(bad)
            with pytest.raises(ValueError):
                await sup.replay(bad, 1)
            with pytest.raises(ValueError):
                await store.append(bad, [], 0)
    finally:
        await sup.stop()
        await store.close()
    assert _tree(sandbox) == before, "nothing may be written for a refused name"


def test_catalog_refuses_bad_names(sandbox: Path) -> None:
    catalog = Catalog(sandbox / "data")
    before = _tree(sandbox)
    node = {"name": "a", "agent": "x:y"}
    for bad in BAD_NAMES:
        with pytest.raises((ValueError, GraphValidationError)):
            catalog.put_graph(GraphSpec.model_validate({"name": bad, "nodes": [node]}))
        with pytest.raises(ValueError):
            catalog.put_policy(bad, Policy())
    # names the graph model accepts but the catalog refuses as file names
    for bad in ["..", ".hidden", ".", "-x"]:
        with pytest.raises(ValueError):
            catalog.put_graph(GraphSpec.model_construct(name=bad, nodes=[]))
    with pytest.raises(KeyError):
        catalog.graph("../../etc/passwd")
    assert _tree(sandbox) == before


def _valid_log(sandbox: Path, run_id: str) -> Path:
    """Write a finished run's log in a folder outside the data dir; return the folder."""
    import asyncio

    async def make() -> None:
        store = JsonlEventStore(sandbox / "outside", durable=False)
        sup = Supervisor.start(
            eight_graph("steady", sleep=0), store, agents=Executions().registry()
        )
        try:
            await sup.run(run_id=run_id, timeout=10)
        finally:
            await sup.stop()
            await store.close()

    asyncio.run(make())
    return sandbox / "outside" / run_id


def test_symlinked_run_dir_reads_but_never_writes_outside(sandbox: Path) -> None:
    import asyncio

    target = _valid_log(sandbox, "run-out")
    (sandbox / "data" / "run-out").symlink_to(target, target_is_directory=True)
    (sandbox / "data" / "empty-out").symlink_to(sandbox / "outside", target_is_directory=True)
    outside_before = {p: p.read_bytes() for p in (sandbox / "outside").rglob("*") if p.is_file()}

    async def check() -> None:
        store = JsonlEventStore(sandbox / "data", durable=False)
        sup = Supervisor.start(eight_graph("steady"), store, agents=Executions().registry())
        try:
            # reading a valid log through the link is fine
            events = await store.read_all("run-out")
            assert events[-1].type == "run_succeeded"  # type: ignore[attr-defined]
            # nothing is written through it: appends, artifacts, new runs
            last = events[-1].seq
            more = [events[-1].model_copy(update={"seq": last + 1})]
            with pytest.raises(ValueError, match="symlink"):
                await store.append("run-out", more, last)
            with pytest.raises(ValueError, match="symlink"):
                await store.put_artifact("run-out", "x", {"a": 1})
            with pytest.raises(ValueError, match="symlink"):
                await store.put_artifact("empty-out", "x", {"a": 1})
            with pytest.raises(ValueError, match="symlink"):
                await sup.start_run(run_id="empty-out")
            # replaying it forks into a real folder of the data dir
            new_id = await sup.replay("run-out", "tester")
            assert (await sup.wait(new_id, timeout=10)).status == "succeeded"
            assert not (sandbox / "data" / new_id).is_symlink()
        finally:
            await sup.stop()
            await store.close()

    asyncio.run(check())
    outside_after = {p: p.read_bytes() for p in (sandbox / "outside").rglob("*") if p.is_file()}
    assert outside_after == outside_before, "something was written outside the data dir"


async def test_a_symlinked_log_in_a_run_dir_is_not_written(sandbox: Path) -> None:
    which = "events.jsonl"
    victim = sandbox / "outside" / "victim"
    victim.write_bytes(b"precious\n")
    run_dir = sandbox / "data" / "r1"
    run_dir.mkdir()
    (run_dir / which).symlink_to(victim)
    store = JsonlEventStore(sandbox / "data", durable=False)
    try:
        with pytest.raises(ValueError, match="symlink"):
            await store.prepare("r1")
    finally:
        await store.close()
    assert victim.read_bytes() == b"precious\n"


# a real agent writing through ctx.workspace with hostile paths


def _escaping_registry(outside: Path) -> AgentRegistry:
    reg = AgentRegistry()

    async def writer(ctx: NodeContext) -> dict[str, Any]:
        assert ctx.workspace is not None
        path = ctx.params["path"]
        if path == "link/pwned.txt":  # a symlink the agent itself plants in the workspace
            os.symlink(outside, ctx.workspace.root / "link")
        ctx.workspace.write(path, "pwned")
        return {"wrote": path}

    reg.register("writer", writer)
    return reg


@pytest.mark.parametrize(
    "path", ["../../pwned.txt", "/tmp/pwned.txt", "a/../../pwned.txt", "link/pwned.txt", "a\x00b"]
)
async def test_agent_cannot_write_outside_its_workspace(sandbox: Path, path: str) -> None:
    source = sandbox / "repo"
    source.mkdir()
    (source / "app.py").write_text("print('hi')\n")
    outside = sandbox / "outside"
    graph = {
        "name": "escape",
        "workspace": "repo",
        "nodes": [{"name": "w", "agent": "writer", "params": {"path": path}}],
    }
    store = JsonlEventStore(sandbox / "data", durable=False)
    sup = Supervisor.start(graph, store, agents=_escaping_registry(outside))
    try:
        state = await sup.run({"repo": str(source)}, timeout=10)
        events = await store.read_all(state.run_id)
    finally:
        await sup.stop()
        await store.close()
    assert state.status == "failed"
    failed = [e for e in events if e.type == "node_failed"]  # type: ignore[attr-defined]
    assert len(failed) == 1
    assert failed[0].data.error_type == "PathEscapeError"  # type: ignore[attr-defined]
    error = failed[0].data.error  # type: ignore[attr-defined]
    assert any(w in error for w in ("leaves the workspace", "outside", "absolute", "NUL")), error
    assert not any(e.type == "file_written" for e in events)  # type: ignore[attr-defined]
    assert list(outside.rglob("*")) == [], "the agent wrote outside its workspace"
    assert not Path("/tmp/pwned.txt").exists()
