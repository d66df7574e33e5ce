"""The PostgreSQL event store: every run's log, artifacts and the run list in one database.

Selected by a store URL (`postgresql://...`; psycopg 3, the extra `agentos[postgres]`).
Each store is an owner: a random id whose advisory lock, held by a dedicated session,
says it is alive. A run is claimed by one owner at an epoch; every append checks owner,
epoch and last seq in the statement that writes it: a stale owner's append is refused.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections import Counter
from collections.abc import AsyncIterator, Collection, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from agentos._names import safe_name
from agentos.events.codec import decode
from agentos.events.model import Envelope
from agentos.eventstore._pg_delete import delete_run
from agentos.eventstore._pg_schema import (
    APPEND_GROUP,
    CLAIM,
    OWNER_ALIVE,
    RELEASE,
    SEND_COMMAND,
    TAKE_COMMANDS,
    migrate,
)
from agentos.eventstore._pg_session import (
    load_psycopg,
    owner_session,
    reachable,
    reopen_owner,
    running_loop,
    safe_url,
)
from agentos.eventstore._pg_writer import GroupWriter, Owned, Queued
from agentos.eventstore.base import (
    ArtifactNotFoundError,
    EventStore,
    RunLockedError,
    StoreError,
    UnknownRunError,
    check_batch,
    check_events,
)

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool

T = TypeVar("T")

#: events read per query (a follower of a long run reads it in pages)
PAGE = 2000


class PostgresEventStore(EventStore):
    """Run logs in PostgreSQL, appended in groups: one statement and commit per group.

    `pool_size` bounds the pooled connections (reads, claims, artifacts and the writer);
    one more, dedicated connection holds this owner's advisory lock and LISTENs for the
    NOTIFY each committed group sends, which wakes followers in every process.
    """

    def __init__(self, url: str, *, pool_size: int = 4, connect_timeout: float = 10.0) -> None:
        super().__init__()
        psycopg, psycopg_pool = load_psycopg()
        self.url = url
        self._psycopg = psycopg
        self._owned: dict[str, Owned] = {}
        self._following: Counter[str] = Counter()  # runs followed in this process
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="agentos-pg-store", daemon=True
        )
        self._thread.start()
        self._closed = False
        self._pool: AsyncConnectionPool[Any] = psycopg_pool.AsyncConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=False,
            kwargs={"autocommit": True},
            timeout=connect_timeout,
        )
        self._writer = GroupWriter(self._loop, self._append_group, self._free, self._committed)
        self._claims: asyncio.Lock | None = None
        self._session: AsyncConnection[Any] | None = None
        self._listener: asyncio.Task[None] | None = None
        self.owner = 0
        self.channel = ""
        try:
            self._run(self._start(connect_timeout)).result()
        except BaseException:
            self._stop_loop()
            raise

    @property
    def safe_url(self) -> str:
        """The store's URL without its password and options, for messages."""
        return safe_url(self.url)

    def commit_stats(self) -> tuple[int, int]:
        return self._writer.commits, self._writer.batches

    # the store's own loop: every database call runs there

    def _run(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        if self._closed:
            coro.close()
            raise StoreError("the event store is closed")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    async def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(self._run(coro))

    async def _start(self, timeout: float) -> None:
        await reachable(self._psycopg, self.url, timeout)
        try:
            await self._pool.open(wait=True, timeout=timeout)
        except Exception as exc:
            await self._pool.close()
            raise StoreError(f"cannot connect to the event store database: {exc}") from None
        try:
            async with self._pool.connection() as conn:
                await migrate(conn)
                cur = await conn.execute("SELECT current_schema()")
                row = await cur.fetchone()
            # notifications are per database: one channel per schema of stores
            self.channel = f"agentos_events.{row[0] if row else 'public'}"
            self._session, self.owner = await owner_session(self._psycopg, self.url, self.channel)
        except BaseException:
            await self._pool.close()
            raise
        self._claims = asyncio.Lock()
        self._listener = asyncio.create_task(self._listen(self._session))
        self._writer.start()

    async def _listen(self, conn: AsyncConnection[Any]) -> None:
        """Wake this process's followers of the runs each NOTIFY names ('' wakes all);
        a cut session is opened again under the same owner id (then all are woken)."""
        while True:
            with contextlib.suppress(Exception):
                async for note in conn.notifies():
                    run_ids = note.payload.split(",") if note.payload else self._followed()
                    for run_id in run_ids:
                        self._notify(run_id)
            args = (self._psycopg, self.url, self.channel, self.owner)
            conn = self._session = await reopen_owner(*args)
            for run_id in [*self._followed(), "#queue", "#commands", "#catalog"]:
                self._notify(run_id)

    def _followed(self) -> list[str]:
        with self._lock:
            return list(self._following)

    async def follow(self, run_id: str, after_seq: int = 0) -> AsyncIterator[Envelope]:
        with self._lock:
            self._following[run_id] += 1
        try:
            async for event in super().follow(run_id, after_seq):
                yield event
        finally:
            with self._lock:
                self._following[run_id] -= 1
                if not self._following[run_id]:
                    del self._following[run_id]

    # writing

    async def prepare(self, run_id: str) -> None:
        safe_name(run_id, "run id")
        if self.holds(run_id):
            return
        await self._call(self._claim(run_id))

    def holds(self, run_id: str) -> bool:
        """Whether this store owns the run and may still append to it."""
        with self._lock:
            run = self._owned.get(run_id)
            return run is not None and run.lost is None

    async def _claim(self, run_id: str) -> None:
        assert self._claims is not None
        async with self._claims:
            if self.holds(run_id):
                return
            async with self._pool.connection() as conn:
                cur = await conn.execute(CLAIM, {"run": run_id, "owner": self.owner})
                row = await cur.fetchone()
                if row is None:
                    cur = await conn.execute("SELECT 1 FROM runs WHERE run_id = %s", (run_id,))
                    if await cur.fetchone() is not None:
                        raise RunLockedError(f"run {run_id} is owned by another live writer")
            with self._lock:
                # no row yet: the run's first commit makes it (and fails if another did)
                owned = Owned(run_id, 1, 0, create=True)
                if row is not None:
                    owned = Owned(run_id, int(row[0]), int(row[1]))
                self._owned[run_id] = owned

    def submit(
        self, run_id: str, events: Sequence[Envelope], expected_seq: int
    ) -> concurrent.futures.Future[int]:
        if run_id not in self._owned:  # an owned run's id was checked when it was made
            safe_name(run_id, "run id")
        raws = check_events(run_id, events)  # off the lock: a refused batch creates nothing
        done: concurrent.futures.Future[int] = concurrent.futures.Future()
        with self._lock:
            run = self._owned.get(run_id)
            if run is None:  # a new run: its first commit makes its row, at epoch 1
                check_batch(run_id, events, expected_seq, 0, raws)
                if not events:
                    done.set_result(0)
                    return done
                run = Owned(run_id, 1, 0, create=True)
                self._owned[run_id] = run
            if run.lost is not None:
                raise run.lost
            check_batch(run_id, events, expected_seq, run.last_seq, raws)
            if not events:
                done.set_result(run.last_seq)
                return done
            done.set_running_or_notify_cancel()  # a queued batch is resolved, not cancelled
            rows = [(event.seq, raw.decode()) for event, raw in zip(events, raws, strict=True)]
            item = Queued(run, expected_seq, run.create, rows, done, running_loop())
            run.create = False
            run.last_seq = events[-1].seq
            self._writer.put(item)
        if self._subscribers:

            def wake(f: concurrent.futures.Future[int]) -> None:
                if f.exception() is None:
                    self._notify(run_id)

            done.add_done_callback(wake)
        return done

    async def _append_group(self, params: dict[str, Any]) -> list[str]:
        params["owner"] = self.owner
        params["channel"] = self.channel
        async with self._pool.connection() as conn:
            cur = await conn.execute(APPEND_GROUP, params)
            row = await cur.fetchone()
        return list(row[0] or []) if row else []

    async def has_writer(self, run_id: str) -> bool:
        if self.holds(run_id):
            return True
        query = f"SELECT owner IS NOT NULL AND {OWNER_ALIVE.format(owner='owner')} FROM runs"
        row = await self._fetchone(query + " WHERE run_id = %s", (safe_name(run_id, "run id"),))
        return bool(row and row[0])

    async def release(self, run_id: str) -> None:
        with self._lock:
            run = self._owned.pop(run_id, None)
        if run is not None:  # released with the writer's next group, after its appends
            await asyncio.wrap_future(self._writer.release(run))

    async def _free(self, runs: list[Owned]) -> None:
        ids, epochs = [r.run_id for r in runs], [r.epoch for r in runs]
        await self.query(RELEASE, {"owner": self.owner, "runs": ids, "epochs": epochs})

    async def close(self) -> None:
        if self._closed:
            return
        await self._call(self._shutdown())
        self._closed = True
        await asyncio.to_thread(self._stop_loop)

    async def _shutdown(self) -> None:
        await self._writer.close()
        with self._lock:
            runs, self._owned = list(self._owned.values()), {}
        if runs:
            with contextlib.suppress(Exception):
                await self._free(runs)
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._session is not None:
            await self._session.close()  # drops the owner's lock
        await self._pool.close()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    # reading

    async def query(self, sql: str, params: Mapping[str, Any] | Sequence[Any] = ()) -> list[Any]:
        """Run one statement on the store's pool, on its loop; the rows it returns (the
        members, queue and commands of `pg_cluster` use it)."""

        async def go() -> list[Any]:
            async with self._pool.connection() as conn:
                cur = await conn.execute(sql, params)
                return await cur.fetchall() if cur.description is not None else []

        return await self._call(go())

    async def _fetchone(self, query: str, params: Sequence[Any]) -> Any:
        rows = await self.query(query, params)
        return rows[0] if rows else None

    async def read(
        self, run_id: str, after_seq: int = 0, upto_seq: int | None = None
    ) -> AsyncIterator[Envelope]:
        safe_name(run_id, "run id")
        end = 2**63 - 1 if upto_seq is None else upto_seq
        after = max(after_seq, 0)
        first = True
        while after < end:
            rows = await self.query(
                "SELECT seq, event FROM events WHERE run_id = %s AND seq > %s AND seq <= %s"
                " ORDER BY seq LIMIT %s",
                (run_id, after, end, PAGE),
            )
            if first and not rows and not await self.exists(run_id):
                raise UnknownRunError(f"unknown run {run_id!r}")
            first = False
            for seq, line in rows:
                yield decode(line)
                after = seq
            if len(rows) < PAGE:
                return
        if first and not await self.exists(run_id):
            raise UnknownRunError(f"unknown run {run_id!r}")

    async def last_seq(self, run_id: str) -> int:
        safe_name(run_id, "run id")
        with self._lock:
            run = self._owned.get(run_id)
        if run is not None and not run.create:
            return run.last_seq
        row = await self._fetchone("SELECT last_seq FROM runs WHERE run_id = %s", (run_id,))
        return int(row[0]) if row else 0

    async def exists(self, run_id: str) -> bool:
        safe_name(run_id, "run id")
        row = await self._fetchone(
            "SELECT 1 FROM runs WHERE run_id = %s AND last_seq > 0", (run_id,)
        )
        return row is not None

    async def delete_run(self, run_id: str) -> None:
        await delete_run(self.query, safe_name(run_id, "run id"), self.holds(run_id))

    async def list_runs(self) -> list[str]:
        rows = await self.query(
            'SELECT run_id FROM runs WHERE last_seq > 0 ORDER BY run_id COLLATE "C"', ()
        )
        return [r[0] for r in rows]

    # commands for a run's owner (cancel, signal), from any process

    async def send_command(self, run_id: str, kind: str, payload: dict[str, Any]) -> None:
        data = {"run": run_id, "kind": kind, "data": orjson.dumps(payload).decode()}
        await self.query(SEND_COMMAND, {**data, "channel": self.channel})

    async def take_commands(self, run_ids: Collection[str]) -> list[tuple[str, str, Any]]:
        rows = await self.query(TAKE_COMMANDS, {"runs": list(run_ids)})
        return [(r[1], r[2], orjson.loads(r[3])) for r in sorted(rows)]

    # artifacts

    async def put_artifact(self, run_id: str, name: str, doc: Any) -> None:
        safe_name(run_id, "run id")
        safe_name(name, "artifact name")
        data = orjson.dumps(doc).decode()
        await self.query(
            "INSERT INTO artifacts (run_id, name, doc) VALUES (%s, %s, %s)"
            " ON CONFLICT (run_id, name) DO UPDATE SET doc = excluded.doc RETURNING 1",
            (run_id, name, data),
        )

    async def get_artifact(self, run_id: str, name: str) -> Any:
        safe_name(run_id, "run id")
        safe_name(name, "artifact name")
        row = await self._fetchone(
            "SELECT doc FROM artifacts WHERE run_id = %s AND name = %s", (run_id, name)
        )
        if row is None:
            raise ArtifactNotFoundError(f"run {run_id!r} has no artifact {name!r}")
        return orjson.loads(row[0])
