"""The catalog: registered policies, context profiles, provider pool and graphs.

Registrations persist in a backend (`eventstore.catalog_rows.CatalogSource`): JSON files
under `{data}/.catalog/`, or on a PostgreSQL store the store's `catalog` table, shared by
every process on it. The shipped git-to-prod-multi graph, with its policies and profiles,
and the default provider pool are there from the start.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager
from importlib import resources
from pathlib import Path

import orjson
from pydantic import BaseModel, ValidationError

from agentos._exceptions import InvalidInputError, UnknownGraphError
from agentos._names import safe_name
from agentos.agents.registry import AgentRegistry
from agentos.context.profile import ContextProfile
from agentos.eventstore.base import EventStore
from agentos.eventstore.catalog_rows import POOL, CatalogSource, Entry, Kind, Stored
from agentos.eventstore.pg_catalog import CatalogTable
from agentos.eventstore.postgres import PostgresEventStore
from agentos.graphs._catalog_files import CatalogFiles
from agentos.graphs.load import load_graph
from agentos.graphs.policy import Policy
from agentos.graphs.spec import GraphSpec, resolve
from agentos.graphs.validate import GraphProblem, GraphValidationError, check
from agentos.routing.pool import ProviderPool, default_pool
from agentos.routing.router import Router

log = logging.getLogger(__name__)

BUILTIN_GRAPHS = ("git-to-prod-multi",)


def builtin_graph(name: str) -> GraphSpec:
    """A graph shipped with agentos, by name."""
    # the file, not the module: importing agentos.demo would load its agents and actors
    path = resources.files("agentos").joinpath("demo").joinpath(f"{name}.yaml")
    with resources.as_file(path) as file:
        return load_graph(file)


def catalog_for(data_dir: str | Path, agents: AgentRegistry | None, store: EventStore) -> Catalog:
    """The catalog of a store: its table on a PostgreSQL store, else the data dir's files."""
    source = CatalogTable(store) if isinstance(store, PostgresEventStore) else None
    return Catalog(data_dir, agents, source=source)


class Catalog:
    """Declarative resources by name, kept by a backend (default: the data dir's files).

    An entry that cannot load is skipped, logged and listed in `problems` (one line each,
    naming the file or the row), so one bad registration never makes the others
    unusable. On a shared backend, `refresh` (a request's) and `find` (a `graph:` node's)
    reload the entries when another process changed them.
    """

    def __init__(
        self,
        data_dir: str | Path,
        agents: AgentRegistry | None = None,
        *,
        source: CatalogSource | None = None,
    ) -> None:
        self.data = Path(data_dir)
        self.root = self.data / ".catalog"
        self.agents = agents
        self.source: CatalogSource = source if source is not None else CatalogFiles(data_dir)
        self._lock = threading.Lock()
        self.builtins = [builtin_graph(name) for name in BUILTIN_GRAPHS]
        self.problems: list[str] = []
        self._router: Router | None = None  # over `_routed`, the pool it was made for
        self._routed: ProviderPool | None = None
        self.policies: dict[str, Policy] = {}
        self.profiles: dict[str, ContextProfile] = {}
        self.graphs: dict[str, GraphSpec] = {}
        self.pool: ProviderPool = default_pool()
        self.stamp = -1  # the backend's stamp when last loaded
        self.reload()

    # loading: the builtins, then every stored entry that validates

    def reload(self) -> None:
        """Read every entry again (blocking: a file read or a query)."""
        self._apply(self.source.load())

    async def refresh(self) -> bool:
        """Reload when another process changed a shared backend (one cheap query);
        whether it did. A file backend never changes behind the catalog's back."""
        if not self.source.shared or await self.source.stamp() == self.stamp:
            return False
        await asyncio.to_thread(self.reload)
        return True

    def watching(self) -> AbstractContextManager[None]:
        """While inside, changes announced by other processes make `find` reload."""
        return self.source.watching()

    def _apply(self, stored: Stored) -> None:
        problems = list(stored.problems)
        policies: dict[str, Policy] = {}
        profiles: dict[str, ContextProfile] = {}
        graphs = {g.name: g for g in self.builtins}
        for graph in self.builtins:
            policies.update(graph.policies)
            profiles.update(graph.context_profiles)
        pool = default_pool()
        for entry in stored.entries:
            try:
                if entry.kind == "policy":
                    policies[safe_name(entry.name)] = Policy.model_validate(entry.doc)
                elif entry.kind == "profile":
                    profiles[safe_name(entry.name)] = ContextProfile.model_validate(entry.doc)
                elif entry.kind == "pool":
                    pool = ProviderPool.model_validate(entry.doc)
                else:
                    graph = _graph(entry)
                    graphs[graph.name] = graph
            except (ValueError, GraphValidationError) as exc:  # a bad name or value
                problems.append(f"{entry.where}: {_reason(exc)}")
        for problem in problems:
            log.warning("catalog: %s", problem)
        with self._lock:
            if stored.stamp < self.stamp:  # a slower reload than one applied already
                return
            self.policies, self.profiles, self.graphs = policies, profiles, graphs
            self.pool, self.problems, self.stamp = pool, problems, stored.stamp

    # registration: validate first, persist, then publish (blocking: run it off the loop)

    def put_policy(self, name: str, policy: Policy) -> None:
        """Register (or replace) a named policy."""
        safe_name(name, "policy name")
        self._put("policy", name, policy)
        with self._lock:
            self.policies = {**self.policies, name: policy}

    def put_profile(self, name: str, profile: ContextProfile) -> None:
        """Register (or replace) a named context profile."""
        safe_name(name, "context profile name")
        self._put("profile", name, profile)
        with self._lock:
            self.profiles = {**self.profiles, name: profile}

    def set_pool(self, pool: ProviderPool) -> None:
        """Replace the provider pool."""
        self._put("pool", POOL, pool)
        with self._lock:
            self.pool = pool

    def put_graph(self, graph: GraphSpec) -> GraphSpec:
        """Validate and register a graph; raises GraphValidationError listing every problem."""
        safe_name(graph.name, "graph name")
        # what is stored must load again: the limits of a graph file (e.g. nesting depth)
        load_graph(graph.model_dump(mode="json"))
        known = [*self.graphs, graph.name]  # its `graph:` nodes run registered graphs
        check(graph, self.agents, self.policies, self.profiles, graphs=known)
        self._put("graph", graph.name, graph)
        with self._lock:
            self.graphs = {**self.graphs, graph.name: graph}
        return graph

    def _put(self, kind: Kind, name: str, value: BaseModel) -> None:
        try:
            doc = orjson.dumps(value.model_dump(mode="json"))
        except orjson.JSONEncodeError as exc:  # e.g. an integer beyond 64 bits
            raise InvalidInputError(f"cannot store {name!r}: {exc}") from None
        self.source.write(kind, name, doc)

    # reading

    def problems_note(self) -> str:
        """`" (skipped: ...)"` naming the files and entries that could not load, or ""."""
        return f" (skipped: {'; '.join(self.problems)})" if self.problems else ""

    def graph(self, name: str) -> GraphSpec:
        """The registered graph `name`; UnknownGraphError (a KeyError) when there is none
        (as last loaded: `refresh` first to see other processes' registrations)."""
        try:
            return self.graphs[name]
        except KeyError:
            known = ", ".join(sorted(self.graphs)) or "none"
            note = self.problems_note()
            raise UnknownGraphError(f"unknown graph {name!r} (registered: {known}){note}") from None

    def router(self) -> Router:
        """A router over the current pool, the same one until the pool changes (read
        again first when another process announced a change while `watching`). A pool
        this process cannot route through keeps the last router, and is logged."""
        if self.source.stale():
            self.reload()
        with self._lock:
            if self._router is None or self._routed is not self.pool:
                try:
                    self._router = Router(self.pool)
                except InvalidInputError as exc:
                    if self._router is None:
                        raise
                    log.error("catalog: the new provider pool is not used: %s", exc)
                self._routed = self.pool
            return self._router

    def find(self, name: str) -> GraphSpec | None:
        """The resolved graph `name` for a `graph:` node, or None; reloaded first when
        another process announced a change while `watching` (blocking, rarely)."""
        if self.source.stale():
            self.reload()
        return self.resolved(name) if name in self.graphs else None

    def resolved(self, name: str) -> GraphSpec:
        """The graph with every named policy and profile it uses copied in; a problem
        names the catalog files that could not load too, which may be the cause."""
        try:
            return resolve(self.graph(name), self.policies, self.profiles)
        except GraphValidationError as exc:
            skipped = [GraphProblem("catalog", f"skipped {p}") for p in self.problems]
            raise GraphValidationError(exc.problems + skipped) from None


def _graph(entry: Entry) -> GraphSpec:
    if not isinstance(entry.doc, Mapping):
        raise InvalidInputError(f"expected a JSON object, found {type(entry.doc).__name__}")
    return load_graph(entry.doc)


def _reason(exc: ValueError | GraphValidationError) -> str:
    if isinstance(exc, ValidationError):
        return _first(exc)
    return one_line(str(exc))


def one_line(text: str) -> str:
    """Several lines joined into one."""
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def _first(exc: ValidationError) -> str:
    """The first problem of a validation error, with the field it is about."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "value"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {err['msg']}{more}"
