"""Agents: the callables graph nodes run, found by name or import path."""

from agentos.agents.registry import (
    Agent,
    AgentRegistry,
    UnknownAgentError,
    agent,
    default_registry,
    register,
)

__all__ = [
    "Agent",
    "AgentRegistry",
    "UnknownAgentError",
    "agent",
    "default_registry",
    "register",
]
