"""`agentos serve`: the HTTP control plane, with uvicorn, safe by default.

Without AGENTOS_API_TOKEN the server uses the token kept in the data dir (made on first
start, mode 0600) and prints the dashboard URL holding it; `--no-auth` serves anonymous
clients, on a loopback address only.
"""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path

import click

from agentos._exceptions import InvalidInputError
from agentos.cli.errors import failure, usage
from agentos.cli.runlog import shared_catalog
from agentos.cli.settings import current, pool_option, read_pool
from agentos.demo import registry as demo_agents
from agentos.demo.graph import resolve_source
from agentos.eventstore.base import StoreError
from agentos.graphs.catalog import Catalog
from agentos.observe.logformat import LOG_FORMATS, log_lines, uvicorn_log_config
from agentos.routing.pool import ProviderPool

LOOPBACK = ("localhost", "127.0.0.1", "::1")


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or address to bind) is reachable from this machine only."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def served_hosts(host: str, extra: str | None) -> list[str]:
    """The Host names served: the bound host, loopback names when bound to loopback or to
    every address, and the comma-separated `extra` (--allowed-hosts)."""
    hosts = [host.strip("[]")]
    name = host.strip("[]")
    if is_loopback(name) or name in ("0.0.0.0", "::"):
        hosts += LOOPBACK
    hosts += [h.strip() for h in (extra or "").split(",") if h.strip()]
    return list(dict.fromkeys(hosts))


def dashboard_url(host: str, port: int, token: str | None) -> str:
    """The URL to open the dashboard with (the token in it, when there is one)."""
    name = host.strip("[]")
    if name in ("0.0.0.0", "::"):
        name = "127.0.0.1"
    shown = f"[{name}]" if ":" in name else name
    return f"http://{shown}:{port}/dashboard" + (f"?token={token}" if token else "")


def keep_pool(pool: ProviderPool, data: Path, store_url: str | None) -> None:
    """Register `pool` as the catalog's: in the data dir, or in the store's catalog
    table (seen by every member) with --store."""
    where = str(data) if store_url is None else "the store's catalog"
    try:
        if store_url is None:
            Catalog(data).set_pool(pool)
        else:
            asyncio.run(_keep_shared_pool(pool, data, store_url))
    except (OSError, InvalidInputError, StoreError) as exc:
        raise failure(f"cannot keep the provider pool in {where}: {exc}") from exc


async def _keep_shared_pool(pool: ProviderPool, data: Path, store_url: str) -> None:
    async with shared_catalog(store_url, data) as catalog:
        await asyncio.to_thread(catalog.set_pool, pool)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to bind.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="The port to listen on.",
)
@click.option(
    "--no-auth",
    is_flag=True,
    help="Serve clients without a token (only on a loopback address).",
)
@click.option(
    "--allow-agents",
    envvar="AGENTOS_ALLOW_AGENTS",
    metavar="PATTERN,...",
    help="Import paths HTTP clients may name as agents (fnmatch over module:callable, "
    "e.g. 'mypkg.agents:*'); registered agents are always allowed.",
)
@click.option(
    "--allowed-hosts",
    envvar="AGENTOS_ALLOWED_HOSTS",
    metavar="HOST,...",
    help="Host header names served besides the bound host ('*.example.com' allowed).",
)
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    default="text",
    show_default=True,
    help="Log lines (run lifecycle, server) as text or as one JSON object per line.",
)
@click.option(
    "--capacity",
    default=100,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="With --store postgresql://...: runs this member drives at once.",
)
@pool_option
def serve_command(
    host: str,
    port: int,
    no_auth: bool,
    allow_agents: str | None,
    allowed_hosts: str | None,
    log_format: str,
    capacity: int,
    pool_file: Path | None,
) -> None:
    """Serve the HTTP API and dashboard over the data dir until interrupted.

    Clients need the token (AGENTOS_API_TOKEN, else the one kept in DATA/.api-token,
    made on first start); the dashboard URL printed at start holds it. Unfinished runs in
    the data dir are resumed by the server. With --store postgresql://... the server is a
    member of that store, as `agentos worker` is: new runs are queued for the first
    member with room, and runs whose process died are taken over.
    """
    if no_auth and not is_loopback(host):
        raise usage(f"--no-auth serves anonymous clients: refused on {host}, not a loopback")
    try:
        import uvicorn

        from agentos.api.allowlist import split_patterns
        from agentos.api.app import create_app
        from agentos.api.auth import server_token
    except ImportError as exc:
        raise failure(
            f"the HTTP API is not available: {exc}", "install agentos with its API"
        ) from exc
    data = current().data
    store_url = current().store
    pool = read_pool(pool_file)
    if pool is not None:  # as POST /providerpool would: new runs route through it
        keep_pool(pool, data, store_url)
    try:
        token = None if no_auth else server_token(data)
    except (OSError, InvalidInputError) as exc:
        raise failure(f"cannot keep the API token in {data}: {exc}") from exc
    try:
        app = create_app(
            data,
            token=token,
            agents=demo_agents,
            allow_agents=split_patterns(allow_agents),
            allowed_hosts=served_hosts(host, allowed_hosts),
            resolve_source=resolve_source,
            store=store_url,
            capacity=capacity,
        )
    except InvalidInputError as exc:  # OTEL_* asks for traces that cannot be made
        raise usage(str(exc), "fix the OTEL_* variables") from exc
    click.echo(f"dashboard: {dashboard_url(host, port, app.state.token)}")
    logs = uvicorn_log_config(log_format)
    # live event streams of unfinished runs would otherwise hold a shutdown forever
    with log_lines(log_format, "agentos"):
        if logs is None:
            uvicorn.run(app, host=host, port=port, timeout_graceful_shutdown=3)
        else:
            uvicorn.run(app, host=host, port=port, timeout_graceful_shutdown=3, log_config=logs)
