"""Providers from a pool: each provider spec's kind picks its implementation."""

from __future__ import annotations

from agentos.context.tokens import SimpleTokenCounter, TokenCounter
from agentos.routing.anthropic_provider import AnthropicProvider
from agentos.routing.openai_provider import OpenAIProvider
from agentos.routing.pool import ProviderPool, ProviderSpec
from agentos.routing.providers import Provider, SimulatedProvider


def build_provider(spec: ProviderSpec, counter: TokenCounter | None = None) -> Provider:
    """The implementation of one provider spec (a real kind loads its SDK here)."""
    counter = counter or SimpleTokenCounter()
    if spec.kind == "openai":
        return OpenAIProvider(spec, counter)
    if spec.kind == "anthropic":
        return AnthropicProvider(spec, counter)
    return SimulatedProvider(spec, counter)


def build_providers(pool: ProviderPool) -> dict[str, Provider]:
    """Every provider of `pool` by name."""
    counter = SimpleTokenCounter()
    return {spec.name: build_provider(spec, counter) for spec in pool.providers}
