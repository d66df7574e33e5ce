"""AgentOS: event-sourced orchestration of multi-agent graphs.

The data flow, one folder per step: graphs (spec) -> actors (supervisor, node actors)
-> events -> eventstore -> state (fold) -> api / cli.
"""

from agentos.actors import Next, NodeContext, Supervisor, SyncSupervisor
from agentos.agents import AgentRegistry, default_registry
from agentos.context import ContextProfile, compile_context
from agentos.events import Envelope, Event
from agentos.eventstore import (
    ConcurrencyError,
    CorruptLogError,
    EventStore,
    InMemoryEventStore,
    JsonlEventStore,
    RunLockedError,
    UnknownRunError,
)
from agentos.graphs import (
    Budget,
    GraphSpec,
    GraphValidationError,
    NodeSpec,
    Policy,
    RetryPolicy,
    load_graph,
)
from agentos.routing import ProviderPool, Router, default_pool
from agentos.state import RunState, UnknownStepError, evolve, fold, load_state, state_hash

__version__ = "0.1.0"

__all__ = [
    "AgentRegistry",
    "Budget",
    "ConcurrencyError",
    "ContextProfile",
    "CorruptLogError",
    "Envelope",
    "Event",
    "EventStore",
    "GraphSpec",
    "GraphValidationError",
    "InMemoryEventStore",
    "JsonlEventStore",
    "Next",
    "NodeContext",
    "NodeSpec",
    "Policy",
    "ProviderPool",
    "RetryPolicy",
    "Router",
    "RunLockedError",
    "RunState",
    "Supervisor",
    "SyncSupervisor",
    "UnknownRunError",
    "UnknownStepError",
    "__version__",
    "compile_context",
    "default_pool",
    "default_registry",
    "evolve",
    "fold",
    "load_graph",
    "load_state",
    "state_hash",
]
