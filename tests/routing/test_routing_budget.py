"""Tests of usage totals and the run-level budget check."""

from dataclasses import dataclass
from typing import Literal

from agentos.routing import (
    check_budget,
    default_pool,
    downgrade_max_tier,
)


@dataclass(frozen=True)
class Budget:
    max_tokens: int | None = None
    max_cost: float | None = None
    on_exceed: Literal["fail", "downgrade"] = "fail"


def test_ok_below_ceilings() -> None:
    decision = check_budget(Budget(max_tokens=1000, max_cost=0.5), 999, 0.1)
    assert decision.action == "ok"
    assert decision.reason == "within budget: 999 of 1,000 tokens, $0.1000 of $0.5000"
    assert (decision.tokens, decision.cost) == (999, 0.1)
    assert check_budget(Budget(), 10**9, 1e6).reason == "no budget ceilings"


def test_fail_mode() -> None:
    decision = check_budget(Budget(max_tokens=1000), 1000, 0.0)
    assert decision.action == "fail"
    assert decision.reason == "token ceiling reached: 1,000 of 1,000 tokens (fail)"


def test_downgrade_mode_on_cost() -> None:
    decision = check_budget(Budget(max_tokens=5000, max_cost=0.01, on_exceed="downgrade"), 10, 0.02)
    assert decision.action == "downgrade"
    assert "cost ceiling reached: $0.0200 of $0.0100" in decision.reason
    both = check_budget(Budget(max_tokens=5, max_cost=0.01, on_exceed="downgrade"), 10, 0.02)
    assert "token ceiling" in both.reason and "cost ceiling" in both.reason


def test_decision_is_json() -> None:
    decision = check_budget(Budget(max_tokens=1), 2, 0.0)
    assert decision.model_validate_json(decision.model_dump_json()) == decision


def test_downgrade_max_tier() -> None:
    assert downgrade_max_tier(default_pool()) == 1
