"""Run budgets: the ceiling a run's policy sets on tokens and cost, and its check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from agentos.events.limits import MAX_TOKENS
from agentos.routing.pool import ProviderPool


class Budget(BaseModel):
    """A run-level ceiling on tokens and cost."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    max_tokens: int | None = Field(default=None, gt=0, le=MAX_TOKENS)
    max_cost: float | None = Field(default=None, gt=0)
    on_exceed: Literal["fail", "downgrade"] = "fail"


class BudgetLimits(Protocol):
    """The run budget as the policy defines it; None means no ceiling."""

    @property
    def max_tokens(self) -> int | None: ...

    @property
    def max_cost(self) -> float | None: ...

    @property
    def on_exceed(self) -> Literal["fail", "downgrade"]: ...


class BudgetDecision(BaseModel):
    """What to do given the usage so far."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["ok", "fail", "downgrade"]
    reason: str
    tokens: int
    cost: float


def check_budget(budget: BudgetLimits, tokens_used: int, cost_used: float) -> BudgetDecision:
    """Return "ok" below every ceiling, else the budget's on_exceed action."""
    reached: list[str] = []
    within: list[str] = []
    if budget.max_tokens is not None:
        figures = f"{tokens_used:,} of {budget.max_tokens:,} tokens"
        if tokens_used >= budget.max_tokens:
            reached.append(f"token ceiling reached: {figures}")
        else:
            within.append(figures)
    if budget.max_cost is not None:
        figures = f"${cost_used:.4f} of ${budget.max_cost:.4f}"
        if cost_used >= budget.max_cost:
            reached.append(f"cost ceiling reached: {figures}")
        else:
            within.append(figures)
    action: Literal["ok", "fail", "downgrade"] = "ok"
    if reached:
        action = "downgrade" if budget.on_exceed == "downgrade" else "fail"
        reason = "; ".join(reached) + f" ({action})"
    else:
        reason = "within budget: " + ", ".join(within) if within else "no budget ceilings"
    return BudgetDecision(action=action, reason=reason, tokens=tokens_used, cost=cost_used)


def downgrade_max_tier(pool: ProviderPool) -> int:
    """Return the lowest tier in the pool: the tier a downgraded run routes to."""
    return pool.tiers()[0]


def budget_exceeded(
    budget: Mapping[str, Any] | None, action_taken: str | None, usage: UsageTotals
) -> BudgetDecision | None:
    """The decision to record once a run crosses its budget; None while it has not, or
    when a decision was already taken (it is taken once per run)."""
    if budget is None or action_taken is not None:
        return None
    limits = Budget.model_validate(budget)
    decision = check_budget(limits, usage.tokens_in + usage.tokens_out, usage.cost)
    return None if decision.action == "ok" else decision


class UsageTotals(Protocol):
    """Tokens and cost used so far."""

    tokens_in: int
    tokens_out: int
    cost: float
