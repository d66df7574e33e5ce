"""The catalog's contract, on both of its backends: JSON files in the data dir, and the
`catalog` table of a PostgreSQL store (shared by every process on it). Each `open_`
call is a catalog as another process would open it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from postgres_cluster import Cluster

from agentos._exceptions import UnknownGraphError
from agentos.context.profile import ContextProfile
from agentos.eventstore.pg_catalog import CatalogTable
from agentos.eventstore.postgres import PostgresEventStore
from agentos.graphs.catalog import Catalog, catalog_for
from agentos.graphs.policy import Policy
from agentos.graphs.spec import GraphSpec
from agentos.graphs.validate import GraphValidationError
from agentos.routing.pool import ProviderPool, default_pool

Opener = Callable[[], Catalog]


def graph(name: str, **node: Any) -> GraphSpec:
    return GraphSpec.model_validate({"name": name, "nodes": [{"name": "a", **node}]})


@pytest.fixture(params=["files", "table"])
async def open_(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens the catalog of one data dir, or of one PostgreSQL schema, again each call."""
    stores: list[PostgresEventStore] = []
    if request.param == "files":
        yield lambda: Catalog(tmp_path / "data")
        return
    url = request.getfixturevalue("pg_cluster").fresh_url()

    def opened() -> Catalog:
        store = PostgresEventStore(url)
        stores.append(store)
        return catalog_for(tmp_path / f"data{len(stores)}", None, store)

    try:
        yield opened
    finally:
        for store in stores:
            await store.close()


async def test_registrations_are_kept_and_replaced(open_: Opener) -> None:
    one = open_()
    one.put_policy("quick", Policy(timeout=3))
    one.put_profile("lean", ContextProfile(budget=500))
    first = default_pool().providers[0]
    pool = ProviderPool(providers=[first.model_copy(update={"name": "only"})])
    one.set_pool(pool)
    one.put_graph(graph("g", agent="x:y", policy="quick", context="lean"))
    two = open_()
    assert two.policies["quick"].timeout == 3
    assert two.profiles["lean"].budget == 500
    assert two.pool == pool
    assert two.resolved("g").policies["quick"].timeout == 3
    assert "git-to-prod-multi" in two.graphs  # the builtin is always there
    assert two.problems == []
    two.put_policy("quick", Policy(timeout=7))
    two.put_graph(graph("g", agent="x:z", policy="quick"))
    three = open_()
    assert three.policies["quick"].timeout == 7
    assert three.graph("g").nodes[0].agent == "x:z"


async def test_a_bad_entry_is_a_problem_naming_it_never_a_crash(open_: Opener) -> None:
    one = open_()
    one.put_policy("ok", Policy(timeout=5))
    one.source.write("policy", "bad", b'{"retry": {"backoff": null}}')
    one.source.write("graph", "broken", b'{"name": "broken", "nodes": 3}')
    one.source.write("pool", "providerpool", b"[1, 2]")
    two = open_()
    assert "ok" in two.policies and "bad" not in two.policies
    assert "broken" not in two.graphs and "git-to-prod-multi" in two.graphs
    assert len(two.problems) == 3
    assert any(("'bad'" in p and "policies" in p) or "(policy, 'bad')" in p for p in two.problems)
    assert any("broken" in p for p in two.problems)
    with pytest.raises(UnknownGraphError, match="broken"):  # the note names why
        two.graph("broken")


async def test_a_bad_registration_is_refused_and_nothing_is_stored(open_: Opener) -> None:
    one = open_()
    with pytest.raises(ValueError, match="invalid policy name"):
        one.put_policy("../up", Policy())
    with pytest.raises(ValueError, match="invalid context profile name"):
        one.put_profile(".hidden", ContextProfile(budget=10))
    with pytest.raises(GraphValidationError):
        one.put_graph(graph("orphan", agent="x:y", policy="nowhere"))
    two = open_()
    assert "orphan" not in two.graphs and ".hidden" not in two.profiles
    assert "../up" not in two.policies and two.problems == []


async def test_another_writer_is_seen_on_a_shared_backend_only(open_: Opener) -> None:
    reader = open_()
    writer = open_()
    before = dict(reader.graphs)
    writer.put_policy("shared", Policy(timeout=9))
    writer.put_graph(graph("late", agent="x:y", policy="shared"))
    changed = await reader.refresh()
    if reader.source.shared:  # the PostgreSQL table: by the reader's next request
        assert changed and reader.policies["shared"].timeout == 9
        assert reader.resolved("late").policies["shared"].timeout == 9
        assert not await reader.refresh()  # unchanged since: no reload
    else:  # files: one process writes them; a reader never reloads behind its back
        assert not changed and reader.graphs == before
        with pytest.raises(UnknownGraphError):
            reader.graph("late")


async def test_graph_nodes_find_graphs_announced_while_watching(open_: Opener) -> None:
    reader = open_()
    with reader.watching():
        assert reader.find("child") is None
        open_().put_graph(graph("child", agent="x:y"))
        if not reader.source.shared:
            assert reader.find("child") is None
            return
        deadline = time.monotonic() + 10
        while not reader.source.stale():  # the NOTIFY reaches this loop
            assert time.monotonic() < deadline, "no NOTIFY for the catalog write"
            await asyncio.sleep(0.01)
        found = reader.find("child")
        assert found is not None and found.name == "child"
        assert not reader.source.stale()


async def test_members_route_new_runs_through_a_pool_announced_while_watching(
    open_: Opener,
) -> None:
    """`router()` is what a member gives each new run: one router until the pool changes,
    then one over the pool another process registered."""
    reader = open_()
    with reader.watching():
        first = reader.router()
        assert reader.router() is first and first.pool == reader.pool
        only = default_pool().providers[-1].model_copy(update={"name": "only"})
        open_().set_pool(ProviderPool(providers=[only]))
        if not reader.source.shared:
            assert reader.router() is first  # files change only through this catalog
            return
        deadline = time.monotonic() + 10
        while not reader.source.stale():
            assert time.monotonic() < deadline, "no NOTIFY for the catalog write"
            await asyncio.sleep(0.01)
        second = reader.router()
        assert second is not first
        assert [p.name for p in second.pool.providers] == ["only"]
        assert reader.router() is second


async def test_the_table_names_a_row_that_is_not_json(pg_cluster: Cluster, tmp_path: Path) -> None:
    store = PostgresEventStore(pg_cluster.fresh_url())
    torn = '{"name": '
    try:
        await store.query(
            "INSERT INTO catalog (kind, name, doc) VALUES ('graph', 'torn', %s)", (torn,)
        )
        await store.query("INSERT INTO catalog (kind, name, doc) VALUES ('agent', 'x', '{}')", ())
        catalog = catalog_for(tmp_path, None, store)
        assert isinstance(catalog.source, CatalogTable)
        assert sorted(catalog.problems) == [
            "catalog row (agent, 'x') skipped: unknown kind",
            f"catalog row (graph, 'torn') skipped: not JSON: {_json_error(torn.encode())}",
        ]
        assert not (tmp_path / ".catalog").exists()  # nothing in the data dir
    finally:
        await store.close()


def _json_error(doc: bytes) -> str:
    try:
        orjson.loads(doc)
    except orjson.JSONDecodeError as exc:
        return str(exc)
    raise AssertionError("valid JSON")
