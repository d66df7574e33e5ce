"""Shared pytest configuration, and the throwaway PostgreSQL cluster of every test that
needs one (tests/eventstore/postgres_cluster.py: started once per session)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

EVENTSTORE = str(Path(__file__).parent / "eventstore")
if EVENTSTORE not in sys.path:
    sys.path.insert(0, EVENTSTORE)

from postgres_cluster import Cluster, cluster  # noqa: E402

# sample repositories used as test data carry tests of their own: never collect them
collect_ignore_glob = ["fixtures/*"]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster for the session (skips, with the reason, without one)."""
    with cluster() as found:
        if isinstance(found, str):
            pytest.skip(f"PostgreSQL tests skipped: {found}")
        yield found
