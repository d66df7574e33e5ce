"""Declarative graphs: specs, policies, loading, validation and topology."""

from agentos._exceptions import UnknownGraphError
from agentos.graphs.load import load_graph, parse_graph
from agentos.graphs.policy import Budget, Policy, RetryPolicy
from agentos.graphs.spec import GraphDefaults, GraphSpec, NodeSpec, resolve
from agentos.graphs.topology import Topology
from agentos.graphs.validate import GraphProblem, GraphValidationError, check, validate

__all__ = [
    "Budget",
    "GraphDefaults",
    "GraphProblem",
    "GraphSpec",
    "GraphValidationError",
    "NodeSpec",
    "Policy",
    "RetryPolicy",
    "Topology",
    "UnknownGraphError",
    "check",
    "load_graph",
    "parse_graph",
    "resolve",
    "validate",
]
