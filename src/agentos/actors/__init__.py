"""Actors: the supervisor that drives runs and the node actors that run agents."""

from agentos.actors.errors import BudgetExceededError, RunEndedError
from agentos.actors.node_context import Next, NodeContext, NoModelError
from agentos.actors.replay import fork_events
from agentos.actors.supervisor import Supervisor, new_run_id
from agentos.actors.sync import SyncSupervisor

__all__ = [
    "BudgetExceededError",
    "Next",
    "NoModelError",
    "NodeContext",
    "RunEndedError",
    "Supervisor",
    "SyncSupervisor",
    "fork_events",
    "new_run_id",
]
