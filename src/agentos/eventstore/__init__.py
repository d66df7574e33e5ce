"""Event stores: durable, ordered logs of a run's events, one backend per module."""

from agentos.eventstore._pg_session import is_store_url
from agentos.eventstore.base import (
    ArtifactNotFoundError,
    ConcurrencyError,
    CorruptLogError,
    EventRejectedError,
    EventStore,
    RunLockedError,
    StoreError,
    StoreWriteError,
    UnknownRunError,
)
from agentos.eventstore.jsonl import JsonlEventStore, default_root
from agentos.eventstore.memory import InMemoryEventStore
from agentos.eventstore.postgres import PostgresEventStore
from agentos.eventstore.run_log import RunLog

__all__ = [
    "ArtifactNotFoundError",
    "ConcurrencyError",
    "CorruptLogError",
    "EventRejectedError",
    "EventStore",
    "InMemoryEventStore",
    "JsonlEventStore",
    "PostgresEventStore",
    "RunLockedError",
    "RunLog",
    "StoreError",
    "StoreWriteError",
    "UnknownRunError",
    "default_root",
    "is_store_url",
]
