"""The in-memory event store: fast, for tests, benchmarks and throwaway runs."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson

from agentos._names import safe_name
from agentos.events.model import Envelope
from agentos.eventstore.base import (
    ArtifactNotFoundError,
    EventStore,
    UnknownRunError,
    check_batch,
)


class InMemoryEventStore(EventStore):
    """Keeps every run's events in a list; safe to share between threads."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._logs: dict[str, list[Envelope]] = {}
        self._artifacts: dict[tuple[str, str], bytes] = {}

    def submit(
        self, run_id: str, events: Sequence[Envelope], expected_seq: int
    ) -> concurrent.futures.Future[int]:
        safe_name(run_id, "run id")
        with self._lock:
            log = self._logs.get(run_id, [])
            check_batch(run_id, events, expected_seq, len(log))
            if not events:
                last = len(log)
            else:
                log.extend(events)
                self._logs[run_id] = log
                last = len(log)
        done: concurrent.futures.Future[int] = concurrent.futures.Future()
        done.set_result(last)
        if events:
            self._notify(run_id)
        return done

    async def read(
        self, run_id: str, after_seq: int = 0, upto_seq: int | None = None
    ) -> AsyncIterator[Envelope]:
        safe_name(run_id, "run id")
        with self._lock:
            if run_id not in self._logs:
                raise UnknownRunError(f"unknown run {run_id!r}")
            log = self._logs[run_id]
            end = len(log) if upto_seq is None else min(upto_seq, len(log))
            chunk = log[max(after_seq, 0) : end]
        for event in chunk:
            yield event

    async def last_seq(self, run_id: str) -> int:
        safe_name(run_id, "run id")
        with self._lock:
            return len(self._logs.get(run_id, ()))

    async def exists(self, run_id: str) -> bool:
        safe_name(run_id, "run id")
        with self._lock:
            return run_id in self._logs

    async def list_runs(self) -> list[str]:
        with self._lock:
            return sorted(self._logs)

    async def delete_run(self, run_id: str) -> None:
        safe_name(run_id, "run id")
        with self._lock:
            if self._logs.pop(run_id, None) is None:
                raise UnknownRunError(f"unknown run {run_id!r}")
            for key in [k for k in self._artifacts if k[0] == run_id]:
                del self._artifacts[key]

    async def put_artifact(self, run_id: str, name: str, doc: Any) -> None:
        safe_name(run_id, "run id")
        safe_name(name, "artifact name")
        data = orjson.dumps(doc)
        with self._lock:
            self._artifacts[(run_id, name)] = data

    async def get_artifact(self, run_id: str, name: str) -> Any:
        safe_name(run_id, "run id")
        safe_name(name, "artifact name")
        with self._lock:
            data = self._artifacts.get((run_id, name))
        if data is None:
            raise ArtifactNotFoundError(f"run {run_id!r} has no artifact {name!r}")
        return orjson.loads(data)
