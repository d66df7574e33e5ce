"""The AgentOS demo: the git-to-prod-multi graph, its eight agents and a runner.

`Supervisor.start(load_demo_graph(), store, agents=registry)` runs the graph; `run_demo`
does so with live progress and a summary (`python -m agentos.demo`).
"""

from agentos.demo.agents import AGENTS, PREFIX, register_demo_agents, registry
from agentos.demo.graph import GRAPH_PATH, load_demo_graph, resolve_repo
from agentos.demo.run import DemoResult, run_demo, run_demo_sync

__all__ = [
    "AGENTS",
    "GRAPH_PATH",
    "PREFIX",
    "DemoResult",
    "load_demo_graph",
    "register_demo_agents",
    "registry",
    "resolve_repo",
    "run_demo",
    "run_demo_sync",
]
