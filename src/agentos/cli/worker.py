"""`agentos worker`: a member of a shared PostgreSQL store that serves no HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import click
from prometheus_client import start_http_server

from agentos._exceptions import InvalidInputError
from agentos.cli.errors import usage
from agentos.cli.runlog import open_store
from agentos.cli.session import agents, graph_finder
from agentos.cli.settings import Settings, current
from agentos.cluster.member import Member
from agentos.eventstore.postgres import PostgresEventStore
from agentos.graphs.catalog import catalog_for
from agentos.observe import observers
from agentos.observe.logformat import LOG_FORMATS, log_lines
from agentos.observe.metrics import Metrics
from agentos.observe.observers import Observers


async def work(
    settings: Settings,
    capacity: int,
    ttl: float,
    metrics_at: tuple[str, int] | None = None,
    observed: Observers | None = None,
) -> None:
    """Be a member until SIGTERM or Ctrl-C; the runs it drives stay in their logs.
    With `metrics_at` (host, port), its metrics are served there for Prometheus."""
    store = open_store(settings, must_exist=False)
    assert isinstance(store, PostgresEventStore)
    catalog = catalog_for(settings.data, agents(), store)  # the store's table
    counted = Metrics()
    counted.watch_store(store)
    server = None
    if metrics_at is not None:
        try:
            server, _ = start_http_server(metrics_at[1], metrics_at[0], counted.registry)
        except OSError as exc:
            await store.close()
            raise usage(f"cannot serve metrics on {metrics_at[0]}:{metrics_at[1]}: {exc}") from None
        click.echo(f"metrics: http://{metrics_at[0]}:{server.server_port}/metrics", err=True)
    member = Member(
        store,
        agents(),
        capacity=capacity,
        ttl=ttl,
        router=catalog.router,  # the shared pool, as it is when a run starts
        graphs=graph_finder(catalog),
        listeners=[counted.listen, *(observed.listeners if observed else ())],
        on_queued=counted.queued.set,
        on_taken_over=(
            (lambda state: observed.lifecycle.taken_over(state, store.owner)) if observed else None
        ),
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, member.stop)
    click.echo(f"member {store.owner} of {store.safe_url}: driving up to {capacity} runs", err=True)
    try:
        with catalog.watching():  # `graph:` nodes see graphs registered since it started
            await member.run()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
        await store.close()
        if server is not None:
            server.shutdown()


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
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve Prometheus metrics on this port (0: any free one).",
)
@click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    help="The address the metrics are served on (they need no token: keep it private).",
)
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    default="text",
    show_default=True,
    help="Log lines (run lifecycle, the member's own) as text or one JSON object per line.",
)
def worker_command(
    capacity: int, ttl: float, metrics_port: int | None, metrics_host: str, log_format: str
) -> None:
    """Drive runs of a shared PostgreSQL store (--store URL or AGENTOS_STORE): runs
    queued by any member, and runs whose process died (taken over, as a resume would).
    Serves no HTTP; stop it with SIGTERM or Ctrl-C (its runs go to other members)."""
    settings = current()
    if settings.store is None:
        raise usage(
            "agentos worker needs a shared PostgreSQL store",
            "pass --store postgresql://... (or set AGENTOS_STORE)",
        )
    metrics_at = None if metrics_port is None else (metrics_host, metrics_port)
    try:
        observed = observers.from_env()  # traces when the OTEL_* variables ask for them
    except InvalidInputError as exc:
        raise usage(str(exc), "fix the OTEL_* variables") from None
    try:
        with log_lines(log_format, "agentos"):
            asyncio.run(work(settings, capacity, ttl, metrics_at, observed))
    finally:
        observed.close()
