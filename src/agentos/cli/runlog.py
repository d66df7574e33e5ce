"""Opening the data dir's store and reading one run's log, with CLI errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from agentos._exceptions import InvalidNameError
from agentos.agents.registry import AgentRegistry
from agentos.cli.errors import usage
from agentos.cli.settings import Settings
from agentos.events.model import Envelope
from agentos.eventstore.base import EventStore, UnknownRunError
from agentos.eventstore.jsonl import JsonlEventStore
from agentos.eventstore.postgres import PostgresEventStore
from agentos.graphs.catalog import Catalog, catalog_for
from agentos.state.fold import fold
from agentos.state.run_state import RunState


def open_store(settings: Settings, *, must_exist: bool = True) -> EventStore:
    """The store of `--store URL`, else the JSONL store of the data dir (which must
    exist, unless the command writes)."""
    if settings.store is not None:
        return PostgresEventStore(settings.store)
    root = settings.require_data() if must_exist else settings.data
    return JsonlEventStore(root)


def where(store: EventStore, run_id: str) -> Path | str:
    """Where the run's log is kept: its file, or its store's database."""
    if isinstance(store, JsonlEventStore):
        return store.log_path(run_id)
    return f"{describe(store)} (run {run_id})"


def describe(store: EventStore) -> str:
    """The store, for messages: its data dir, or its database URL without a password."""
    if isinstance(store, PostgresEventStore):
        return store.safe_url
    if isinstance(store, JsonlEventStore):
        return f"{store.root}/"
    return type(store).__name__


@asynccontextmanager
async def reading(settings: Settings) -> AsyncIterator[EventStore]:
    """The store of an existing data dir, closed on exit."""
    store = open_store(settings)
    try:
        yield store
    finally:
        await store.close()


async def check_run_id(store: EventStore, run_id: str) -> None:
    """A usage error for a bad run id or a run the store does not have (any store)."""
    try:
        known = await store.exists(run_id)
    except InvalidNameError:
        known = False
    if not known:
        raise usage(f"unknown run {run_id!r} in {describe(store)}", "list runs with: agentos runs")


async def read_run(store: EventStore, run_id: str) -> list[Envelope]:
    """Every committed event of the run."""
    await check_run_id(store, run_id)
    try:
        return await store.read_all(run_id)
    except (UnknownRunError, InvalidNameError):
        raise usage(
            f"unknown run {run_id!r} in {describe(store)}", "list runs with: agentos runs"
        ) from None


async def load_run(store: EventStore, run_id: str) -> tuple[list[Envelope], RunState]:
    """The run's events and their fold."""
    events = await read_run(store, run_id)
    return events, fold(events)


def parse_step(text: str) -> int | str:
    """A step given on the command line: all digits is a seq, anything else a node."""
    return int(text) if text.isdigit() else text


def check_node(state: RunState, node: str) -> None:
    """A usage error unless the run's graph has `node`."""
    if node not in state.nodes:
        known = ", ".join(state.nodes) or "none"
        raise usage(f"run {state.run_id} has no node {node!r}", f"its nodes: {known}")


@asynccontextmanager
async def shared_catalog(
    url: str, data: Path, agents: AgentRegistry | None = None
) -> AsyncIterator[Catalog]:
    """The catalog of the PostgreSQL store at `url`, read once, while its store is open."""
    store = PostgresEventStore(url)
    try:
        yield await asyncio.to_thread(catalog_for, data, agents, store)
    finally:
        await store.close()
