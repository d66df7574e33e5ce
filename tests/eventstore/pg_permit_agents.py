"""Agents for the node permit tests, importable as pg_permit_agents:NAME (also by the
`agentos worker` subprocesses): they count how many of them run at once in a file."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import Any

from agentos.actors import NodeContext

#: seconds an attempt waits for `until` attempts to run at once before it fails
BOUND = 30.0


def counted(ctx: NodeContext) -> dict[str, Any]:
    """Count itself in `params.counter` (now running, most at once, started), add its
    pid to the lines of `params.order` if given, wait until `params.until` ran at once,
    sleep `params.sleep` seconds, count itself out."""
    path = Path(ctx.params["counter"])
    until = int(ctx.params.get("until", 1))
    bump(path, 1)
    if "order" in ctx.params:
        with open(ctx.params["order"], "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.write(f"{os.getpid()}\n")
    try:
        deadline = time.monotonic() + BOUND
        while read(path)[1] < until:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{until} never ran at once: {read(path)}")
            time.sleep(0.01)
        time.sleep(float(ctx.params.get("sleep", 0.05)))
    finally:
        bump(path, -1)
    return {"pid": os.getpid()}


def bump(path: Path, by: int) -> None:
    """Add `by` to the running count under an exclusive flock; keep the most seen."""
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        now, most, started = _parse(f.read())
        now += by
        f.seek(0)
        f.truncate()
        f.write(f"{now} {max(most, now)} {started + (by > 0)}")


def read(path: Path) -> tuple[int, int, int]:
    """(running now, most at once, attempts started)."""
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_SH)
        f.seek(0)
        return _parse(f.read())


def _parse(text: str) -> tuple[int, int, int]:
    parts = [int(p) for p in text.split()] if text.strip() else [0, 0, 0]
    return parts[0], parts[1], parts[2]
