"""Many processes on one PostgreSQL store: members with heartbeats, the run queue,
orphaned runs, and commands for a run's owner.

A member is a store's owner id (`PostgresEventStore.owner`, alive while its session
holds the owner's advisory lock) with a row in `members` and a heartbeat. Runs are
queued in `run_queue` and claimed with `FOR UPDATE SKIP LOCKED`; a run whose owner is
gone and that has not ended is an orphan, which any member may take over (its claim
bumps the epoch, so the old owner can never append again). A member whose heartbeat is
older than the TTL (paused, partitioned) has its sessions terminated: its lock goes
with them, and its runs become orphans.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any

import orjson

from agentos.eventstore._pg_schema import OWNER_ALIVE, OWNER_LOCK_SPACE
from agentos.eventstore.postgres import PostgresEventStore

#: the key of the notification that wakes members when a run is queued
QUEUE_KEY = "#queue"

_REGISTER = """
    INSERT INTO members (member_id, host, pid, capacity) VALUES (%(me)s, %(host)s, %(pid)s, %(n)s)
    ON CONFLICT (member_id) DO UPDATE SET heartbeat_at = now(), capacity = excluded.capacity
"""
_HEARTBEAT = "UPDATE members SET heartbeat_at = now() WHERE member_id = %(me)s RETURNING 1"
_LEAVE = "DELETE FROM members WHERE member_id = %(me)s"
#: members past their TTL, and members whose lock is gone: (member id, TTL passed)
_STALE = f"""
    SELECT m.member_id, m.heartbeat_at < now() - make_interval(secs => %(ttl)s)
    FROM members m
    WHERE m.member_id <> %(me)s
      AND (m.heartbeat_at < now() - make_interval(secs => %(ttl)s)
           OR NOT {OWNER_ALIVE.format(owner="m.member_id")})
"""
#: end every session holding a member's owner lock (the member's lock goes with it)
_TERMINATE = f"""
    SELECT pg_terminate_backend(l.pid) FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
      AND l.classid = {OWNER_LOCK_SPACE} AND l.objid = %(member)s::oid
"""
_ENQUEUE = """
    WITH q AS (
        INSERT INTO run_queue (run_id, spec, inputs, budget)
        VALUES (%(run)s, %(spec)s, %(inputs)s, %(budget)s)
    )
    SELECT pg_notify(%(channel)s, %(key)s)
"""
#: queued runs no live member has taken and that were not started yet
_CLAIM_QUEUED = f"""
    UPDATE run_queue q SET member = %(me)s
    WHERE q.run_id IN (
        SELECT q2.run_id FROM run_queue q2
        WHERE (q2.member IS NULL
               OR (q2.member <> %(me)s AND NOT {OWNER_ALIVE.format(owner="q2.member")}))
          AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.run_id = q2.run_id AND r.last_seq > 0)
        ORDER BY q2.queued_at
        LIMIT %(n)s
        FOR UPDATE SKIP LOCKED)
    RETURNING q.run_id, q.spec, q.inputs, q.budget
"""
_DEQUEUE = "DELETE FROM run_queue WHERE run_id = %(run)s"
_QUEUED = "SELECT count(*) FROM run_queue"
#: runs that have not ended and whose owner is gone (or that nobody owns), and this
#: member's own (the caller skips those it still drives: see `Member`)
_ORPHANS = f"""
    SELECT r.run_id FROM runs r
    WHERE NOT r.ended AND r.last_seq > 0
      AND (r.owner IS NULL OR r.owner = %(me)s OR NOT {OWNER_ALIVE.format(owner="r.owner")})
    ORDER BY r.created_at
    LIMIT %(n)s
"""


@dataclass(frozen=True)
class QueuedRun:
    """A run waiting for a member: its id, graph spec, inputs and budget."""

    run_id: str
    spec: dict[str, Any]
    inputs: dict[str, Any]
    budget: dict[str, Any] | None


class Membership:
    """One member's view of the cluster on its store (every call is one statement)."""

    def __init__(self, store: PostgresEventStore, capacity: int, ttl: float = 10.0) -> None:
        self.store = store
        self.capacity = capacity
        self.ttl = ttl

    @property
    def member_id(self) -> int:
        """The member's id: its store's owner id."""
        return self.store.owner

    async def join(self) -> None:
        """Register (or refresh) this member's row."""
        host, pid = socket.gethostname(), os.getpid()
        params = {"me": self.member_id, "host": host, "pid": pid, "n": self.capacity}
        await self.store.query(_REGISTER, params)

    async def heartbeat(self) -> bool:
        """Refresh the heartbeat; False when the member was swept out meanwhile."""
        return bool(await self.store.query(_HEARTBEAT, {"me": self.member_id}))

    async def leave(self) -> None:
        """Remove this member's row (its lock goes when its store closes)."""
        await self.store.query(_LEAVE, {"me": self.member_id})

    async def sweep(self) -> list[int]:
        """Remove dead members; end the sessions of those past their TTL (their runs
        become orphans). The ids removed."""
        swept = []
        for member, expired in await self.store.query(
            _STALE, {"me": self.member_id, "ttl": self.ttl}
        ):
            if expired:
                await self.store.query(_TERMINATE, {"member": member})
            await self.store.query(_LEAVE, {"me": member})
            swept.append(int(member))
        return swept

    async def enqueue(
        self,
        run_id: str,
        spec: dict[str, Any],
        inputs: dict[str, Any],
        budget: dict[str, Any] | None,
    ) -> None:
        """Queue a run for whichever member has room first (one NOTIFY wakes them)."""
        await self.store.query(_ENQUEUE, _queued(self.store, run_id, spec, inputs, budget))

    async def claim_queued(self, n: int) -> list[QueuedRun]:
        """Up to `n` queued runs, taken for this member (others skip them)."""
        if n <= 0:
            return []
        rows = await self.store.query(_CLAIM_QUEUED, {"me": self.member_id, "n": n})
        return [
            QueuedRun(
                r[0], orjson.loads(r[1]), orjson.loads(r[2]), orjson.loads(r[3]) if r[3] else None
            )
            for r in rows
        ]

    async def queued(self) -> int:
        """How many runs wait in the queue (for any member)."""
        rows = await self.store.query(_QUEUED, ())
        return int(rows[0][0]) if rows else 0

    async def dequeue(self, run_id: str) -> None:
        """Drop a queued run once it has started (its log exists)."""
        await self.store.query(_DEQUEUE, {"run": run_id})

    async def orphans(self, n: int) -> list[str]:
        """Up to `n` runs that have not ended and that no live member owns, or that this
        member owns (after a failed append, or its session was cut: its own to resume)."""
        if n <= 0:
            return []
        rows = await self.store.query(_ORPHANS, {"n": n, "me": self.member_id})
        return [r[0] for r in rows]


async def enqueue(
    store: PostgresEventStore,
    run_id: str,
    spec: dict[str, Any],
    inputs: dict[str, Any],
    budget: dict[str, Any] | None,
) -> None:
    """Queue a run on the store's cluster (for a process that is not a member)."""
    await store.query(_ENQUEUE, _queued(store, run_id, spec, inputs, budget))


def _queued(
    store: PostgresEventStore,
    run_id: str,
    spec: dict[str, Any],
    inputs: dict[str, Any],
    budget: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "run": run_id,
        "spec": orjson.dumps(spec).decode(),
        "inputs": orjson.dumps(inputs).decode(),
        "budget": orjson.dumps(budget).decode() if budget is not None else None,
        "channel": store.channel,
        "key": QUEUE_KEY,
    }
