"""The provider pool: which providers offer which models, at what price and tier."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentos.events.limits import MAX_INT, MAX_MS, MAX_PRICE, MAX_SECONDS, MAX_TOKENS, Int64

Kind = Literal["simulated", "openai", "anthropic"]

#: the SDK each real kind needs, which is also the name of its extra
SDKS: dict[str, str] = {"openai": "openai", "anthropic": "anthropic"}

_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class ModelSpec(BaseModel):
    """A model as offered by one provider."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str
    context_window: int = Field(gt=0, le=MAX_TOKENS)
    price_in_per_1k: float = Field(ge=0, le=MAX_PRICE)
    price_out_per_1k: float = Field(ge=0, le=MAX_PRICE)
    tier: int = Field(ge=1, le=MAX_INT, description="capability tier; higher is better")
    latency_ms: float = Field(default=50, ge=0, le=MAX_MS)
    max_in_flight: int = Field(default=8, ge=1, le=MAX_INT)

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        """Return the price of a call with these token counts."""
        return (tokens_in * self.price_in_per_1k + tokens_out * self.price_out_per_1k) / 1000


class ProviderSpec(BaseModel):
    """A provider and the models it offers.

    `kind` picks the implementation: `simulated` (deterministic, offline), `openai` (any
    OpenAI-compatible Chat Completions endpoint at `base_url`) or `anthropic`. A real
    kind reads its key from the environment variable named `api_key_env`; the key itself
    is never part of the pool.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str
    kind: Kind = "simulated"
    models: list[ModelSpec]
    base_url: str | None = Field(default=None, max_length=2048)
    api_key_env: str | None = Field(
        default=None, pattern=_ENV_NAME, max_length=256, description="the NAME of a variable"
    )
    timeout: float = Field(default=60.0, gt=0, le=MAX_SECONDS, description="seconds a request")
    max_in_flight: int | None = Field(
        default=None, ge=1, le=MAX_INT, description="requests at once over all its models"
    )
    failure_rate: float = Field(default=0.0, ge=0, le=1)
    latency_scale: float = Field(
        default=1.0, ge=0, le=1000, description="0 means no simulated sleep"
    )
    seed: Int64 = 0

    @model_validator(mode="after")
    def _unique_models(self) -> ProviderSpec:
        names = [m.name for m in self.models]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"provider {self.name!r} lists models twice: {duplicates}")
        return self

    @model_validator(mode="after")
    def _sdk_installed(self) -> ProviderSpec:
        sdk = SDKS.get(self.kind)
        if sdk is not None and importlib.util.find_spec(sdk) is None:
            raise ValueError(
                f"provider {self.name!r} is of kind {self.kind!r}, whose SDK is not "
                f"installed: pip install 'agentos[{sdk}]'"
            )
        return self

    def model(self, name: str) -> ModelSpec:
        """Return the model called `name`; KeyError when the provider lacks it."""
        for spec in self.models:
            if spec.name == name:
                return spec
        raise KeyError(f"provider {self.name!r} has no model {name!r}")


class ProviderPool(BaseModel):
    """All providers a router may choose from."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    providers: list[ProviderSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_providers(self) -> ProviderPool:
        names = [p.name for p in self.providers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"providers listed twice: {duplicates}")
        return self

    def offers(self) -> Iterator[tuple[ProviderSpec, ModelSpec]]:
        """Yield every (provider, model) pair in pool order."""
        for provider in self.providers:
            for model in provider.models:
                yield provider, model

    def tiers(self) -> list[int]:
        """Return the distinct tiers in the pool, ascending."""
        return sorted({model.tier for _, model in self.offers()})


def default_pool() -> ProviderPool:
    """Three simulated providers: simA and simB share the mid model, simC has a premium one."""
    small = ModelSpec(
        name="sim-small",
        context_window=8_192,
        price_in_per_1k=0.00015,
        price_out_per_1k=0.0006,
        tier=1,
        latency_ms=40,
    )
    mid = ModelSpec(
        name="sim-mid",
        context_window=32_768,
        price_in_per_1k=0.0025,
        price_out_per_1k=0.01,
        tier=2,
        latency_ms=80,
    )
    large = ModelSpec(
        name="sim-large",
        context_window=131_072,
        price_in_per_1k=0.015,
        price_out_per_1k=0.075,
        tier=3,
        latency_ms=150,
        max_in_flight=4,
    )
    return ProviderPool(
        providers=[
            ProviderSpec(name="simA", models=[small, mid], latency_scale=0.02, seed=1),
            ProviderSpec(name="simB", models=[mid], latency_scale=0.02, seed=2),
            ProviderSpec(name="simC", models=[large], latency_scale=0.02, seed=3),
        ]
    )
