"""Hostile graph specs: load_graph, parse_graph, validate and resolve either accept a spec or
raise GraphValidationError, never another exception, never a hang."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rel_agents import eight_graph

from agentos.agents import AgentRegistry
from agentos.demo import register_demo_agents
from agentos.graphs.load import load_graph, parse_graph
from agentos.graphs.spec import GraphSpec, resolve
from agentos.graphs.topology import Topology
from agentos.graphs.validate import GraphValidationError, check, validate

DEMO = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "src/agentos/demo/git-to-prod-multi.yaml").read_text()
)
VALID = [eight_graph("steady"), DEMO]
FIELDS = [
    "name", "description", "version", "nodes", "policies", "context_profiles", "defaults",
    "budget", "inputs", "workspace", "agent", "after", "policy", "context", "params",
    "retry", "max_attempts", "initial_interval", "backoff", "max_interval", "jitter", "timeout",
    "on_failure", "concurrency", "min_tier", "preferred_models", "max_tokens", "max_cost",
    "on_exceed",
]  # fmt: skip


def _registry() -> AgentRegistry:
    reg = AgentRegistry()

    async def steady(ctx: Any) -> dict[str, Any]:
        return {}

    reg.register("steady", steady)
    return register_demo_agents(reg)


REGISTRY = _registry()

leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["", "..", "../x", "a/b", "fail_run", "continue", "steady", "planner"])
)
keys = st.sampled_from(FIELDS) | st.text(max_size=8)
value = st.recursive(
    leaf,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(keys, inner, max_size=6),
    max_leaves=40,
)
node = st.fixed_dictionaries(
    {"name": st.text(max_size=6) | leaf, "agent": st.sampled_from(["steady", "x:y", ""]) | leaf},
    optional={"after": st.lists(st.text(max_size=6), max_size=3) | leaf, "policy": value,
              "context": leaf, "params": value},
)  # fmt: skip
graph = st.fixed_dictionaries(
    {"name": st.text(max_size=8) | leaf, "nodes": st.lists(node, max_size=5) | value},
    optional={k: value for k in ["policies", "context_profiles", "defaults", "budget", "inputs",
                                 "workspace", "version"]},
)  # fmt: skip


def accept_or_refuse(source: Any) -> GraphSpec | None:
    """Load and validate `source`; only GraphValidationError may be raised."""
    try:
        spec = source() if callable(source) else load_graph(source)
        validate(spec, agents=REGISTRY)
        check(spec)
        spec = resolve(spec)
        for n in spec.nodes:
            spec.policy_for(n.name)
            spec.profile_for(n.name)
        spec.model_dump_json()
    except GraphValidationError as exc:
        assert exc.problems and str(exc)
        return None
    try:
        check(spec, agents=REGISTRY)
    except GraphValidationError:
        return None
    Topology(spec)
    return spec


def _mutate(doc: Any, path: list[Any], action: str, new: Any) -> Any:
    """Apply one mutation at a path of a copy of `doc`."""
    doc = copy.deepcopy(doc)
    target = doc
    for step in path[:-1]:
        target = target[step]
    last = path[-1]
    if action == "delete" and isinstance(target, dict):
        target.pop(last, None)
    elif action == "duplicate" and isinstance(target, list):
        target.append(copy.deepcopy(target[last]))
    else:
        target[last] = new
    return doc


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    doc = draw(st.sampled_from(VALID))
    for _ in range(draw(st.integers(1, 4))):
        path: list[Any] = []
        target = doc
        while isinstance(target, dict | list) and target and draw(st.booleans()):
            step = (
                draw(st.sampled_from(sorted(target)))
                if isinstance(target, dict)
                else draw(st.integers(0, len(target) - 1))
            )
            path.append(step)
            target = target[step]
        if not path:
            continue
        action = draw(st.sampled_from(["set", "delete", "duplicate"]))
        new = draw(value | st.sampled_from(["planner", "release", "aggregator"]))
        doc = _mutate(doc, path, action, new)
    return doc


RELAXED = [HealthCheck.too_slow, HealthCheck.data_too_large]


@settings(max_examples=80, deadline=None, suppress_health_check=RELAXED)
@given(graph | st.dictionaries(keys, value))
def test_random_dicts(doc: Any) -> None:
    accept_or_refuse(doc)


@settings(max_examples=100, deadline=None, suppress_health_check=RELAXED)
@given(mutated())
def test_mutated_valid_specs(doc: Any) -> None:
    accept_or_refuse(doc)


@settings(max_examples=60, deadline=None, suppress_health_check=RELAXED)
@given(st.one_of(st.text(max_size=200), graph.map(yaml.safe_dump), mutated().map(yaml.safe_dump)))
def test_random_yaml_text(text: str) -> None:
    accept_or_refuse(lambda: parse_graph(text, "yaml"))
    accept_or_refuse(lambda: parse_graph(text, "json"))


@pytest.mark.slow
@settings(max_examples=3000, deadline=None, suppress_health_check=RELAXED)
@given(graph | mutated() | st.dictionaries(keys, value))
def test_hostile_specs_long(doc: Any) -> None:
    accept_or_refuse(doc)
    text = yaml.safe_dump(doc)
    accept_or_refuse(lambda: parse_graph(text, "yaml"))


def test_valid_specs_are_accepted() -> None:
    for doc in VALID:
        assert accept_or_refuse(doc) is not None


BOMB = "\n".join(
    ["name: bomb", "nodes:", "- name: a", "  agent: steady", "  params:"]
    + ["    l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"    l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
)

HOSTILE_TEXT = {
    "deep yaml list": ("[" * 5_000, "yaml"),
    "deep yaml mapping": ("a: " + "{b: " * 5000 + "1" + "}" * 5000, "yaml"),
    "deep json": ("[" * 50_000, "json"),
    "self-referencing alias": ("&a {name: x, nodes: [{name: a, params: *a}]}", "yaml"),
    "alias bomb": (BOMB, "yaml"),
    "python tag": ("!!python/object/apply:os.system [echo hi]", "yaml"),
    "not a mapping": ("- 1\n- 2", "yaml"),
    "tabs": ("name:\tx\n\tnodes: []", "yaml"),
    "null bytes": ("name: a\x00b\nnodes: [{name: a, agent: steady}]", "yaml"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(HOSTILE_TEXT))
def test_hostile_text_is_refused_quickly(case: str) -> None:
    text, fmt = HOSTILE_TEXT[case]
    began = time.monotonic()
    with pytest.raises(GraphValidationError):
        parse_graph(text, fmt)
    assert time.monotonic() - began < 5


def test_hostile_file_paths(tmp_path: Path) -> None:
    for path in [tmp_path / "missing.yaml", tmp_path / "x.txt", tmp_path]:
        with pytest.raises(GraphValidationError):
            load_graph(path)
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"\xff\xfe name: x")
    with pytest.raises(GraphValidationError):
        load_graph(bad)
    deep = tmp_path / "deep.json"
    deep.write_text('{"name": "x", "nodes": ' + "[" * 100_000)
    with pytest.raises(GraphValidationError):
        load_graph(deep)
