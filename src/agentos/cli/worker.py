"""`agentos worker`: a member of a shared PostgreSQL store that serves no HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import click

from agentos.cli.errors import usage
from agentos.cli.runlog import open_store
from agentos.cli.session import agents, graph_finder
from agentos.cli.settings import Settings, current
from agentos.cluster.member import Member
from agentos.eventstore.postgres import PostgresEventStore
from agentos.graphs.catalog import Catalog
from agentos.routing.router import Router


async def work(settings: Settings, capacity: int, ttl: float) -> None:
    """Be a member until SIGTERM or Ctrl-C; the runs it drives stay in their logs."""
    store = open_store(settings, must_exist=False)
    assert isinstance(store, PostgresEventStore)
    catalog = Catalog(settings.data, agents())
    member = Member(
        store,
        agents(),
        capacity=capacity,
        ttl=ttl,
        router=Router(catalog.pool),
        graphs=graph_finder(catalog),
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, member.stop)
    click.echo(f"member {store.owner} of {store.safe_url}: driving up to {capacity} runs", err=True)
    try:
        await member.run()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
        await store.close()


@click.command("worker")
@click.option(
    "--capacity",
    default=100,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Runs this member drives at once.",
)
@click.option(
    "--ttl",
    default=10.0,
    show_default=True,
    type=click.FloatRange(1.0, 3600.0),
    help="Seconds without a heartbeat after which a member is taken for dead.",
)
def worker_command(capacity: int, ttl: float) -> None:
    """Drive runs of a shared PostgreSQL store (--store URL or AGENTOS_STORE): runs
    queued by any member, and runs whose process died (taken over, as a resume would).
    Serves no HTTP; stop it with SIGTERM or Ctrl-C (its runs go to other members)."""
    settings = current()
    if settings.store is None:
        raise usage(
            "agentos worker needs a shared PostgreSQL store",
            "pass --store postgresql://... (or set AGENTOS_STORE)",
        )
    asyncio.run(work(settings, capacity, ttl))
