"""The demo runner: run git-to-prod-multi on a repository, showing progress and a summary."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from agentos._progress import Progress
from agentos.actors.supervisor import Supervisor
from agentos.agents.registry import AgentRegistry
from agentos.demo.agents import registry
from agentos.demo.graph import load_demo_graph, resolve_repo
from agentos.demo.summary import print_summary
from agentos.eventstore.jsonl import JsonlEventStore, default_root
from agentos.graphs.catalog import Catalog
from agentos.routing.pool import ProviderPool
from agentos.state.run_state import RunState

DEFAULT_TIMEOUT = 300.0


@dataclass(frozen=True)
class DemoResult:
    """The outcome of a demo run; `exit_code` is 0 when it succeeded."""

    run_id: str
    state: RunState
    exit_code: int
    log_path: Path
    workspace: Path


async def run_demo(
    repo: str | Path | None = None,
    pr_number: int = 42,
    data_dir: Path | None = None,
    console: Console | None = None,
    *,
    agents: AgentRegistry | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    inputs: Mapping[str, Any] | None = None,
    pool: ProviderPool | None = None,
) -> DemoResult:
    """Run the demo graph on `repo` (default examples/sample_repo) as pull request `pr_number`.

    A relative `repo` is resolved against the current directory. The log goes to
    `data_dir` (else `AGENTOS_DATA_DIR`, else ./data) under {run_id}/events.jsonl.
    `inputs` sets the graph's other inputs (`fix_loop`, `wrong_first_fix`; `approval`
    needs someone to send the signal while this runs). Model calls go through `pool`,
    else the data dir's registered pool (POST /providerpool), as for `agentos run`.
    """
    console = console or Console()
    source = resolve_repo(repo)
    root = Path(data_dir) if data_dir is not None else default_root()
    pool = pool if pool is not None else Catalog(root).pool
    store = JsonlEventStore(root)
    sup = Supervisor.start(load_demo_graph(), store, agents=agents or registry, pool=pool)
    try:
        console.print(
            f"[bold]git-to-prod-multi[/] on {source} (PR #{pr_number}), data in {root}",
            highlight=False,
        )
        run_id = await sup.start_run(
            {**(inputs or {}), "repo": str(source), "pr_number": pr_number}
        )
        console.print(f"run {run_id}", highlight=False)
        await asyncio.wait_for(Progress(console).follow(sup.events(run_id)), timeout)
        state = await sup.wait(run_id, timeout)
    finally:
        await sup.stop()
        await store.close()
    log = store.log_path(run_id)
    print_summary(state, state.last_seq, log, console)
    return DemoResult(
        run_id=run_id,
        state=state,
        exit_code=0 if state.status == "succeeded" else 1,
        log_path=log,
        workspace=sup.workdir / run_id / "workspace",
    )


def run_demo_sync(
    repo: str | Path | None = None,
    pr_number: int = 42,
    data_dir: Path | None = None,
    console: Console | None = None,
    *,
    agents: AgentRegistry | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    inputs: Mapping[str, Any] | None = None,
) -> DemoResult:
    """Blocking twin of `run_demo`, for scripts (not from a running event loop)."""
    return asyncio.run(
        run_demo(repo, pr_number, data_dir, console, agents=agents, timeout=timeout, inputs=inputs)
    )
