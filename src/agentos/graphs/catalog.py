"""The catalog: registered policies, context profiles, provider pool and graphs.

Registrations persist as JSON files under `{data}/.catalog/`, so a restarted server or a
later CLI call still has them. The shipped git-to-prod-multi graph, with its policies and
profiles, and the default provider pool are there from the start.
"""

from __future__ import annotations

import logging
import threading
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from agentos._exceptions import InvalidInputError, UnknownGraphError
from agentos._files import UnsafePathError, confined, write_atomic
from agentos._names import safe_name
from agentos.agents.registry import AgentRegistry
from agentos.context.profile import ContextProfile
from agentos.graphs.load import load_graph
from agentos.graphs.policy import Policy
from agentos.graphs.spec import GraphSpec, resolve
from agentos.graphs.validate import GraphProblem, GraphValidationError, check
from agentos.routing.pool import ProviderPool, default_pool

M = TypeVar("M", bound=BaseModel)

log = logging.getLogger(__name__)

BUILTIN_GRAPHS = ("git-to-prod-multi",)


def builtin_graph(name: str) -> GraphSpec:
    """A graph shipped with agentos, by name."""
    # the file, not the module: importing agentos.demo would load its agents and actors
    path = resources.files("agentos").joinpath("demo").joinpath(f"{name}.yaml")
    with resources.as_file(path) as file:
        return load_graph(file)


class Catalog:
    """Declarative resources by name, persisted in the data dir.

    A file or entry that cannot load is skipped, logged and listed in `problems` (one
    line each, naming the file), so one bad registration never makes the others unusable.
    """

    def __init__(self, data_dir: str | Path, agents: AgentRegistry | None = None) -> None:
        self.data = Path(data_dir)
        self.root = self.data / ".catalog"
        self.agents = agents
        self._lock = threading.Lock()
        self.problems: list[str] = []
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
        self.policies.update(self._entries("policies", Policy))
        self.profiles.update(self._entries("contextprofiles", ContextProfile))
        pool = self._read("providerpool")
        if pool is not None:
            try:
                self.pool = ProviderPool.model_validate(pool)
            except ValidationError as exc:
                self._problem(self.root / "providerpool.json", _first(exc))
        graphs_dir = self.root / "graphs"
        if not graphs_dir.is_dir():
            return
        for path in sorted(graphs_dir.glob("*.json")):
            try:
                graph = load_graph(confined(self.data, path))
            except (GraphValidationError, UnsafePathError) as exc:
                self._problem(path, one_line(str(exc)))
                continue
            self.graphs[graph.name] = graph

    def _read(self, name: str) -> Any:
        """The parsed JSON of `{name}.json`; None when it is missing or cannot load."""
        path = self.root / f"{name}.json"
        try:
            return orjson.loads(confined(self.data, path).read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:  # unreadable, a symlink, not JSON
            self._problem(path, one_line(str(exc)) or type(exc).__name__)
            return None

    def _entries(self, name: str, model: type[M]) -> dict[str, M]:
        """The valid entries of `{name}.json`; each bad one is a problem."""
        doc = self._read(name)
        if doc is None:
            return {}
        path = self.root / f"{name}.json"
        if not isinstance(doc, dict):
            self._problem(path, f"expected a JSON object, found {type(doc).__name__}")
            return {}
        entries: dict[str, M] = {}
        for key, value in doc.items():
            try:
                entries[safe_name(key)] = model.model_validate(value)
            except ValueError as exc:  # a bad name or a ValidationError
                reason = _first(exc) if isinstance(exc, ValidationError) else str(exc)
                self._problem(path, f"entry {key!r} skipped: {reason}")
        return entries

    def _problem(self, path: Path, reason: str) -> None:
        problem = f"{path}: {reason}"
        log.warning("catalog: %s", problem)
        self.problems.append(problem)

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
            path = confined(self.data, self.root / "providerpool.json")
            write_atomic(path, pool.model_dump_json().encode())
            self.pool = pool

    def put_graph(self, graph: GraphSpec) -> GraphSpec:
        """Validate and register a graph; raises GraphValidationError listing every problem."""
        safe_name(graph.name, "graph name")
        # what is stored must load again: the limits of a graph file (e.g. nesting depth)
        load_graph(graph.model_dump(mode="json"))
        known = [*self.graphs, graph.name]  # its `graph:` nodes run registered graphs
        check(graph, self.agents, self.policies, self.profiles, graphs=known)
        with self._lock:
            path = confined(self.data, self.root / "graphs" / f"{graph.name}.json")
            write_atomic(path, graph.model_dump_json().encode())
            self.graphs[graph.name] = graph
        return graph

    def problems_note(self) -> str:
        """`" (skipped: ...)"` naming the files and entries that could not load, or ""."""
        return f" (skipped: {'; '.join(self.problems)})" if self.problems else ""

    def graph(self, name: str) -> GraphSpec:
        """The registered graph `name`; UnknownGraphError (a KeyError) when there is none."""
        try:
            return self.graphs[name]
        except KeyError:
            known = ", ".join(sorted(self.graphs)) or "none"
            note = self.problems_note()
            raise UnknownGraphError(f"unknown graph {name!r} (registered: {known}){note}") from None

    def resolved(self, name: str) -> GraphSpec:
        """The graph with every named policy and profile it uses copied in; a problem
        names the catalog files that could not load too, which may be the cause."""
        try:
            return resolve(self.graph(name), self.policies, self.profiles)
        except GraphValidationError as exc:
            skipped = [GraphProblem("catalog", f"skipped {p}") for p in self.problems]
            raise GraphValidationError(exc.problems + skipped) from None

    def _put(self, file: str, table: dict[str, M], name: str, value: M) -> None:
        with self._lock:
            updated = {**table, name: value}
            try:
                blob = orjson.dumps({k: v.model_dump(mode="json") for k, v in updated.items()})
            except orjson.JSONEncodeError as exc:  # e.g. an integer beyond 64 bits
                raise InvalidInputError(f"cannot store {name!r}: {exc}") from None
            write_atomic(confined(self.data, self.root / f"{file}.json"), blob)
            table[name] = value


def one_line(text: str) -> str:
    """Several lines joined into one."""
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def _first(exc: ValidationError) -> str:
    """The first problem of a validation error, with the field it is about."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "value"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {err['msg']}{more}"
