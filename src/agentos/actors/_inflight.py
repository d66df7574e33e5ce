"""Counting the calls under way that may hand a supervisor a run, so draining waits for them."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class InFlight:
    """How many calls are under way; `idle` waits, on any loop or thread, until none is.

    Use it as a context manager around each call (`with calls: ...`).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the sync API calls from the supervisor's loop thread
        self._count = 0
        self._waiters: list[concurrent.futures.Future[None]] = []  # one each: a waiter may cancel

    @property
    def busy(self) -> bool:
        """Whether a call is under way."""
        return self._count > 0

    def __enter__(self) -> None:
        with self._lock:
            self._count += 1

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with self._lock:
            self._count -= 1
            if self._count > 0:
                return
            waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            with contextlib.suppress(concurrent.futures.InvalidStateError):  # it gave up
                waiter.set_result(None)

    async def idle(self) -> None:
        """Return once no call is under way."""
        with self._lock:
            if self._count == 0:
                return
            waiter: concurrent.futures.Future[None] = concurrent.futures.Future()
            self._waiters.append(waiter)
        await asyncio.wrap_future(waiter)


class Counting(Protocol):
    """An object whose calls under way are counted in `in_flight`."""

    in_flight: InFlight


C = TypeVar("C", bound=Counting)


def counted(
    method: Callable[Concatenate[C, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[C, P], Coroutine[Any, Any, T]]:
    """Count each call of the coroutine method `method` in its object's `in_flight`."""

    @functools.wraps(method)
    async def call(obj: C, /, *args: P.args, **kwargs: P.kwargs) -> T:
        with obj.in_flight:
            return await method(obj, *args, **kwargs)

    return call
