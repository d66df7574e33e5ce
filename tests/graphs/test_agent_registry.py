"""The agent registry: names, decorators and import paths."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentos.agents import AgentRegistry, UnknownAgentError, agent, default_registry, register


def echo(ctx: Any) -> Any:
    return ctx


def test_register_and_resolve_by_name() -> None:
    agents = AgentRegistry()
    agents.register("echo", echo)
    assert agents.resolve("echo") is echo
    assert "echo" in agents and "other" not in agents
    assert agents.names() == ["echo"]


def test_decorator_registers_coroutines() -> None:
    agents = AgentRegistry()

    @agents.agent("later")
    async def later(ctx: Any) -> str:
        return "done"

    assert agents.resolve("later") is later


def test_resolve_import_path() -> None:
    agents = AgentRegistry()
    assert agents.resolve("json:dumps") is json.dumps
    method: object = agents.resolve("json:JSONDecoder.decode")
    assert method is json.JSONDecoder.decode


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("ghost", "not registered"),
        ("no_such_module_xyz:f", "cannot import"),
        ("json:nothing_here", "has no"),
        ("json:__doc__", "not callable"),
    ],
)
def test_unknown_agent(ref: str, reason: str) -> None:
    with pytest.raises(UnknownAgentError, match=reason) as info:
        AgentRegistry().resolve(ref)
    assert isinstance(info.value, LookupError)


def test_conflicting_registration_needs_replace() -> None:
    agents = AgentRegistry()
    agents.register("a", echo)
    agents.register("a", echo)
    with pytest.raises(ValueError, match="already registered"):
        agents.register("a", print)
    agents.register("a", print, replace=True)
    assert agents.resolve("a") is print


def test_default_registry_shortcuts() -> None:
    register("tests.graphs.echo", echo, replace=True)

    @agent("tests.graphs.shout")
    def shout(ctx: Any) -> str:
        return str(ctx).upper()

    assert default_registry.resolve("tests.graphs.echo") is echo
    assert default_registry.resolve("tests.graphs.shout") is shout
