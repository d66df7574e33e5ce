"""Agents importable by child processes: they log each execution to a file."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from agentos.actors import NodeContext


async def logged(ctx: NodeContext) -> dict[str, Any]:
    """Sleep a little, then record (run, node, attempt) in $AGENTOS_TEST_EXEC_LOG."""
    await asyncio.sleep(float(os.environ.get("AGENTOS_TEST_SLEEP", "0.04")))
    with open(os.environ["AGENTOS_TEST_EXEC_LOG"], "a") as f:
        f.write(f"{ctx.run_id} {ctx.node} {ctx.attempt}\n")
        f.flush()
        os.fsync(f.fileno())
    return {"node": ctx.node}
