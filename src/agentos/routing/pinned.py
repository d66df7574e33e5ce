"""A selection of one recorded or asked-for (provider, model) pair, for a replay."""

from __future__ import annotations

from agentos.routing.router import Candidate, Router, Selection
from agentos.routing.what_if import UnconfiguredModelError, missing


def pinned(router: Router, provider: str, model: str, why: str) -> Selection:
    """A selection of that one pair (no fallback); UnconfiguredModelError naming it when
    the router's pool does not offer it."""
    problem = missing(router.pool, [(provider, model)])
    if problem is not None:
        raise UnconfiguredModelError(f"{why}: {problem}")
    spec = next(p for p in router.pool.providers if p.name == provider).model(model)
    chosen = Candidate(
        provider=provider,
        model=model,
        tier=spec.tier,
        context_window=spec.context_window,
        est_cost=0.0,
        in_flight=router.in_flight(provider, model),
        max_in_flight=spec.max_in_flight,
    )
    return Selection(candidates=[chosen], chosen=chosen, reason=f"{why}: {provider}/{model}")
