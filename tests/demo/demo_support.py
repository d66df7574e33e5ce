"""Helpers of the demo tests: paths, event reading and a quiet demo run."""

from __future__ import annotations

import asyncio
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from agentos.demo.run import DemoResult, run_demo_sync
from agentos.events.model import Envelope
from agentos.eventstore import JsonlEventStore

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SAMPLE_REPO = EXAMPLES / "sample_repo"
OTHER_REPO = ROOT / "tests" / "fixtures" / "repos" / "other_repo"


def tree_hash(root: Path) -> str:
    """A digest of every file path and content under `root`."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


async def read_events(data_dir: Path, run_id: str) -> list[Envelope]:
    """The events of a run, read through a JSONL store on `data_dir`."""
    store = JsonlEventStore(data_dir)
    try:
        return await store.read_all(run_id)
    finally:
        await store.close()


def kinds(events: list[Envelope], kind: str) -> list[Envelope]:
    """The events of one type."""
    return [e for e in events if getattr(e, "type", None) == kind]


@dataclass
class FinishedDemo:
    """A finished demo run, its data directory, what it printed and its events."""

    result: DemoResult
    data_dir: Path
    printed: str
    events: list[Envelope]


def run_quietly(data_dir: Path, **kw: object) -> FinishedDemo:
    """Run the demo into `data_dir`, capturing the console output."""
    out = io.StringIO()
    console = Console(file=out, width=120, color_system=None)
    result = run_demo_sync(data_dir=data_dir, console=console, **kw)  # type: ignore[arg-type]
    events = asyncio.run(read_events(data_dir, result.run_id))
    return FinishedDemo(result, data_dir, out.getvalue(), events)
