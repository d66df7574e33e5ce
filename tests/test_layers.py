"""The layers of agentos point one way: every module under src/agentos is parsed with `ast`.

1. A module imports only from its own package or from packages of lower layers.
2. No import cycle between modules (so none between packages either, given rule 1).
3. No import inside a function, save the lazy imports of optional dependencies below.

Rules 1 and 2 count every import: at module level, under TYPE_CHECKING, and inside
functions (the allowed lazy ones too), so hiding an import does not dodge them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "agentos"

# bottom to top; the packages of one tuple are independent: none imports another.
# a top-level module (`agentos._files`) counts as a package of its own; `agentos` is the
# package's own __init__ (the public names), beside the front ends.
LAYERS: list[tuple[str, ...]] = [
    ("_exceptions",),
    ("_names", "_files", "_addresses"),
    ("tools",),  # workspace files, pytest, the scanner: state rebuilds workspaces with it
    ("events",),
    ("_progress",),  # live progress lines, printed by both the CLI and the demo runner
    ("eventstore",),
    ("state",),
    ("context",),
    ("agents",),
    ("routing",),  # below graphs: a policy's run budget is routing's model
    ("graphs",),  # the catalog holds the provider pool, validation the agent registry
    ("machine",),
    ("actors",),
    ("cluster",),  # members on a shared PostgreSQL store drive runs through supervisors
    ("observe",),  # traces and lifecycle logs of acknowledged events: api and cli wire it
    ("agentos", "api", "demo"),
    ("cli",),  # `agentos serve` runs the api, `agentos demo` the demo
]

# (importing module, imported module) -> why the import waits for the call
LAZY_IMPORTS: dict[tuple[str, str], str] = {
    # the HTTP stack (uvicorn, fastapi through agentos.api) loads for `agentos serve` only:
    # every other command starts about 0.1 s sooner
    ("agentos.cli.serve", "uvicorn"): "the ASGI server, needed only to serve",
    ("agentos.cli.serve", "agentos.api.allowlist"): "fastapi, needed only to serve",
    ("agentos.cli.serve", "agentos.api.app"): "fastapi, needed only to serve",
    ("agentos.cli.serve", "agentos.api.auth"): "fastapi, needed only to serve",
    # the `otel` extra's OTLP exporter (requests, protobuf) loads only when traces are on
    (
        "agentos.observe.traces",
        "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    ): "the OTLP exporter, needed only to export traces",
    # the `postgres` extra: importing agentos (and using JSONL) must not need it
    ("agentos.eventstore._pg_session", "psycopg"): "the optional postgres extra",
    ("agentos.eventstore._pg_session", "psycopg_pool"): "the optional postgres extra",
    # the `openai` and `anthropic` extras: loaded by a pool that names their kind
    ("agentos.routing.openai_provider", "openai"): "the optional openai extra",
    ("agentos.routing.anthropic_provider", "anthropic"): "the optional anthropic extra",
}


@dataclass(frozen=True)
class Import:
    """One import statement's target, where it is, and whether a function hides it."""

    source: str
    target: str
    line: int
    in_function: bool

    def __str__(self) -> str:
        return f"{self.source}:{self.line} imports {self.target}"


@cache
def modules() -> dict[str, Path]:
    """Every module of agentos by dotted name (a package by its own name)."""
    found: dict[str, Path] = {}
    for path in sorted((SRC / ROOT).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def package(module: str) -> str:
    """The layer unit of an agentos module: `agentos.graphs.spec` -> `graphs`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _base(module: str, node: ast.ImportFrom) -> str:
    """The absolute module a `from ... import` statement names."""
    if not node.level:
        return node.module or ""
    here = module.split(".")
    if modules()[module].name != "__init__.py":
        here.pop()
    here = here[: len(here) - node.level + 1]
    return ".".join([*here, *([node.module] if node.module else [])])


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = _base(module, node)
    named = [f"{base}.{alias.name}" for alias in node.names]
    submodules = [name for name in named if name in modules()]
    # `from pkg import submodule` is `import pkg.submodule`: pkg's own names are not used
    return submodules if len(submodules) == len(named) else [base, *submodules]


def _own(target: str) -> str | None:
    """The agentos module a target is, else None (a third-party module)."""
    return target if target in modules() else None


class _Finder(ast.NodeVisitor):
    def __init__(self, module: str) -> None:
        self.module = module
        self.depth = 0
        self.found: list[Import] = []

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        for target in _targets(self.module, node):
            self.found.append(Import(self.module, target, node.lineno, self.depth > 0))

    visit_Import = visit_ImportFrom = _import


@cache
def imports(module: str) -> tuple[Import, ...]:
    """Every import statement's targets in `module`, in order."""
    finder = _Finder(module)
    finder.visit(ast.parse(modules()[module].read_text(), str(modules()[module])))
    return tuple(finder.found)


def internal_edges() -> dict[str, set[str]]:
    """Module -> the agentos modules it imports (itself left out)."""
    edges: dict[str, set[str]] = {m: set() for m in modules()}
    for module in modules():
        for imp in imports(module):
            target = _own(imp.target)
            if target is not None and target != module:
                edges[module].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            nxt = next(successors, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(edges[nxt]))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def rank() -> dict[str, int]:
    return {name: level for level, names in enumerate(LAYERS) for name in names}


def test_every_package_has_a_layer() -> None:
    placed = rank()
    assert sum(len(names) for names in LAYERS) == len(placed), "a package is placed twice"
    unplaced = sorted({package(m) for m in modules()} - set(placed))
    assert unplaced == [], f"place these in LAYERS: {unplaced}"


def test_imports_point_down_the_layers() -> None:
    level = rank()
    upward = []
    for module, targets in internal_edges().items():
        for target in sorted(targets):
            here, there = package(module), package(target)
            if here != there and level[there] >= level[here]:
                upward.append(f"{module} ({here}) imports {target} ({there})")
    assert not upward, "imports up the layers:\n" + "\n".join(upward)


def test_no_import_cycles() -> None:
    found = [" -> ".join(c) for c in cycles(internal_edges())]
    assert not found, "import cycles:\n" + "\n".join(found)


def test_no_imports_hidden_in_functions() -> None:
    hidden = [
        str(imp)
        for module in modules()
        for imp in imports(module)
        if imp.in_function and (module, _own(imp.target) or imp.target) not in LAZY_IMPORTS
    ]
    assert not hidden, "imports inside functions:\n" + "\n".join(hidden)


def test_every_allowed_lazy_import_still_exists() -> None:
    lazy = {
        (module, _own(imp.target) or imp.target)
        for module in modules()
        for imp in imports(module)
        if imp.in_function
    }
    assert sorted(set(LAZY_IMPORTS) - lazy) == []


def test_the_checks_catch_what_they_forbid() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    assert package("agentos.graphs.spec") == "graphs"
    assert package("agentos._files") == "_files"
    assert _own("agentos.graphs.spec") == "agentos.graphs.spec"
    assert _own("uvicorn") is None
