"""Model routing: rank the models that fit a request, then call them with fallback."""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field

from agentos._exceptions import InvalidInputError
from agentos._exceptions import NoModelFitsError as NoModelFitsError
from agentos._exceptions import RoutingError as RoutingError
from agentos.routing._ranking import preference, reason, tier_text
from agentos.routing.backends import build_providers
from agentos.routing.messages import Chat
from agentos.routing.pool import ProviderPool
from agentos.routing.providers import (
    CompletionRequest,
    CompletionResponse,
    Provider,
    ProviderError,
)
from agentos.routing.streaming import send
from agentos.routing.what_if import WhatIf


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
    waited_ms: float = 0.0  # how long the call waited for a free slot before this try
    # the wait the provider asked for before it is tried again (a 429's Retry-After)
    retry_after: float | None = Field(default=None, exclude_if=lambda v: v is None)


class AllProvidersFailedError(RoutingError):
    """Every candidate of a selection was saturated or failed, or one of them refused the
    request itself (`refused`: a 4xx other than 429, which no other try would change)."""

    def __init__(self, attempts: list[Attempt], refused: bool = False) -> None:
        self.attempts = attempts
        self.refused = refused
        self.waited_ms = sum(a.waited_ms for a in attempts)
        if refused:
            super().__init__(f"request refused: {attempts[-1].error}")
            return
        tried = "; ".join(f"{a.provider}/{a.model}: {a.error}" for a in attempts)
        super().__init__(f"all {len(attempts)} candidates failed: {tried}")


Pair = tuple[str, str]
Waiter = tuple[int, "asyncio.Future[Pair]"]  # (arrival order, future)


class Router:
    """Chooses models for requests and calls them, tracking requests in flight.

    A call that finds every candidate at capacity waits for a slot, at most `max_wait`
    seconds unless the call says otherwise; a wait of `long_wait` seconds or more is one
    worth recording. A pair's slots are its model's `max_in_flight`, within its
    provider's `max_in_flight` when the provider sets one.
    """

    def __init__(
        self,
        pool: ProviderPool,
        providers: Mapping[str, Provider] | None = None,
        max_wait: float = 30.0,
        long_wait: float = 1.0,
    ) -> None:
        if max_wait < 0 or long_wait < 0:
            raise InvalidInputError("max_wait and long_wait must be >= 0")
        self.pool = pool
        self.max_wait = max_wait
        self.long_wait = long_wait
        if providers is None:
            providers = build_providers(pool)
        missing = sorted({p.name for p in pool.providers} - set(providers))
        if missing:
            raise InvalidInputError(f"no provider implementation for {missing}")
        self.providers: dict[str, Provider] = dict(providers)
        self._in_flight: dict[Pair, int] = {}
        self._caps = {p.name: p.max_in_flight for p in pool.providers if p.max_in_flight}
        self._slots = {(p.name, m.name): m.max_in_flight for p, m in pool.offers()}
        # per pair, the calls waiting for one of its slots, first come first served
        self._waiters: dict[Pair, deque[Waiter]] = {}
        self._arrivals = itertools.count()
        # replays that do not follow the original's models, by run id
        self.what_if: dict[str, WhatIf] = {}

    async def aclose(self) -> None:
        """Close the providers that hold connections (real kinds)."""
        for provider in self.providers.values():
            close = getattr(provider, "aclose", None)
            if close is not None:
                await close()

    def in_flight(self, provider: str, model: str) -> int:
        """Return the number of requests running on (provider, model)."""
        return self._in_flight.get((provider, model), 0)

    def waiting(self, provider: str, model: str) -> int:
        """Return the number of calls waiting for a slot of (provider, model)."""
        return sum(not w.done() for _, w in self._waiters.get((provider, model), ()))

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
        tier = tier_text(min_tier, max_tier)
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
                preference(c, preferred),
                c.est_cost,
                c.in_flight,
                c.model,
                c.provider,
            )

        candidates.sort(key=rank)
        chosen = candidates[0]
        why = reason(candidates, preferred, tier, needed, len(eligible) - len(fitting))
        return Selection(candidates=candidates, chosen=chosen, reason=why)

    async def call(
        self,
        request_prompt: str,
        selection: Selection,
        max_tokens: int,
        seed: int,
        max_wait: float | None = None,
        chat: Chat | None = None,
        on_token: Callable[[int, str], None] | None = None,
    ) -> tuple[CompletionResponse, list[Attempt]]:
        """Try the chosen candidate, then the others in rank order, until one answers.

        When every candidate left is at capacity the call waits for a slot of any of
        them, up to `max_wait` seconds in all (the router's `max_wait` when None); then
        it fails with each of them `saturated`. A candidate that failed with a
        `retry_after` (a 429) is tried again once that wait is over, if it ends within
        the same time; one that refused the request ends the call (`refused`). With
        `on_token`, the answer is streamed: each delta with the number of its try.
        """
        loop = asyncio.get_running_loop()
        limit = self.max_wait if max_wait is None else max(0.0, max_wait)
        deadline = loop.time() + limit
        left = [selection.chosen] + [c for c in selection.candidates if c != selection.chosen]
        attempts: list[Attempt] = []
        cooling: dict[Pair, float] = {}  # candidates to try again once the time comes
        waited = 0.0
        while left:
            began = loop.time()
            ready = [c for c in left if cooling.get((c.provider, c.model), 0.0) <= began]
            wake = min(
                (cooling[(c.provider, c.model)] for c in left if c not in ready), default=None
            )
            if not ready:
                assert wake is not None
                await asyncio.sleep(wake - began)
                waited += (loop.time() - began) * 1000
                continue
            cand = self._take_free(ready, attempts)
            if cand is None:
                until = deadline if wake is None else min(deadline, wake)
                cand = await self._wait_for_slot(ready, until - began)
                waited += (loop.time() - began) * 1000
                if cand is None and until < deadline:
                    continue  # a cooled-down candidate is due: try it
                if cand is None:
                    attempts += [
                        Attempt(
                            provider=c.provider,
                            model=c.model,
                            ok=False,
                            error="saturated",
                            waited_ms=waited if i == 0 else 0.0,  # one wait, on all of them
                        )
                        for i, c in enumerate(ready)
                    ]
                    break
            key = (cand.provider, cand.model)
            request = CompletionRequest(
                model=cand.model, prompt=request_prompt, max_tokens=max_tokens, seed=seed, chat=chat
            )
            try:
                stream = None if on_token is None else functools.partial(on_token, len(attempts))
                response = await send(self.providers[cand.provider], request, stream)
            except ProviderError as exc:
                attempts.append(
                    Attempt(
                        provider=cand.provider,
                        model=cand.model,
                        ok=False,
                        error=str(exc),
                        waited_ms=waited,
                        retry_after=exc.retry_after,
                    )
                )
                waited = 0.0
                if not exc.retryable:
                    raise AllProvidersFailedError(attempts, refused=True) from None
                again = None if exc.retry_after is None else loop.time() + exc.retry_after
                if again is not None and again <= deadline:
                    cooling[key] = again
                else:
                    left.remove(cand)
                continue
            finally:
                self._release(key)
            attempts.append(
                Attempt(provider=cand.provider, model=cand.model, ok=True, waited_ms=waited)
            )
            return response, attempts
        raise AllProvidersFailedError(attempts)

    def _free(self, key: Pair) -> bool:
        cap = self._caps.get(key[0])
        if cap is not None:
            busy = sum(n for (name, _), n in self._in_flight.items() if name == key[0])
            if busy >= cap:
                return False
        return self._in_flight.get(key, 0) < self._slots.get(key, 1)

    def _take(self, key: Pair) -> None:
        self._in_flight[key] = self._in_flight.get(key, 0) + 1

    def _take_free(self, left: list[Candidate], attempts: list[Attempt]) -> Candidate | None:
        """Take a slot of the first candidate with one free; note those passed over."""
        for index, cand in enumerate(left):
            key = (cand.provider, cand.model)
            if self._free(key):
                self._take(key)
                noted = {(a.provider, a.model) for a in attempts if a.error == "saturated"}
                attempts += [
                    Attempt(provider=c.provider, model=c.model, ok=False, error="saturated")
                    for c in left[:index]
                    if (c.provider, c.model) not in noted
                ]
                return cand
        return None

    async def _wait_for_slot(self, left: list[Candidate], timeout: float) -> Candidate | None:
        """Wait until a slot of one of `left` is handed over; None if `timeout` passes first."""
        waiter: asyncio.Future[Pair] = asyncio.get_running_loop().create_future()
        entry = (next(self._arrivals), waiter)
        keys = [(c.provider, c.model) for c in left]
        for key in keys:
            self._waiters.setdefault(key, deque()).append(entry)
        try:
            async with asyncio.timeout(max(0.0, timeout)):
                await waiter
        except TimeoutError:
            pass  # a slot handed over as the time ran out is still taken below
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())  # handed over as the caller went away
            raise
        finally:
            for key in keys:
                self._forget(key, entry)
        if waiter.cancelled() or not waiter.done():
            return None
        return left[keys.index(waiter.result())]

    def _release(self, key: Pair) -> None:
        """Free a slot of `key`, then hand the room it makes to the first call waiting
        for a pair of that provider that now has a free slot."""
        self._in_flight[key] -= 1
        first: tuple[int, asyncio.Future[Pair], Pair] | None = None
        for pair, queue in self._waiters.items():
            while queue and queue[0][1].done():
                queue.popleft()
            if pair[0] != key[0] or not queue or not self._free(pair):
                continue
            order, waiter = queue[0]
            if first is None or order < first[0]:
                first = (order, waiter, pair)
        if first is not None:
            self._take(first[2])
            first[1].set_result(first[2])

    def _forget(self, key: Pair, entry: Waiter) -> None:
        queue = self._waiters.get(key)
        if queue is None:
            return
        if entry in queue:
            queue.remove(entry)
        if not queue:
            del self._waiters[key]
