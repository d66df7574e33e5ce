"""Topology of the eight-node release graph."""

from __future__ import annotations

import pytest

from agentos.graphs import GraphValidationError, Topology, load_graph

RELEASE = load_graph(
    {
        "name": "release",
        "nodes": [
            {"name": "planner", "agent": "x"},
            {"name": "py_fixer", "agent": "x", "after": ["planner"]},
            {"name": "fe_fixer", "agent": "x", "after": ["planner"]},
            {"name": "test_writer", "agent": "x", "after": ["planner"]},
            {"name": "aggregator", "agent": "x", "after": ["test_writer", "fe_fixer", "py_fixer"]},
            {"name": "tester", "agent": "x", "after": ["aggregator"]},
            {"name": "security", "agent": "x", "after": ["tester"]},
            {"name": "release", "agent": "x", "after": ["security"]},
        ],
    }
)


def test_roots_leaves_and_order() -> None:
    topo = Topology(RELEASE)
    assert topo.roots == ("planner",)
    assert topo.leaves == ("release",)
    assert topo.order == (
        "planner",
        "py_fixer",
        "fe_fixer",
        "test_writer",
        "aggregator",
        "tester",
        "security",
        "release",
    )


def test_fan_out_and_fan_in() -> None:
    topo = Topology(RELEASE)
    assert topo.successors("planner") == ("py_fixer", "fe_fixer", "test_writer")
    assert topo.predecessors("aggregator") == ("test_writer", "fe_fixer", "py_fixer")
    assert topo.successors("release") == ()


def test_downstream_and_upstream() -> None:
    topo = Topology(RELEASE)
    assert topo.downstream("fe_fixer") == {"aggregator", "tester", "security", "release"}
    assert topo.downstream("release") == set()
    assert topo.upstream("tester") == {
        "planner",
        "py_fixer",
        "fe_fixer",
        "test_writer",
        "aggregator",
    }
    with pytest.raises(KeyError):
        topo.downstream("nope")


def test_order_ties_follow_declaration() -> None:
    spec = load_graph(
        {
            "name": "g",
            "nodes": [
                {"name": "late", "agent": "x", "after": ["b"]},
                {"name": "a", "agent": "x"},
                {"name": "b", "agent": "x"},
                {"name": "c", "agent": "x", "after": ["a"]},
            ],
        }
    )
    assert Topology(spec).order == ("a", "b", "late", "c")


def test_cycle_rejected() -> None:
    spec = load_graph(
        {
            "name": "g",
            "nodes": [
                {"name": "a", "agent": "x", "after": ["b"]},
                {"name": "b", "agent": "x", "after": ["a"]},
            ],
        }
    )
    with pytest.raises(GraphValidationError, match="cycle"):
        Topology(spec)
