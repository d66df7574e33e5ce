"""Model routing: rank the models that fit a request, then call them with fallback."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from agentos.context.tokens import SimpleTokenCounter
from agentos.routing.pool import ProviderPool
from agentos.routing.providers import (
    CompletionRequest,
    CompletionResponse,
    Provider,
    ProviderError,
    SimulatedProvider,
)


class Candidate(BaseModel):
    """A (provider, model) pair able to take a request, as seen at selection time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str
    model: str
    tier: int
    context_window: int
    est_cost: float
    in_flight: int
    max_in_flight: int

    @property
    def saturated(self) -> bool:
        """Whether the pair had no free slot at selection time."""
        return self.in_flight >= self.max_in_flight


class Selection(BaseModel):
    """The ranked candidates for a request and the one chosen, with the reason."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    candidates: list[Candidate]
    chosen: Candidate
    reason: str


class Attempt(BaseModel):
    """One try of one candidate during a call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str
    model: str
    ok: bool
    error: str | None = None


class NoModelFitsError(Exception):
    """No model in the pool meets the tier range and holds the tokens needed."""

    def __init__(self, tokens_needed: int, largest_window: int | None, tier: str) -> None:
        self.tokens_needed = tokens_needed
        self.largest_window = largest_window
        self.tier = tier
        if largest_window is None:
            detail = f"no model in the pool has {tier}"
        else:
            detail = f"the largest context window with {tier} is {largest_window:,} tokens"
        super().__init__(f"no model fits {tokens_needed:,} tokens: {detail}")


class AllProvidersFailedError(Exception):
    """Every candidate of a selection was saturated or failed."""

    def __init__(self, attempts: list[Attempt]) -> None:
        self.attempts = attempts
        tried = "; ".join(f"{a.provider}/{a.model}: {a.error}" for a in attempts)
        super().__init__(f"all {len(attempts)} candidates failed: {tried}")


def _tier_text(min_tier: int, max_tier: int | None) -> str:
    if max_tier is None:
        return f"tier>={min_tier}"
    return f"tier {min_tier}..{max_tier}"


class Router:
    """Chooses models for requests and calls them, tracking requests in flight."""

    def __init__(self, pool: ProviderPool, providers: Mapping[str, Provider] | None = None) -> None:
        self.pool = pool
        if providers is None:
            counter = SimpleTokenCounter()
            providers = {p.name: SimulatedProvider(p, counter) for p in pool.providers}
        missing = sorted({p.name for p in pool.providers} - set(providers))
        if missing:
            raise ValueError(f"no provider implementation for {missing}")
        self.providers: dict[str, Provider] = dict(providers)
        self._in_flight: dict[tuple[str, str], int] = {}

    def in_flight(self, provider: str, model: str) -> int:
        """Return the number of requests running on (provider, model)."""
        return self._in_flight.get((provider, model), 0)

    def select(
        self,
        tokens_in: int,
        max_out: int,
        min_tier: int = 1,
        preferred: Sequence[str] = (),
        exclude: Collection[tuple[str, str]] = (),
        max_tier: int | None = None,
    ) -> Selection:
        """Rank the models that fit; raise NoModelFitsError when none does.

        A `preferred` entry names a model or a "provider/model" pair.
        """
        needed = tokens_in + max_out
        tier = _tier_text(min_tier, max_tier)
        eligible = [
            (p, m)
            for p, m in self.pool.offers()
            if m.tier >= min_tier
            and (max_tier is None or m.tier <= max_tier)
            and (p.name, m.name) not in exclude
        ]
        fitting = [(p, m) for p, m in eligible if m.context_window >= needed]
        if not fitting:
            largest = max((m.context_window for _, m in eligible), default=None)
            raise NoModelFitsError(needed, largest, tier)
        candidates = [
            Candidate(
                provider=p.name,
                model=m.name,
                tier=m.tier,
                context_window=m.context_window,
                est_cost=m.cost(tokens_in, max_out),
                in_flight=self.in_flight(p.name, m.name),
                max_in_flight=m.max_in_flight,
            )
            for p, m in fitting
        ]

        def rank(c: Candidate) -> tuple[bool, int, float, int, str, str]:
            return (
                c.saturated,
                _preference(c, preferred),
                c.est_cost,
                c.in_flight,
                c.model,
                c.provider,
            )

        candidates.sort(key=rank)
        chosen = candidates[0]
        reason = _reason(candidates, preferred, tier, needed, len(eligible) - len(fitting))
        return Selection(candidates=candidates, chosen=chosen, reason=reason)

    async def call(
        self, request_prompt: str, selection: Selection, max_tokens: int, seed: int
    ) -> tuple[CompletionResponse, list[Attempt]]:
        """Try the chosen candidate, then the others in rank order, until one answers."""
        order = [selection.chosen] + [c for c in selection.candidates if c != selection.chosen]
        attempts: list[Attempt] = []
        for cand in order:
            key = (cand.provider, cand.model)
            running = self._in_flight.get(key, 0)
            if running >= cand.max_in_flight:
                attempts.append(
                    Attempt(provider=cand.provider, model=cand.model, ok=False, error="saturated")
                )
                continue
            request = CompletionRequest(
                model=cand.model, prompt=request_prompt, max_tokens=max_tokens, seed=seed
            )
            self._in_flight[key] = running + 1
            try:
                response = await self.providers[cand.provider].complete(request)
            except ProviderError as exc:
                attempts.append(
                    Attempt(provider=cand.provider, model=cand.model, ok=False, error=str(exc))
                )
                continue
            finally:
                self._in_flight[key] -= 1
            attempts.append(Attempt(provider=cand.provider, model=cand.model, ok=True))
            return response, attempts
        raise AllProvidersFailedError(attempts)


def _preference(cand: Candidate, preferred: Sequence[str]) -> int:
    for index, entry in enumerate(preferred):
        if entry in (cand.model, f"{cand.provider}/{cand.model}"):
            return index
    return len(preferred)


def _reason(
    ranked: list[Candidate], preferred: Sequence[str], tier: str, needed: int, too_small: int
) -> str:
    chosen = ranked[0]
    label = f"{chosen.provider}/{chosen.model}"
    if chosen.saturated:
        text = f"every candidate is saturated; {label} is the cheapest with {tier}"
    elif _preference(chosen, preferred) < len(preferred):
        text = f"preferred model {label} with {tier} fits {needed:,} tokens"
    else:
        text = f"cheapest model with {tier} fitting {needed:,} tokens is {label}"
    ties = [
        c
        for c in ranked[1:]
        if c.model == chosen.model
        and c.est_cost == chosen.est_cost
        and c.saturated == chosen.saturated
        and _preference(c, preferred) == _preference(chosen, preferred)
    ]
    if ties:
        names = " and ".join([chosen.provider, *(c.provider for c in ties)])
        if all(c.in_flight > chosen.in_flight for c in ties):
            text += (
                f"; {names} tie on cost, {chosen.provider} has fewer requests in flight"
                f" ({chosen.in_flight} vs {min(c.in_flight for c in ties)})"
            )
        else:
            text += f"; {names} tie on cost and load, {chosen.provider} first by name"
    if too_small:
        text += f"; {too_small} model(s) skipped, window too small"
    return text
