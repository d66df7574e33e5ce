"""How the router ranks candidates and explains its choice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Candidate(Protocol):
    """What ranking reads of a candidate."""

    @property
    def provider(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def est_cost(self) -> float: ...
    @property
    def in_flight(self) -> int: ...
    @property
    def saturated(self) -> bool: ...


def tier_text(min_tier: int, max_tier: int | None) -> str:
    if max_tier is None:
        return f"tier>={min_tier}"
    return f"tier {min_tier}..{max_tier}"


def preference(cand: Candidate, preferred: Sequence[str]) -> int:
    for index, entry in enumerate(preferred):
        if entry in (cand.model, f"{cand.provider}/{cand.model}"):
            return index
    return len(preferred)


def reason(
    ranked: Sequence[Candidate], preferred: Sequence[str], tier: str, needed: int, too_small: int
) -> str:
    chosen = ranked[0]
    label = f"{chosen.provider}/{chosen.model}"
    if chosen.saturated:
        text = f"every candidate is saturated; {label} is the cheapest with {tier}"
    elif preference(chosen, preferred) < len(preferred):
        text = f"preferred model {label} with {tier} fits {needed:,} tokens"
    else:
        text = f"cheapest model with {tier} fitting {needed:,} tokens is {label}"
    ties = [
        c
        for c in ranked[1:]
        if c.model == chosen.model
        and c.est_cost == chosen.est_cost
        and c.saturated == chosen.saturated
        and preference(c, preferred) == preference(chosen, preferred)
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
