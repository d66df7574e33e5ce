"""Agents for the cancel tests, importable as cancel_agents:NAME (tests/cli on sys.path).

Each writes its run id to $CANCEL_TEST_MARK once it runs, then sleeps for 30 s."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from agentos.actors import NodeContext


def _mark(ctx: NodeContext) -> None:
    # written aside, then renamed: the test never reads a mark that exists but is empty
    mark = Path(os.environ["CANCEL_TEST_MARK"])
    aside = mark.with_name(mark.name + ".part")
    aside.write_text(ctx.run_id)
    aside.rename(mark)


def sleeper(ctx: NodeContext) -> dict[str, Any]:
    """A plain function (a thread agent) that ignores ctx.cancelled."""
    _mark(ctx)
    time.sleep(30)
    return {}


async def hang(ctx: NodeContext) -> dict[str, Any]:
    """An async agent."""
    _mark(ctx)
    await asyncio.sleep(30)
    return {}
