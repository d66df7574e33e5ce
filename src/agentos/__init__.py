"""AgentOS: event-sourced orchestration of multi-agent graphs.

The data flow, one folder per step: graphs (spec) -> actors (supervisor, node actors)
-> events -> eventstore -> state (fold) -> api / cli. Every error is an `AgentOSError`
(the tree is drawn in `agentos._exceptions`); the front-ends' own errors (`agentos.cli`)
and the demo's are in their packages.
"""

from agentos._exceptions import (
    AgentExitError,
    AgentNotAllowedError,
    AgentOSError,
    ArtifactNotFoundError,
    BadLineError,
    BudgetExceededError,
    ConcurrencyError,
    CorruptLogError,
    EventDecodeError,
    EventRejectedError,
    InvalidEventError,
    InvalidInputError,
    InvalidNameError,
    NoModelError,
    NoModelFitsError,
    PatchError,
    PathEscapeError,
    ProviderError,
    RoutingError,
    RunEndedError,
    RunExistsError,
    RunLockedError,
    RunStalledError,
    StoreError,
    StoreWriteError,
    UnknownAgentError,
    UnknownGraphError,
    UnknownRunError,
    UnknownStepError,
    UnsafePathError,
)
from agentos.actors import Next, NodeContext, Supervisor, SyncSupervisor
from agentos.agents import AgentRegistry, default_registry
from agentos.context import ContextProfile, compile_context
from agentos.events import Envelope, Event
from agentos.eventstore import EventStore, InMemoryEventStore, JsonlEventStore
from agentos.graphs import (
    Budget,
    GraphSpec,
    GraphValidationError,
    NodeSpec,
    Policy,
    RetryPolicy,
    load_graph,
)
from agentos.routing import AllProvidersFailedError, ProviderPool, Router, default_pool
from agentos.state import RunState, evolve, fold, load_state, state_hash

__version__ = "0.1.0"

__all__ = [
    "AgentExitError",
    "AgentNotAllowedError",
    "AgentOSError",
    "AgentRegistry",
    "AllProvidersFailedError",
    "ArtifactNotFoundError",
    "BadLineError",
    "Budget",
    "BudgetExceededError",
    "ConcurrencyError",
    "ContextProfile",
    "CorruptLogError",
    "Envelope",
    "Event",
    "EventDecodeError",
    "EventRejectedError",
    "EventStore",
    "GraphSpec",
    "GraphValidationError",
    "InMemoryEventStore",
    "InvalidEventError",
    "InvalidInputError",
    "InvalidNameError",
    "JsonlEventStore",
    "Next",
    "NoModelError",
    "NoModelFitsError",
    "NodeContext",
    "NodeSpec",
    "PatchError",
    "PathEscapeError",
    "Policy",
    "ProviderError",
    "ProviderPool",
    "RetryPolicy",
    "Router",
    "RoutingError",
    "RunEndedError",
    "RunExistsError",
    "RunLockedError",
    "RunStalledError",
    "RunState",
    "StoreError",
    "StoreWriteError",
    "Supervisor",
    "SyncSupervisor",
    "UnknownAgentError",
    "UnknownGraphError",
    "UnknownRunError",
    "UnknownStepError",
    "UnsafePathError",
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
