"""Model routing: provider pool, simulated providers, router and budget checks."""

from agentos.routing.budget import (
    BudgetDecision,
    BudgetLimits,
    check_budget,
    downgrade_max_tier,
)
from agentos.routing.pool import ModelSpec, ProviderPool, ProviderSpec, default_pool
from agentos.routing.providers import (
    CompletionRequest,
    CompletionResponse,
    Provider,
    ProviderError,
    SimulatedProvider,
)
from agentos.routing.router import (
    AllProvidersFailedError,
    Attempt,
    Candidate,
    NoModelFitsError,
    Router,
    Selection,
)

__all__ = [
    "AllProvidersFailedError",
    "Attempt",
    "BudgetDecision",
    "BudgetLimits",
    "Candidate",
    "CompletionRequest",
    "CompletionResponse",
    "ModelSpec",
    "NoModelFitsError",
    "Provider",
    "ProviderError",
    "ProviderPool",
    "ProviderSpec",
    "Router",
    "Selection",
    "SimulatedProvider",
    "check_budget",
    "default_pool",
    "downgrade_max_tier",
]
