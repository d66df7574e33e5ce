"""The catalog of a shared PostgreSQL store: one row per entry in table `catalog`, shared
by every process on the store. Each write takes the next `catalog_version` and sends one
NOTIFY (`#catalog`), so other processes know to reload."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar, cast

import orjson

from agentos.eventstore.catalog_rows import KINDS, Entry, Kind, Stored
from agentos.eventstore.postgres import PostgresEventStore

T = TypeVar("T")

#: the wake-up key of a catalog write, in the store's NOTIFY payloads
CATALOG_KEY = "#catalog"

WRITE = """
    WITH w AS (
        INSERT INTO catalog (kind, name, doc) VALUES (%(kind)s, %(name)s, %(doc)s)
        ON CONFLICT (kind, name) DO UPDATE
            SET doc = excluded.doc, version = nextval('catalog_version'), updated_at = now()
        RETURNING version
    )
    SELECT pg_notify(%(channel)s, %(key)s) FROM w
"""


class CatalogTable:
    """Entries in the store's `catalog` table, read and written through its pool."""

    shared = True

    def __init__(self, store: PostgresEventStore) -> None:
        self.store = store
        self._flag: asyncio.Event | None = None  # set by a NOTIFY naming CATALOG_KEY

    def load(self) -> Stored:
        if self._flag is not None:  # cleared before the read: a later write sets it again
            self._flag.clear()
        rows = blocking(self.store.query("SELECT kind, name, doc, version FROM catalog", ()))
        stored = Stored()
        for kind, name, doc, version in sorted(rows, key=lambda r: (r[0], r[1])):
            stored.stamp = max(stored.stamp, int(version))
            where = f"catalog row ({kind}, {name!r}) skipped"
            if kind not in KINDS:
                stored.problems.append(f"{where}: unknown kind")
                continue
            try:
                parsed = orjson.loads(doc)
            except orjson.JSONDecodeError as exc:
                stored.problems.append(f"{where}: not JSON: {exc}")
                continue
            stored.entries.append(Entry(cast(Kind, kind), name, parsed, where))
        return stored

    def write(self, kind: Kind, name: str, doc: bytes) -> None:
        params = {
            "kind": kind,
            "name": name,
            "doc": doc.decode(),
            "channel": self.store.channel,
            "key": CATALOG_KEY,
        }
        blocking(self.store.query(WRITE, params))

    async def stamp(self) -> int:
        rows = await self.store.query("SELECT coalesce(max(version), 0) FROM catalog", ())
        return int(rows[0][0])

    def stale(self) -> bool:
        return self._flag is not None and self._flag.is_set()

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        with self.store.wakeups(CATALOG_KEY) as flag:
            flag.set()  # whatever was written before the watch began counts too
            self._flag = flag
            try:
                yield
            finally:
                self._flag = None


def blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to its end from any thread, even one running a loop (blocked meanwhile)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="agentos-catalog") as pool:
        return pool.submit(asyncio.run, coro).result()
