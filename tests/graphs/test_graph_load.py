"""Loading graphs from YAML, JSON and mappings, and reporting load problems."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentos.graphs import GraphValidationError, load_graph, parse_graph

YAML = """
name: review
policies:
  patient:
    retry: {max_attempts: 3, initial_interval: 0.5}
    timeout: 30
context_profiles:
  small:
    budget: 2000
    sources:
      - {kind: instructions, text: "be brief"}
defaults:
  policy: patient
budget: {max_tokens: 50000, on_exceed: downgrade}
nodes:
  - {name: plan, agent: planner, context: small}
  - name: fix
    agent: "json:dumps"
    after: [plan]
    policy: {on_failure: continue}
    params: {lang: py}
"""

DATA = {
    "name": "tiny",
    "nodes": [{"name": "a", "agent": "x"}, {"name": "b", "agent": "x", "after": ["a"]}],
}


def test_load_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "review.yaml"
    path.write_text(YAML)
    spec = load_graph(path)
    assert spec.name == "review"
    assert [n.name for n in spec.nodes] == ["plan", "fix"]
    assert spec.policy_for("plan").retry.max_attempts == 3
    assert spec.policy_for("fix").on_failure == "continue"
    assert spec.node("fix").params == {"lang": "py"}
    assert spec.budget is not None and spec.budget.on_exceed == "downgrade"
    profile = spec.profile_for("plan")
    assert profile is not None and profile.budget == 2000


def test_load_json_file_and_str_path(tmp_path: Path) -> None:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(DATA))
    spec = load_graph(str(path))
    assert spec.node("b").after == ["a"]


def test_load_mapping_and_text() -> None:
    assert load_graph(DATA).name == "tiny"
    assert parse_graph(json.dumps(DATA), "json") == load_graph(DATA)
    assert parse_graph(YAML, "yaml").name == "review"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(GraphValidationError, match="file not found"):
        load_graph(tmp_path / "nope.yaml")


def test_unsupported_suffix(tmp_path: Path) -> None:
    with pytest.raises(GraphValidationError, match="unsupported file type"):
        load_graph(tmp_path / "graph.toml")


def test_bad_yaml_reports_line() -> None:
    with pytest.raises(GraphValidationError) as info:
        parse_graph("name: [unclosed\nnodes: 1\n", "yaml", origin="g.yaml")
    assert info.value.problems[0].where.startswith("g.yaml:")
    assert "invalid YAML" in info.value.problems[0].message


def test_bad_json_reports_line() -> None:
    with pytest.raises(GraphValidationError) as info:
        parse_graph('{"name": "x",\n  nodes}', "json")
    assert info.value.problems[0].where == "<text>:2:3"


def test_non_mapping_document() -> None:
    with pytest.raises(GraphValidationError, match="expected a mapping, found list"):
        parse_graph("- a\n- b\n", "yaml")


def test_schema_errors_listed_with_locations() -> None:
    data = {
        "name": "bad name!",
        "nodes": [
            {"name": "a", "agent": "x"},
            {"name": "b", "agent": "x", "colour": "red"},
            {"name": "c", "agent": "x", "policy": {"retry": {"max_attempts": 0}}},
        ],
        "policies": {"p": {"retry": {"initial_interval": 5, "max_interval": 1}}},
    }
    with pytest.raises(GraphValidationError) as info:
        load_graph(data)
    found = {(p.where, p.message) for p in info.value.problems}
    assert ("nodes[2].policy.retry.max_attempts", "Input should be greater than or equal to 1") in (
        found
    )
    assert ("nodes[1].colour", "Extra inputs are not permitted") in found
    wheres = {p.where for p in info.value.problems}
    assert {"name", "policies.p.retry"} <= wheres
    assert len(str(info.value).splitlines()) == len(info.value.problems) == 4


def test_empty_nodes_rejected() -> None:
    with pytest.raises(GraphValidationError, match="nodes"):
        load_graph({"name": "x", "nodes": []})
