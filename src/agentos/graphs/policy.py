"""Node policies: retry, timeout, failure handling, concurrency, routing; and run budgets
(defined with their check in `agentos.routing.budget`)."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentos.events.limits import MAX_INT, MAX_SECONDS
from agentos.routing.budget import Budget as Budget


class RetryPolicy(BaseModel):
    """How often a failed node is retried and how long to wait between attempts."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    max_attempts: int = Field(default=1, ge=1, le=MAX_INT)
    initial_interval: float = Field(default=0.1, ge=0, le=MAX_SECONDS)
    backoff: float = Field(default=2.0, ge=1, le=1e6)
    max_interval: float = Field(default=10.0, ge=0, le=MAX_SECONDS)
    jitter: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _intervals_ordered(self) -> RetryPolicy:
        if self.max_interval < self.initial_interval:
            raise ValueError(
                f"max_interval ({self.max_interval}) is below "
                f"initial_interval ({self.initial_interval})"
            )
        return self

    def delay(self, attempt: int, key: str) -> float:
        """Seconds to wait before attempt `attempt + 1` once attempt `attempt` failed."""
        exponent = max(attempt - 1, 0)
        try:
            base = min(self.max_interval, self.initial_interval * self.backoff**exponent)
        except OverflowError:
            base = self.max_interval
        if self.jitter:
            digest = hashlib.sha256(f"{key}\x00{attempt}".encode()).digest()
            u = int.from_bytes(digest[:8], "big") / 2**64 * 2 - 1
            base *= 1 + self.jitter * u
        return min(max(base, 0.0), self.max_interval)


class Policy(BaseModel):
    """How one node is run: retries, timeout, failure handling, concurrency, routing."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    timeout: float | None = Field(default=None, gt=0, le=MAX_SECONDS)
    on_failure: Literal["fail_run", "continue"] = "fail_run"
    concurrency: int | None = Field(
        default=None,
        ge=1,
        le=MAX_INT,
        description="attempts of this node running at once, process-wide",
    )
    min_tier: int = Field(
        default=1, ge=1, le=MAX_INT, description="lowest model quality tier to route to"
    )
    preferred_models: list[str] = Field(default_factory=list)
    # model answers stream to live listeners (docs/providers.md); absent when off, so
    # specs without it dump as they always did
    stream: bool = Field(default=False, exclude_if=lambda v: not v)
