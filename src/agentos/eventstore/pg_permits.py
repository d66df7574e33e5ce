"""Node concurrency limits across the members of one PostgreSQL store: permits.

A permit is a row of `node_permits`: slot `slot` (0 to the node's limit - 1) of a
(graph, node) pair, taken by a member (its owner id) for one holder (a member's table
of slots, `cluster/permits.py`). The primary key (graph, node, slot) lets at most
`limit` permits exist at once. A dead member's permits (its owner lock is gone: killed,
cut, or swept past its TTL) are taken back by the next member that asks; a permit given
back sends a NOTIFY (`freed_key`) so members with waiting attempts ask again at once;
a member refused one says so (`wanted_key`), so that members holding permits of that
node give them back rather than keep them for their own waiting attempts.
"""

from __future__ import annotations

from agentos.eventstore._pg_schema import OWNER_ALIVE
from agentos.eventstore.postgres import PostgresEventStore

#: permits of (graph, node) whose member is gone
_TAKE_BACK = f"""
    DELETE FROM node_permits p
    WHERE p.graph = %(graph)s AND p.node = %(node)s AND p.member <> %(me)s
      AND NOT {OWNER_ALIVE.format(owner="p.member")}
"""
#: the lowest free slot under the limit, taken (while fewer than `limit` are taken:
#: slots above a lowered limit still count); returns (the slot taken or NULL, whether a
#: free one was seen: a NULL slot with a free one seen lost a race and may try again)
_ACQUIRE = """
    WITH taken AS (
        SELECT slot FROM node_permits WHERE graph = %(graph)s AND node = %(node)s
    ), free AS (
        SELECT s FROM generate_series(0, %(limit)s - 1) AS s
        WHERE s NOT IN (SELECT slot FROM taken)
          AND (SELECT count(*) FROM taken) < %(limit)s
        ORDER BY s
        LIMIT 1
    ), ins AS (
        INSERT INTO node_permits (graph, node, slot, member, holder)
        SELECT %(graph)s, %(node)s, s, %(me)s, %(holder)s FROM free
        ON CONFLICT DO NOTHING
        RETURNING slot
    )
    SELECT (SELECT slot FROM ins), EXISTS (SELECT 1 FROM free)
"""
_RELEASE = """
    WITH d AS (
        DELETE FROM node_permits
        WHERE graph = %(graph)s AND node = %(node)s AND slot = %(slot)s
          AND member = %(me)s AND holder = %(holder)s
    )
    SELECT pg_notify(%(channel)s, '#freed:' || %(graph)s || '/' || %(node)s)
"""
_NOTIFY = "SELECT pg_notify(%(channel)s, %(key)s)"
_DROP_OWN = """
    WITH d AS (DELETE FROM node_permits WHERE member = %(me)s RETURNING graph, node)
    SELECT pg_notify(%(channel)s, '#freed:' || graph || '/' || node)
    FROM (SELECT DISTINCT graph, node FROM d) AS freed
"""
#: tries of one acquire that lost a race for a free slot before it reports none
_RACES = 5


async def acquire(
    store: PostgresEventStore, graph: str, node: str, limit: int, holder: str
) -> int | None:
    """Take a permit of `node` of `graph` for `holder`: its slot, or None when `limit`
    permits are taken (a dead member's are taken back first)."""
    params = {
        "graph": graph,
        "node": node,
        "limit": limit,
        "me": store.owner,
        "holder": holder,
    }
    await store.query(_TAKE_BACK, params)
    for _ in range(_RACES):
        rows = await store.query(_ACQUIRE, params)
        slot, seen_free = rows[0] if rows else (None, False)
        if slot is not None:
            return int(slot)
        if not seen_free:
            return None
    return None


async def release(store: PostgresEventStore, graph: str, node: str, slot: int, holder: str) -> None:
    """Give a permit back; members waiting for one hear of it."""
    params = {"graph": graph, "node": node, "slot": slot, "holder": holder}
    await store.query(_RELEASE, {**params, "me": store.owner, "channel": store.channel})


async def drop_own(store: PostgresEventStore) -> None:
    """Give back every permit this store's owner holds (a member starting again under
    the same owner id, or leaving)."""
    await store.query(_DROP_OWN, {"me": store.owner, "channel": store.channel})


def freed_key(graph: str, node: str) -> str:
    """The key of the notification that a permit of `node` of `graph` was given back."""
    return f"#freed:{graph}/{node}"


def wanted_key(graph: str, node: str) -> str:
    """The key of the notification that a member waits for a permit of `node`."""
    return f"#wanted:{graph}/{node}"


async def want(store: PostgresEventStore, graph: str, node: str) -> None:
    """Tell the members that this one waits for a permit of `node` of `graph`."""
    await store.query(_NOTIFY, {"channel": store.channel, "key": wanted_key(graph, node)})
