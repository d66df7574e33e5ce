"""The blocking twin of a Supervisor's API, for scripts."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from typing import Any, Protocol, TypeVar

from agentos.actors.cancel import TIMEOUT
from agentos.graphs.policy import Budget
from agentos.state.run_state import RunState

T = TypeVar("T")


class AsyncRuns(Protocol):
    """The async API a `SyncSupervisor` wraps (a `Supervisor`'s)."""

    loop: asyncio.AbstractEventLoop

    async def start_run(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        budget: Budget | Mapping[str, Any] | None = None,
        parent: tuple[str, str] | None = None,
    ) -> str: ...
    async def run(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        budget: Budget | Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> RunState: ...
    async def wait(self, run_id: str, timeout: float | None = None) -> RunState: ...
    async def state(self, run_id: str) -> RunState: ...
    async def cancel(self, run_id: str, reason: str = ..., timeout: float = ...) -> RunState: ...
    async def signal(self, run_id: str, name: str, data: Any = None) -> RunState: ...
    async def resume(self, run_id: str) -> str: ...
    async def replay(self, run_id: str, from_step: int | str) -> str: ...
    def stop_blocking(self) -> None: ...


class SyncSupervisor:
    """The blocking twin of a Supervisor's API, for scripts (never on an event loop)."""

    def __init__(self, supervisor: AsyncRuns) -> None:
        self._sup = supervisor

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            coro.close()
            raise RuntimeError("this thread runs an event loop: use the async API (await ...)")
        loop = self._sup.loop
        if loop.is_running():
            return asyncio.run_coroutine_threadsafe(coro, loop).result()
        return asyncio.run(coro)

    def start_run(self, inputs: Mapping[str, Any] | None = None, **kw: Any) -> str:
        """See `Supervisor.start_run`."""
        return self._call(self._sup.start_run(inputs, **kw))

    def run(self, inputs: Mapping[str, Any] | None = None, **kw: Any) -> RunState:
        """See `Supervisor.run`."""
        return self._call(self._sup.run(inputs, **kw))

    def wait(self, run_id: str, timeout: float | None = None) -> RunState:
        """See `Supervisor.wait`."""
        return self._call(self._sup.wait(run_id, timeout))

    def state(self, run_id: str) -> RunState:
        """See `Supervisor.state`."""
        return self._call(self._sup.state(run_id))

    def cancel(
        self, run_id: str, reason: str = "cancelled by the user", timeout: float = TIMEOUT
    ) -> RunState:
        """See `Supervisor.cancel`."""
        return self._call(self._sup.cancel(run_id, reason, timeout))

    def signal(self, run_id: str, name: str, data: Any = None) -> RunState:
        """See `Supervisor.signal`."""
        return self._call(self._sup.signal(run_id, name, data))

    def resume(self, run_id: str) -> str:
        """See `Supervisor.resume`."""
        return self._call(self._sup.resume(run_id))

    def replay(self, run_id: str, from_step: int | str) -> str:
        """See `Supervisor.replay`."""
        return self._call(self._sup.replay(run_id, from_step))

    def stop(self) -> None:
        """See `Supervisor.stop`."""
        self._sup.stop_blocking()
