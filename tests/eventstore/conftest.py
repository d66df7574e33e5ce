"""Fixtures shared by the event store tests: one store per backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentos.eventstore import EventStore, InMemoryEventStore, JsonlEventStore

BACKENDS = ["memory", "jsonl-durable", "jsonl-fast"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The name of the backend under test."""
    return str(request.param)


@pytest.fixture
async def store(backend: str, tmp_path: Path) -> AsyncIterator[EventStore]:
    """A fresh store of each backend, closed after the test."""
    if backend == "memory":
        s: EventStore = InMemoryEventStore()
    else:
        s = JsonlEventStore(tmp_path / "data", durable=backend == "jsonl-durable")
    try:
        yield s
    finally:
        await s.close()
