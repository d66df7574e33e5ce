"""The event store interface every backend implements."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Sequence
from typing import Any

from agentos._exceptions import ArtifactNotFoundError as ArtifactNotFoundError
from agentos._exceptions import ConcurrencyError as ConcurrencyError
from agentos._exceptions import CorruptLogError as CorruptLogError
from agentos._exceptions import EventDecodeError as EventDecodeError
from agentos._exceptions import EventRejectedError as EventRejectedError
from agentos._exceptions import RunLockedError as RunLockedError
from agentos._exceptions import StoreError as StoreError
from agentos._exceptions import StoreWriteError as StoreWriteError
from agentos._exceptions import UnknownRunError as UnknownRunError
from agentos.events.codec import check_writable
from agentos.events.model import TERMINAL_TYPES, Envelope

log = logging.getLogger(__name__)


def check_batch(
    run_id: str,
    events: Sequence[Envelope],
    expected_seq: int,
    last: int,
    checked: list[bytes] | None = None,
) -> list[bytes]:
    """Raise unless `events` continue the run's log right after `last` as `expected_seq` says.

    Returns each event's checked JSON (`checked`, from `check_events`, if given)."""
    if expected_seq != last:
        raise ConcurrencyError(
            f"run {run_id}: expected last seq {expected_seq}, but the log ends at {last}"
        )
    for offset, event in enumerate(events, start=1):
        if event.run_id != run_id:
            raise EventRejectedError(f"event for run {event.run_id!r} appended to run {run_id!r}")
        if event.seq != last + offset:
            raise EventRejectedError(
                f"run {run_id}: event seq {event.seq} does not follow {last + offset - 1}"
            )
    return check_events(run_id, events) if checked is None else checked


def check_events(run_id: str, events: Sequence[Envelope]) -> list[bytes]:
    """Each event's JSON; raise EventRejectedError unless the reader would read it back."""
    raws = []
    for event in events:
        try:
            raws.append(check_writable(event))
        except EventDecodeError as exc:
            raise EventRejectedError(f"run {run_id}: event {event.seq} refused: {exc}") from None
    return raws


class _Subscribers:
    """Wakes followers of a run, on whatever loop they run, after an append."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    def add(self, run_id: str) -> tuple[asyncio.AbstractEventLoop, asyncio.Event]:
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._subs.setdefault(run_id, []).append(entry)
        return entry

    def remove(self, run_id: str, entry: tuple[asyncio.AbstractEventLoop, asyncio.Event]) -> None:
        with self._lock:
            subs = self._subs.get(run_id, [])
            if entry in subs:
                subs.remove(entry)
            if not subs:
                self._subs.pop(run_id, None)

    def __bool__(self) -> bool:
        """Whether any run has a follower in this process."""
        return bool(self._subs)

    def notify(self, run_id: str) -> None:
        with self._lock:
            subs = list(self._subs.get(run_id, ()))
        for loop, flag in subs:
            if loop.is_closed():
                continue
            try:
                loop.call_soon_threadsafe(flag.set)
            except RuntimeError:  # loop closed between the check and the call
                continue


class EventStore(ABC):
    """An append-only log of events per run, plus JSON artifacts per run."""

    #: how often `follow` re-reads the log when no in-process append woke it (seconds)
    follow_poll_interval: float = 0.25

    def __init__(self) -> None:
        self._subscribers = _Subscribers()
        self._commit_hooks: list[Callable[[], None]] = []

    async def append(self, run_id: str, events: Sequence[Envelope], expected_seq: int) -> int:
        """Append a batch atomically after `expected_seq`; return the new last seq.

        Returns once the batch is durable (for a durable store); raises ConcurrencyError,
        and writes nothing, when `expected_seq` is not the run's last seq.
        """
        await self.prepare(run_id)
        return await asyncio.wrap_future(self.submit(run_id, events, expected_seq))

    async def prepare(self, run_id: str) -> None:  # noqa: B027
        """Get ready to write an existing run (open and check its log) off the loop.

        `submit` opens a log that was not prepared; for a new run that costs a few
        metadata calls (no read, no fsync), for an existing log a read of all of it.
        """

    def on_commit(self, hook: Callable[[], None]) -> Callable[[], None]:
        """Call `hook` after each group of appends resolved outside `submit`, once their
        futures are resolved (on the loop that submitted them, else in the store's
        thread); returns its remover.

        One wake-up per group instead of one per append: see `actors/_acks.py`.
        """
        self._commit_hooks.append(hook)

        def remove() -> None:
            if hook in self._commit_hooks:
                self._commit_hooks.remove(hook)

        return remove

    def commit_stats(self) -> tuple[int, int] | None:
        """(groups committed, batches in them) since the store opened, for metrics; None
        for a store without group commit."""
        return None

    def _committed(self) -> None:
        for hook in list(self._commit_hooks):
            try:
                hook()
            except Exception:
                log.exception("commit hook failed")

    @abstractmethod
    def submit(
        self, run_id: str, events: Sequence[Envelope], expected_seq: int
    ) -> concurrent.futures.Future[int]:
        """Like `append`, from any thread: the future resolves once the batch is stored.

        Validation errors (ConcurrencyError, bad seqs, bad names) raise at once.
        """

    @abstractmethod
    def read(
        self, run_id: str, after_seq: int = 0, upto_seq: int | None = None
    ) -> AsyncIterator[Envelope]:
        """Yield the run's events with after_seq < seq <= upto_seq, in order."""

    @abstractmethod
    async def last_seq(self, run_id: str) -> int:
        """The seq of the run's last event; 0 for a run with no events."""

    @abstractmethod
    async def exists(self, run_id: str) -> bool:
        """Whether the run has a log in this store."""

    @abstractmethod
    async def list_runs(self) -> list[str]:
        """The ids of every run with a log, sorted."""

    @abstractmethod
    async def put_artifact(self, run_id: str, name: str, doc: Any) -> None:
        """Store a JSON document under `name` for the run (durably, replacing any old one)."""

    @abstractmethod
    async def get_artifact(self, run_id: str, name: str) -> Any:
        """The JSON document stored under `name`; ArtifactNotFoundError when there is none."""

    async def has_writer(self, run_id: str) -> bool:
        """Whether some process may be writing the run now (False: an unfinished run
        whose writer is gone was interrupted and can be resumed)."""
        return True

    async def release(self, run_id: str) -> None:  # noqa: B027
        """Give up this store's write access to the run (other writers may then take it)."""

    async def delete_run(self, run_id: str) -> None:
        """Delete the run: its log and artifacts. UnknownRunError when there is no such
        run, RunLockedError while a writer has it (this store or another process).
        Deciding which runs may go (finished, old) is the caller's business."""
        raise StoreError(f"{type(self).__name__} cannot delete runs")

    async def close(self) -> None:  # noqa: B027
        """Release every resource; the store is unusable afterwards."""

    async def read_all(
        self, run_id: str, after_seq: int = 0, upto_seq: int | None = None
    ) -> list[Envelope]:
        """The events `read` yields, as a list."""
        return [e async for e in self.read(run_id, after_seq, upto_seq)]

    async def follow(self, run_id: str, after_seq: int = 0) -> AsyncIterator[Envelope]:
        """Yield the run's events after `after_seq`, then new ones as they are appended.

        Ends after the run's terminal event. Appends made through this store wake it at
        once; appends by other processes are seen within `follow_poll_interval`.
        """
        entry = self._subscribers.add(run_id)
        _, flag = entry
        last = after_seq
        try:
            while True:
                flag.clear()
                async for event in self.read(run_id, after_seq=last):
                    last = event.seq
                    yield event
                    if event.type in TERMINAL_TYPES:
                        return
                # not wait_for: on 3.11 it can swallow a cancel that meets the wake-up,
                # and a follower cancelled then would poll forever
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.follow_poll_interval):
                        await flag.wait()
        finally:
            self._subscribers.remove(run_id, entry)

    @contextlib.contextmanager
    def wakeups(self, key: str) -> Iterator[asyncio.Event]:
        """An event set each time an append here, or a notification the store receives
        from other processes, names `key` (a run id, or a key such as `#queue`)."""
        entry = self._subscribers.add(key)
        try:
            yield entry[1]
        finally:
            self._subscribers.remove(key, entry)

    async def send_command(self, run_id: str, kind: str, payload: dict[str, Any]) -> None:
        """Hand a command (`cancel`, `signal`) to whatever process drives the run, for a
        store shared by processes that have no common data dir; RunLockedError here."""
        raise RunLockedError(f"run {run_id} is driven elsewhere, out of this store's reach")

    async def take_commands(self, run_ids: Collection[str]) -> list[tuple[str, str, Any]]:
        """The commands sent for `run_ids` (run id, kind, payload), taken: each is
        returned once, to one taker. None for a store without commands."""
        return []

    def _notify(self, run_id: str) -> None:
        self._subscribers.notify(run_id)
