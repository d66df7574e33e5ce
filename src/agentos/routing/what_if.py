"""Which model a replay's calls use: the pair the original recorded, or a what-if."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict, Field

from agentos._exceptions import UnconfiguredModelError as UnconfiguredModelError
from agentos.events import model as ev
from agentos.routing.pool import ProviderPool


class WhatIf(BaseModel):
    """A replay that does not follow the original's models: every call it sends goes to
    `model` ("provider/model"), or, when None, to whatever the router picks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = Field(default=None, pattern=r"^[^/]+/.+$")

    def pair(self) -> tuple[str, str] | None:
        """(provider, model) of `model`."""
        if self.model is None:
            return None
        provider, _, name = self.model.partition("/")
        return provider, name


def missing(pool: ProviderPool, pairs: Iterable[tuple[str, str]]) -> str | None:
    """The first of `pairs` the pool does not offer, as one line naming it."""
    offered = {(p.name, m.name) for p, m in pool.offers()}
    providers = {p.name for p in pool.providers}
    for provider, model in pairs:
        if provider not in providers:
            return f"provider {provider!r} is not configured"
        if (provider, model) not in offered:
            return f"provider {provider!r} has no model {model!r}"
    return None


def recorded_pairs(events: Sequence[ev.Envelope], cut: int) -> list[tuple[str, str]]:
    """The (provider, model) pairs a replay of `events` from their first `cut` follows:
    those the original's calls used for the nodes not finished by then, in log order."""
    done = {
        e.node
        for e in events[:cut]
        if e.node is not None and isinstance(e, ev.NodeSucceeded | ev.NodeSkipped)
    }
    pairs: dict[tuple[str, str], None] = {}
    for e in events:
        if isinstance(e, ev.ModelCalled) and e.data.ok and e.node not in done:
            pairs[(e.data.provider, e.data.model)] = None
    return list(pairs)


def replay_problem(
    pool: ProviderPool, events: Sequence[ev.Envelope], cut: int, what_if: WhatIf | None
) -> str | None:
    """Why a replay cannot run with `pool`, as one line; None when it can."""
    if what_if is not None:
        pair = what_if.pair()
        problem = None if pair is None else missing(pool, [pair])
        return None if problem is None else f"model {what_if.model}: {problem}"
    problem = missing(pool, recorded_pairs(events, cut))
    if problem is None:
        return None
    source = events[0].run_id if events else "?"
    return f"run {source} called a model the pool lacks: {problem}"
