"""Replaying the finished demo run from `tester` reaches the same patched workspace."""

from __future__ import annotations

from pathlib import Path

from demo_support import SAMPLE_REPO, FinishedDemo, kinds, read_events

from agentos.actors import Supervisor
from agentos.demo import load_demo_graph, registry
from agentos.eventstore import JsonlEventStore
from agentos.state import fold
from agentos.state.workspace import rebuild_workspace
from agentos.tools import snapshot_tree


async def test_replay_from_tester(demo: FinishedDemo, tmp_path: Path) -> None:
    source = demo.result.run_id
    store = JsonlEventStore(demo.data_dir)
    sup = Supervisor.start(load_demo_graph(), store, agents=registry)
    try:
        replayed = await sup.replay(source, "tester")
        state = await sup.wait(replayed, timeout=60)
        assert state.status == "succeeded", state.error
        assert state.replayed_from is not None
        assert state.replayed_from.source_run == source
        original = await store.read_all(source)
        events = await store.read_all(replayed)
        # the same patched workspace at the end
        fork_root = demo.data_dir / replayed / "workspace"
        assert snapshot_tree(fork_root) == snapshot_tree(demo.result.workspace)
        # before tester, the fork's workspace is the original's after aggregator
        assert fold(events, "tester").workspace == fold(original, "tester").workspace
        before = {}
        for run_id, log in ((source, original), (replayed, events)):
            cut = [e for e in log if e.seq < fold(log, "tester").last_seq + 1]
            root = tmp_path / run_id
            await rebuild_workspace(store, run_id, fold(cut), cut, root)
            before[run_id] = snapshot_tree(root)
        assert before[source] == before[replayed] == snapshot_tree(SAMPLE_REPO)
        # only tester and its successors ran again
        from_seq = state.replayed_from.from_seq
        rerun = {e.node for e in kinds(events, "node_started") if e.seq > from_seq}
        assert rerun == {"tester", "security", "release"}
    finally:
        await sup.stop()
        await store.close()
    assert len(await read_events(demo.data_dir, replayed)) == state.last_seq
