"""Fixtures shared by the event store tests: one store per backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from postgres_cluster import Cluster

from agentos.eventstore import EventStore, InMemoryEventStore, JsonlEventStore

BACKENDS = ["memory", "jsonl-durable", "jsonl-fast", "postgres"]


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> str:
    """The URL of a fresh, empty schema on the test cluster."""
    return pg_cluster.fresh_url()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The name of the backend under test."""
    return str(request.param)


@pytest.fixture
async def store(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[EventStore]:
    """A fresh store of each backend, closed after the test."""
    if backend == "memory":
        s: EventStore = InMemoryEventStore()
    elif backend == "postgres":
        from agentos.eventstore.postgres import PostgresEventStore

        s = PostgresEventStore(request.getfixturevalue("pg_url"))
    else:
        s = JsonlEventStore(tmp_path / "data", durable=backend == "jsonl-durable")
    try:
        yield s
    finally:
        await s.close()
