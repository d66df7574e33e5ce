"""The demo graph file and where the demo's source repository is found."""

from __future__ import annotations

from pathlib import Path

from agentos.graphs.load import load_graph
from agentos.graphs.spec import GraphSpec

GRAPH_PATH = Path(__file__).with_name("git-to-prod-multi.yaml")
DEFAULT_REPO = "examples/sample_repo"


def load_demo_graph() -> GraphSpec:
    """The `git-to-prod-multi` graph shipped with the package."""
    return load_graph(GRAPH_PATH)


def resolve_repo(repo: str | Path | None = None) -> Path:
    """The absolute source repository of a demo run.

    A relative path is resolved against the current directory; the default
    (examples/sample_repo) falls back to the source checkout holding this package.
    """
    path = Path(repo if repo is not None else DEFAULT_REPO).expanduser()
    candidates = [Path.cwd() / path]
    if repo is None and not path.is_absolute():
        candidates.append(Path(__file__).resolve().parents[3] / path)
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    raise FileNotFoundError(f"demo repository {path} not found (relative to {Path.cwd()})")


def resolve_source(source: str) -> Path:
    """A graph's relative workspace source as the demo finds it (for the HTTP server):
    against the current directory, and examples/sample_repo in the source checkout too."""
    return resolve_repo(None if source == DEFAULT_REPO else source)
