"""Retry delays and policy value checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agentos.graphs import Budget, Policy, RetryPolicy


def test_delay_grows_exponentially_then_caps() -> None:
    retry = RetryPolicy(max_attempts=10, initial_interval=0.5, backoff=2, max_interval=3)
    assert [retry.delay(n, "k") for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_delay_huge_attempt_stays_capped() -> None:
    assert RetryPolicy(backoff=10, max_interval=5).delay(10_000, "k") == 5


def test_jitter_is_deterministic_bounded_and_keyed() -> None:
    retry = RetryPolicy(initial_interval=1, backoff=1, max_interval=10, jitter=0.5)
    delays = [retry.delay(1, f"node-{i}") for i in range(20)]
    assert delays == [retry.delay(1, f"node-{i}") for i in range(20)]
    assert all(0.5 <= d <= 1.5 for d in delays)
    assert len(set(delays)) > 10
    assert retry.delay(1, "a") != retry.delay(2, "a")


def test_jitter_never_exceeds_max_interval() -> None:
    retry = RetryPolicy(initial_interval=2, max_interval=2, jitter=1)
    assert all(retry.delay(n, str(n)) <= 2 for n in range(1, 50))


def test_intervals_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="max_interval"):
        RetryPolicy(initial_interval=5, max_interval=1)


@pytest.mark.parametrize(
    "kwargs",
    [{"timeout": 0}, {"concurrency": 0}, {"min_tier": 0}, {"on_failure": "shrug"}, {"x": 1}],
)
def test_policy_rejects_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Policy.model_validate(kwargs)


def test_budget_limits_positive() -> None:
    assert Budget(max_tokens=10).on_exceed == "fail"
    with pytest.raises(ValidationError):
        Budget(max_cost=0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"retry": {"backoff": float("inf")}}, "backoff"),
        ({"retry": {"initial_interval": float("inf"), "max_interval": float("inf")}}, "interval"),
        ({"retry": {"max_interval": 1e300}}, "max_interval"),
        ({"timeout": float("inf")}, "timeout"),
        ({"concurrency": 2**63}, "concurrency"),
    ],
)
def test_policy_numbers_are_finite_and_bounded(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        Policy.model_validate(kwargs)


def test_budget_numbers_are_finite_and_bounded() -> None:
    with pytest.raises(ValidationError, match="max_cost"):
        Budget(max_cost=float("inf"))
    with pytest.raises(ValidationError, match="max_tokens"):
        Budget(max_tokens=10**30)
