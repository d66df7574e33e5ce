"""The demo graph file: its shape, policies, profiles, registry and the examples copy."""

from __future__ import annotations

from demo_support import EXAMPLES, ROOT

import agentos.demo
from agentos.demo import GRAPH_PATH, load_demo_graph, registry, resolve_repo
from agentos.graphs import Topology, check, load_graph


def test_examples_copy_is_identical() -> None:
    copy = EXAMPLES / "git-to-prod-multi.yaml"
    assert copy.read_bytes() == GRAPH_PATH.read_bytes()
    assert not copy.is_symlink()
    assert load_graph(copy) == load_demo_graph()


def test_graph_shape() -> None:
    spec = load_demo_graph()
    assert spec.name == "git-to-prod-multi"
    assert spec.workspace == "repo"
    assert spec.inputs == {
        "repo": "examples/sample_repo",
        "pr_number": 0,
        "fix_loop": False,
        "wrong_first_fix": False,
        "approval": False,
    }
    topo = Topology(spec)
    assert sorted(topo.predecessors("aggregator")) == ["fe_fixer", "py_fixer", "test_writer"]
    for node in ("py_fixer", "fe_fixer", "test_writer"):
        assert list(topo.predecessors(node)) == ["planner"]
    assert list(topo.predecessors("release")) == ["security", "approval"]
    assert list(topo.predecessors("approval")) == ["security"]
    agents = [n for n in spec.nodes if n.wait is None]
    assert len(agents) == 8 and len(spec.context_profiles) == 8
    assert all(n.context == n.name for n in agents)
    approval = spec.node("approval")
    assert approval.wait == "approval" and approval.agent is None
    assert spec.policy_for("approval").retry.max_attempts == 1


def test_the_fix_loop_is_bounded_by_the_testers_rounds() -> None:
    spec = load_demo_graph()
    loop = spec.node("tester").loop
    assert loop is not None and loop.to == "py_fixer"
    assert loop.max_iterations == spec.node("tester").params["max_rounds"] == 3


def test_policies_and_params() -> None:
    spec = load_demo_graph()
    assert spec.policy_for("planner").retry.max_attempts == 2
    assert spec.policy_for("tester").timeout == 120
    assert spec.node("tester").policy == "strict"
    assert spec.node("security").params["fail_on"] == "high"


def test_registry_has_every_agent() -> None:
    spec = load_demo_graph()
    demo_agents = {n for n in registry.names() if n.startswith("demo.")}
    assert (
        {n.agent for n in spec.nodes if n.agent}
        == demo_agents
        == {f"demo.{name}" for name in agentos.demo.AGENTS}
    )
    assert agentos.demo.registry is registry
    check(spec, agents=registry)


def test_default_repo_resolves_to_the_examples() -> None:
    assert resolve_repo() == (ROOT / "examples" / "sample_repo").resolve()
