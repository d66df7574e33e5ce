"""The PostgreSQL store's plumbing: loading psycopg, the owner's session, stored lines."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from agentos.eventstore._pg_schema import OWNER_LOCK_SPACE
from agentos.eventstore.base import StoreError

log = logging.getLogger(__name__)


def is_store_url(text: str) -> bool:
    """Whether `text` names a PostgreSQL store rather than a data dir."""
    return text.startswith(("postgresql://", "postgres://"))


def load_psycopg() -> tuple[Any, Any]:
    """psycopg and psycopg_pool; a StoreError naming the extra when they are missing."""
    try:
        import psycopg
        import psycopg_pool
    except ImportError:
        raise StoreError(
            "a postgresql:// store needs psycopg: pip install 'agentos[postgres]'"
        ) from None
    return psycopg, psycopg_pool


def safe_url(url: str) -> str:
    """`url` without its password and options, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


async def reachable(psycopg: Any, url: str, timeout: float) -> None:
    """Raise a StoreError with the server's reason (one line) unless a connection to
    `url` opens: at once, where the pool would retry until its timeout."""
    try:
        conn = await psycopg.AsyncConnection.connect(url, connect_timeout=max(1, round(timeout)))
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(f"cannot connect to the event store database: {reason}") from None
    await conn.close()


async def owner_session(
    psycopg: Any, url: str, channel: str, same: int | None = None
) -> tuple[Any, int]:
    """A dedicated connection holding a fresh owner id's advisory lock (or `same`'s) and
    LISTENing on `channel`; the owner id (named in its application_name, for operators)."""
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    try:
        while True:
            owner = same if same is not None else random.randint(1, 2**31 - 1)
            cur = await conn.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (OWNER_LOCK_SPACE, owner)
            )
            row = await cur.fetchone()
            if row and row[0]:
                break
            if same is not None:
                raise StoreError(f"owner {same} is held by another session")
        await conn.execute(
            "SELECT pg_catalog.set_config('application_name', %s, false)",
            (f"agentos-owner-{owner}",),
        )
        await conn.execute(psycopg.sql.SQL("LISTEN {}").format(psycopg.sql.Identifier(channel)))
    except BaseException:
        await conn.close()
        raise
    return conn, owner


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The caller's running loop, if any (where a batch's future is resolved)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def reopen_owner(psycopg: Any, url: str, channel: str, owner: int) -> Any:
    """The owner's session again, after it was cut (a server restart, a failover): tried
    until it opens, backing off to 2 s; runs taken over meanwhile stay lost (their
    appends are refused), the others are the owner's as before."""
    delay = 0.05
    while True:
        try:
            conn, _ = await owner_session(psycopg, url, channel, same=owner)
        except Exception as exc:
            log.warning("owner %s: session lost, reconnecting: %s", owner, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        else:
            return conn
