"""The PostgreSQL store's schema: ordered migrations, applied by the store itself."""

from __future__ import annotations

from typing import Any

#: an advisory-lock namespace (the first key of the two-key form): an owner's liveness
#: lock is (OWNER_LOCK_SPACE, owner id); the migration lock is (OWNER_LOCK_SPACE, 0)
OWNER_LOCK_SPACE = 0x41475F53

#: each entry moves the schema from version i to i + 1; never edit one that shipped
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        run_id text PRIMARY KEY,
        owner integer,
        epoch bigint NOT NULL DEFAULT 0,
        last_seq bigint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE events (
        run_id text NOT NULL,
        seq bigint NOT NULL,
        event text NOT NULL,
        PRIMARY KEY (run_id, seq)
    );
    CREATE TABLE artifacts (
        run_id text NOT NULL,
        name text NOT NULL,
        doc text NOT NULL,
        PRIMARY KEY (run_id, name)
    );
    """,
    # members, the run queue, commands for the owner of a run; a run that ended
    """
    ALTER TABLE runs ADD COLUMN ended boolean NOT NULL DEFAULT false;
    CREATE INDEX runs_open ON runs (created_at) WHERE NOT ended;
    CREATE TABLE members (
        member_id integer PRIMARY KEY,
        host text NOT NULL,
        pid integer NOT NULL,
        capacity integer NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        heartbeat_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE run_queue (
        run_id text PRIMARY KEY,
        spec text NOT NULL,
        inputs text NOT NULL,
        budget text,
        member integer,
        queued_at timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    CREATE TABLE commands (
        id bigserial PRIMARY KEY,
        run_id text NOT NULL,
        kind text NOT NULL,
        payload text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX commands_run ON commands (run_id);
    """,
    # the catalog shared by every member: graphs, policies, context profiles, the pool
    """
    CREATE SEQUENCE catalog_version;
    CREATE TABLE catalog (
        kind text NOT NULL,
        name text NOT NULL,
        doc text NOT NULL,
        version bigint NOT NULL DEFAULT nextval('catalog_version'),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (kind, name)
    );
    """,
    # node concurrency limits across members: one row per slot taken
    """
    CREATE TABLE node_permits (
        graph text NOT NULL,
        node text NOT NULL,
        slot integer NOT NULL,
        member integer NOT NULL,
        holder text NOT NULL,
        taken_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (graph, node, slot)
    );
    CREATE INDEX node_permits_member ON node_permits (member);
    """,
)

#: whether an owner id still has a live process behind it (its session holds the lock)
OWNER_ALIVE = f"""
    EXISTS (SELECT 1 FROM pg_locks l
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
              AND l.classid = {OWNER_LOCK_SPACE} AND l.objid = {{owner}}::oid
              AND l.database = (SELECT oid FROM pg_database
                                WHERE datname = current_database()))
"""

#: claim an existing run for an owner: a free or orphaned run moves to the next epoch;
#: returns (epoch, last_seq), or no row when there is no such run or a live owner has it
CLAIM = f"""
    UPDATE runs r SET owner = %(owner)s, epoch = r.epoch + 1
    WHERE r.run_id = %(run)s
      AND (r.owner IS NULL OR r.owner = %(owner)s OR NOT {OWNER_ALIVE.format(owner="r.owner")})
    RETURNING r.epoch, r.last_seq
"""

#: give runs up: only where this owner still holds them at the epoch it claimed
RELEASE = """
    UPDATE runs r SET owner = NULL
    FROM unnest(%(runs)s::text[], %(epochs)s::bigint[]) AS f(run_id, epoch)
    WHERE r.run_id = f.run_id AND r.owner = %(owner)s AND r.epoch = f.epoch
"""

#: one group of batches, one statement, one transaction: new runs are inserted, owned
#: runs move on only where owner, epoch and last seq still match; only the events of
#: the batches that passed are inserted; one NOTIFY names every run that moved. The
#: string arrays go in binary (`%b`): psycopg's text array dumper escapes each string
#: with a regex, ~16 µs an event against ~0.1 µs
APPEND_GROUP = """
    WITH b AS (
        SELECT * FROM unnest(%(runs)b::text[], %(epochs)s::bigint[], %(expected)s::bigint[],
                             %(last)s::bigint[], %(create)s::bool[], %(ends)s::bool[])
            AS b(run_id, epoch, expected, last, creates, ends)
    ), made AS (
        INSERT INTO runs (run_id, owner, epoch, last_seq, ended)
        SELECT b.run_id, %(owner)s, b.epoch, b.last, b.ends FROM b WHERE b.creates
        ON CONFLICT (run_id) DO NOTHING
        RETURNING run_id
    ), moved AS (
        UPDATE runs r SET last_seq = b.last, ended = b.ends FROM b
        WHERE NOT b.creates AND r.run_id = b.run_id AND r.owner = %(owner)s
          AND r.epoch = b.epoch AND r.last_seq = b.expected
        RETURNING r.run_id
    ), ok AS (
        SELECT run_id FROM made UNION ALL SELECT run_id FROM moved
    ), ins AS (
        INSERT INTO events (run_id, seq, event)
        SELECT e.run_id, e.seq, e.event
        FROM unnest(%(e_runs)b::text[], %(e_seqs)s::bigint[], %(e_events)b::text[])
            AS e(run_id, seq, event)
        WHERE e.run_id IN (SELECT run_id FROM ok)
    ), names AS (
        SELECT coalesce(string_agg(run_id, ','), '') AS s, count(*) AS n FROM ok
    )
    SELECT (SELECT array_agg(run_id) FROM ok),
           CASE WHEN n > 0 THEN
               pg_notify(%(channel)s, CASE WHEN length(s) < 7900 THEN s ELSE '' END)
           END
    FROM names
"""


#: a command for whatever process owns the run (its supervisor takes it), and a wake-up
SEND_COMMAND = """
    WITH c AS (INSERT INTO commands (run_id, kind, payload) VALUES (%(run)s, %(kind)s, %(data)s))
    SELECT pg_notify(%(channel)s, '#commands')
"""
TAKE_COMMANDS = """
    DELETE FROM commands WHERE run_id = ANY(%(runs)s::text[])
    RETURNING id, run_id, kind, payload
"""


async def migrate(conn: Any) -> int:
    """Bring the schema of `conn`'s search path up to date; return its version.

    Runs under a transaction-level advisory lock, so stores starting together migrate
    once; each migration and its version row commit together.
    """
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (OWNER_LOCK_SPACE,))
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
        cur = await conn.execute("SELECT max(version) FROM schema_version")
        row = await cur.fetchone()
        version = int(row[0]) if row and row[0] is not None else 0
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            await conn.execute(script)
            await conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (number,))
        return len(MIGRATIONS)
