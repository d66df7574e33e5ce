"""Wait nodes in a graph: `wait: NAME` instead of an agent, and its misuses."""

from __future__ import annotations

import pytest

from agentos.agents.registry import AgentRegistry
from agentos.graphs.load import load_graph
from agentos.graphs.problems import GraphValidationError
from agentos.graphs.validate import validate


def test_a_wait_node_needs_no_agent() -> None:
    spec = load_graph(
        {
            "name": "g",
            "nodes": [
                {"name": "plan", "agent": "x:y"},
                {"name": "approval", "after": ["plan"], "wait": "approval"},
            ],
        }
    )
    assert spec.node("approval").wait == "approval"
    assert spec.node("approval").agent is None
    # its agent is not looked up: the only problem is plan's unimportable agent
    assert [p.where for p in validate(spec, AgentRegistry())] == ["nodes[0].agent"]


def test_a_wait_with_an_agent_is_reported_where_it_is() -> None:
    spec = load_graph(
        {"name": "g", "nodes": [{"name": "approval", "agent": "x:y", "wait": "approval"}]}
    )
    [problem] = validate(spec)
    assert problem.where == "nodes[0].agent"
    assert "waits for signal 'approval'" in problem.message


def test_a_node_without_agent_or_wait_is_refused() -> None:
    with pytest.raises(GraphValidationError, match="needs an `agent`"):
        load_graph({"name": "g", "nodes": [{"name": "a"}]})


def test_a_signal_name_must_be_a_plain_name() -> None:
    with pytest.raises(GraphValidationError, match=r"nodes\[0\]\.wait: String should match"):
        load_graph({"name": "g", "nodes": [{"name": "a", "wait": "no spaces"}]})
