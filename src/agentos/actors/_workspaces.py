"""A run's workspace and artifacts, as its supervisor hands them to the actor."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentos._exceptions import InvalidInputError
from agentos.events.model import Envelope
from agentos.eventstore.base import EventStore
from agentos.machine.facts import WorkspaceInfo
from agentos.state.run_state import RunState
from agentos.state.workspace import rebuild_workspace
from agentos.tools.workspace import materialize, snapshot_tree

WORKSPACE_BASE = "workspace-base"


def workspace_root(workdir: Path, run_id: str) -> Path:
    """Where a run's workspace lives."""
    return workdir / run_id / "workspace"


async def new_workspace(
    store: EventStore, workdir: Path, key: str, run_id: str, inputs: dict[str, Any]
) -> WorkspaceInfo:
    """Snapshot the source directory named by input `key`, store it as the run's base
    artifact, and lay it out as the run's workspace."""
    source = inputs.get(key)
    if not isinstance(source, str) or not source:
        raise InvalidInputError(
            f"input {key!r} (the source directory of the workspace) is required"
        )
    base = await asyncio.to_thread(snapshot_tree, Path(source))
    await store.put_artifact(run_id, WORKSPACE_BASE, base)
    root = workspace_root(workdir, run_id)
    await asyncio.to_thread(materialize, root, base, [])
    files = {path: hashlib.sha256(text.encode()).hexdigest() for path, text in base.items()}
    return WorkspaceInfo(str(root), source, WORKSPACE_BASE, files)


async def carried_over(
    store: EventStore, workdir: Path, run_id: str, state: RunState, events: Sequence[Envelope]
) -> tuple[str | None, dict[str, Any]]:
    """What a resumed (or forked) run carries on with: its workspace rebuilt from the log,
    and its artifacts but the context texts."""
    root = None
    if state.workspace_base is not None:
        root = workspace_root(workdir, run_id)
        await rebuild_workspace(store, run_id, state, events, root)
    artifacts = {}
    for name in state.artifacts:
        if not name.startswith("context-"):
            artifacts[name] = await store.get_artifact(run_id, name)
    return (str(root) if root else None), artifacts
