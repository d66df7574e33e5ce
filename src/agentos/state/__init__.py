"""State: the fold of a run's events into a RunState."""

from agentos.state.fold import (
    Folding,
    UnknownStepError,
    canonical,
    evolve,
    fold,
    starts_step,
    state_hash,
)
from agentos.state.load import load_state
from agentos.state.run_state import (
    FINISHED_NODE,
    FINISHED_RUN,
    NodeState,
    NodeStatus,
    ReplayOrigin,
    RunState,
    RunStatus,
    Usage,
    WorkspaceFile,
)

__all__ = [
    "FINISHED_NODE",
    "FINISHED_RUN",
    "Folding",
    "NodeState",
    "NodeStatus",
    "ReplayOrigin",
    "RunState",
    "RunStatus",
    "UnknownStepError",
    "Usage",
    "WorkspaceFile",
    "canonical",
    "evolve",
    "fold",
    "load_state",
    "starts_step",
    "state_hash",
]
