"""A child process that starts or resumes one run of the 8-node graph (for kill tests)."""

from __future__ import annotations

import asyncio
import sys

from runtime_shapes import eight_node_graph

from agentos.actors import Supervisor
from agentos.eventstore import JsonlEventStore


async def main(mode: str, data: str, run_id: str) -> None:
    store = JsonlEventStore(data)
    sup = Supervisor.start(eight_node_graph("runtime_agents:logged"), store)
    if mode == "start":
        await sup.start_run(run_id=run_id)
        print("started", flush=True)
    else:
        await sup.resume(run_id)
    state = await sup.wait(run_id)
    print(state.status, flush=True)
    await sup.stop()
    await store.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
