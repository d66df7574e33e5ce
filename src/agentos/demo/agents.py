"""The demo's agent registry: the eight agents of git-to-prod-multi under the `demo.`
prefix, and the research-report example's as `research:<name>`."""

from __future__ import annotations

from agentos.agents.registry import Agent, AgentRegistry
from agentos.demo.aggregator import aggregator
from agentos.demo.checks import security, tester
from agentos.demo.fixers import fe_fixer, py_fixer
from agentos.demo.planner import planner
from agentos.demo.regression import write_tests
from agentos.demo.release import release
from agentos.demo.research import register_research_agents

PREFIX = "demo."

AGENTS: dict[str, Agent] = {
    "planner": planner,
    "py_fixer": py_fixer,
    "fe_fixer": fe_fixer,
    "test_writer": write_tests,
    "aggregator": aggregator,
    "tester": tester,
    "security": security,
    "release": release,
}


def register_demo_agents(registry: AgentRegistry, *, replace: bool = False) -> AgentRegistry:
    """Register the demo agents as `demo.<name>` in `registry` and return it."""
    for name, fn in AGENTS.items():
        registry.register(f"{PREFIX}{name}", fn, replace=replace)
    return registry


registry = register_research_agents(register_demo_agents(AgentRegistry()))
