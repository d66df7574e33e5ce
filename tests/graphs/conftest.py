"""Fixtures for the catalog's backends: a throwaway PostgreSQL for the table backend
(the event store tests' cluster, tests/eventstore/postgres_cluster.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

EVENTSTORE = Path(__file__).parent.parent / "eventstore"
if str(EVENTSTORE) not in sys.path:
    sys.path.insert(0, str(EVENTSTORE))

from postgres_cluster import Cluster, cluster  # noqa: E402


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster for the session (skips, with the reason, without one)."""
    with cluster() as found:
        if isinstance(found, str):
            pytest.skip(f"PostgreSQL tests skipped: {found}")
        yield found
