"""The catalog: registered policies, context profiles, provider pool and graphs.

Registrations persist as JSON files under `{data}/.catalog/`, so a restarted server or a
later CLI call still has them. The shipped git-to-prod-multi graph, with its policies and
profiles, and the default provider pool are there from the start.
"""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, TypeAdapter

from agentos._files import write_atomic
from agentos._names import safe_name
from agentos.agents.registry import AgentRegistry
from agentos.context.profile import ContextProfile
from agentos.graphs.load import load_graph
from agentos.graphs.policy import Policy
from agentos.graphs.spec import GraphSpec, resolve
from agentos.graphs.validate import check
from agentos.routing.pool import ProviderPool, default_pool

M = TypeVar("M", bound=BaseModel)

BUILTIN_GRAPHS = ("git-to-prod-multi",)


def builtin_graph(name: str) -> GraphSpec:
    """A graph shipped with agentos, by name."""
    path = resources.files("agentos.demo").joinpath(f"{name}.yaml")
    with resources.as_file(path) as file:
        return load_graph(file)


class Catalog:
    """Declarative resources by name, persisted in the data dir."""

    def __init__(self, data_dir: str | Path, agents: AgentRegistry | None = None) -> None:
        self.root = Path(data_dir) / ".catalog"
        self.agents = agents
        self._lock = threading.Lock()
        self.policies: dict[str, Policy] = {}
        self.profiles: dict[str, ContextProfile] = {}
        self.graphs: dict[str, GraphSpec] = {}
        self.pool: ProviderPool = default_pool()
        for name in BUILTIN_GRAPHS:
            graph = builtin_graph(name)
            self.graphs[name] = graph
            self.policies.update(graph.policies)
            self.profiles.update(graph.context_profiles)
        self._load()

    def _load(self) -> None:
        self.policies.update(self._read("policies", TypeAdapter(dict[str, Policy])) or {})
        self.profiles.update(
            self._read("contextprofiles", TypeAdapter(dict[str, ContextProfile])) or {}
        )
        self.pool = self._read("providerpool", TypeAdapter(ProviderPool)) or self.pool
        graphs_dir = self.root / "graphs"
        if graphs_dir.is_dir():
            for path in sorted(graphs_dir.glob("*.json")):
                graph = GraphSpec.model_validate_json(path.read_bytes())
                self.graphs[graph.name] = graph

    def _read(self, name: str, adapter: TypeAdapter[Any]) -> Any:
        path = self.root / f"{name}.json"
        return adapter.validate_json(path.read_bytes()) if path.exists() else None

    # registration: validate first, persist, then publish

    def put_policy(self, name: str, policy: Policy) -> None:
        """Register (or replace) a named policy."""
        safe_name(name, "policy name")
        self._put("policies", self.policies, name, policy)

    def put_profile(self, name: str, profile: ContextProfile) -> None:
        """Register (or replace) a named context profile."""
        safe_name(name, "context profile name")
        self._put("contextprofiles", self.profiles, name, profile)

    def set_pool(self, pool: ProviderPool) -> None:
        """Replace the provider pool."""
        with self._lock:
            write_atomic(self.root / "providerpool.json", pool.model_dump_json().encode())
            self.pool = pool

    def put_graph(self, graph: GraphSpec) -> GraphSpec:
        """Validate and register a graph; raises GraphValidationError listing every problem."""
        safe_name(graph.name, "graph name")
        # what is stored must load again: the limits of a graph file (e.g. nesting depth)
        load_graph(graph.model_dump(mode="json"))
        check(graph, agents=self.agents, policies=self.policies, profiles=self.profiles)
        with self._lock:
            path = self.root / "graphs" / f"{graph.name}.json"
            write_atomic(path, graph.model_dump_json().encode())
            self.graphs[graph.name] = graph
        return graph

    def graph(self, name: str) -> GraphSpec:
        """The registered graph `name`; KeyError when there is none."""
        try:
            return self.graphs[name]
        except KeyError:
            known = ", ".join(sorted(self.graphs)) or "none"
            raise KeyError(f"unknown graph {name!r} (registered: {known})") from None

    def resolved(self, name: str) -> GraphSpec:
        """The graph with every named policy and profile it uses copied in."""
        return resolve(self.graph(name), self.policies, self.profiles)

    def _put(self, file: str, table: dict[str, M], name: str, value: M) -> None:
        with self._lock:
            updated = {**table, name: value}
            try:
                blob = orjson.dumps({k: v.model_dump(mode="json") for k, v in updated.items()})
            except orjson.JSONEncodeError as exc:  # e.g. an integer beyond 64 bits
                raise ValueError(f"cannot store {name!r}: {exc}") from None
            write_atomic(self.root / f"{file}.json", blob)
            table[name] = value
