"""Policy and profile lookup on a spec, and resolve()."""

from __future__ import annotations

import pytest

from agentos.context.profile import ContextProfile
from agentos.graphs import GraphSpec, GraphValidationError, Policy, check, load_graph, resolve


def spec_with(defaults: str | None = None) -> GraphSpec:
    return load_graph(
        {
            "name": "g",
            "policies": {"own": {"timeout": 5}},
            "defaults": {"policy": defaults},
            "nodes": [
                {"name": "inline", "agent": "x", "policy": {"timeout": 1}},
                {"name": "named", "agent": "x", "policy": "own"},
                {"name": "plain", "agent": "x", "context": "brief"},
            ],
            "context_profiles": {"brief": {"budget": 100}},
        }
    )


def test_policy_for_precedence() -> None:
    spec = spec_with(defaults="own")
    assert spec.policy_for("inline").timeout == 1
    assert spec.policy_for("named").timeout == 5
    assert spec.policy_for("plain").timeout == 5
    assert spec_with().policy_for("plain") == Policy()


def test_node_and_profile_lookup() -> None:
    spec = spec_with()
    assert spec.profile_for("plain") == ContextProfile(budget=100)
    assert spec.profile_for("inline") is None
    with pytest.raises(KeyError, match="graph 'g' has no node 'zzz'"):
        spec.node("zzz")


def test_policy_for_unknown_name_raises() -> None:
    with pytest.raises(GraphValidationError, match="unknown policy 'registered'"):
        spec_with(defaults="registered").policy_for("plain")


def test_resolve_inlines_registered_names() -> None:
    spec = load_graph(
        {
            "name": "g",
            "defaults": {"policy": "slow"},
            "nodes": [{"name": "a", "agent": "x", "policy": "fast", "context": "wide"}],
        }
    )
    policies = {"fast": Policy(timeout=2), "slow": Policy(timeout=60), "unused": Policy()}
    profiles = {"wide": ContextProfile(budget=8000)}
    full = resolve(spec, policies, profiles)
    assert set(full.policies) == {"fast", "slow"}
    assert full.policy_for("a").timeout == 2
    assert full.profile_for("a") == profiles["wide"]
    check(full)
    assert spec.policies == {}  # the original is untouched
    reloaded = load_graph(full.model_dump())
    assert reloaded == full


def test_resolve_prefers_graph_own_definitions() -> None:
    spec = spec_with(defaults="own")
    full = resolve(spec, {"own": Policy(timeout=99)})
    assert full.policy_for("plain").timeout == 5


def test_resolve_reports_unknown_names() -> None:
    spec = load_graph(
        {"name": "g", "nodes": [{"name": "a", "agent": "x", "policy": "p", "context": "c"}]}
    )
    with pytest.raises(GraphValidationError) as info:
        resolve(spec)
    assert [str(p) for p in info.value.problems] == [
        "nodes[0].policy: unknown policy 'p'",
        "nodes[0].context: unknown context profile 'c'",
    ]
