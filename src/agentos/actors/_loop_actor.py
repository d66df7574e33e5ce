"""A pykka runtime whose actors are run by an asyncio event loop instead of a thread each.

The supervisor and the node actors live on the loop that runs the agents: a message is
one callback on that loop, so handing work between them costs no thread switch and no
lock. `LoopActor` subclasses `pykka.Actor` the way `pykka.ThreadingActor` does, through
pykka's runtime extension points (an inbox, a future, a way to start the actor loop),
and runs pykka's own actor loop body one message per callback.

It keeps pykka's contract (tests/actors/test_pykka_contract.py runs one suite over both
runtimes), and differs from ThreadingActor on purpose in three ways:
- a BaseException in a handler (sys.exit, KeyboardInterrupt) fails the message as an
  Exception does, wrapped in a RuntimeError: pykka would stop every actor, and the
  loop that runs every run with them;
- on a thread that runs an event loop, waiting on an unanswered future raises
  RuntimeError at once instead of blocking the loop (that would freeze its actors);
- a told message that carries a `reply` future has it failed with ActorDeadError if
  the actor stops before answering it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pykka
from pykka import ActorDeadError

log = logging.getLogger(__name__)

T = TypeVar("T")

STOP_TIMEOUT = 10.0  # seconds to wait for a running loop to handle a stop


# asyncio's get_running_loop without the exception when there is none: it runs on every
# message a thread sends and on every wait
_running_loop: Callable[[], asyncio.AbstractEventLoop | None] = asyncio._get_running_loop  # noqa: SLF001


def _call_on(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    """Schedule `callback` on `loop`: directly from its own thread, thread-safely elsewhere.

    Raises RuntimeError if the loop is closed.
    """
    if _running_loop() is loop:
        loop.call_soon(callback)
    else:
        loop.call_soon_threadsafe(callback)


class _StepDone(Exception):
    """Raised by the inbox's `get` to end one step of pykka's actor loop."""


class _LoopInbox:
    """pykka's inbox for a loop actor: each `put` schedules one step on the loop.

    A step hands out the envelopes queued when it began (`quota`), so a handler that
    tells its own actor yields the loop before that message runs, and the steps of
    envelopes an earlier step handled find nothing to do; pykka's teardown drains the
    rest (`quota` None). Only the loop touches `quota` and `handed`; `put` may come
    from any thread.
    """

    def __init__(self, actor: LoopActor, step: Callable[[], None]) -> None:
        self.actor = actor  # the actor lives as long as its refs: they hold this inbox
        self.step = step
        self.quota: int | None = None
        self.handed: list[Any] = []  # the envelopes handed out in the current step
        self._envelopes: deque[Any] = deque()  # append and popleft are thread-safe

    def put(self, envelope: Any, /) -> None:
        self._envelopes.append(envelope)
        try:
            _call_on(self.actor.loop, self.step)
        except RuntimeError:  # the loop is closed: nothing will ever handle it
            raise ActorDeadError(f"{self.actor.actor_ref}: its event loop is closed") from None

    def get(self) -> Any:
        if self.quota == 0 or not self._envelopes:
            raise _StepDone
        if self.quota is not None:
            self.quota -= 1
        envelope = self._envelopes.popleft()
        self.handed.append(envelope)
        return envelope

    def empty(self) -> bool:
        return not self._envelopes

    def pending(self) -> int:
        """How many envelopes are queued."""
        return len(self._envelopes)


class LoopFuture(pykka.ThreadingFuture[T]):
    """A ThreadingFuture that never blocks an event loop.

    On a thread that runs an event loop, `get` of an unanswered future raises
    RuntimeError at once: the answer of an actor on that loop could never come while
    the loop waits. Elsewhere it waits as ThreadingFuture does.
    """

    def get(self, *, timeout: float | None = None) -> Any:
        if _running_loop() is None:
            return super().get(timeout=timeout)
        try:
            return super().get(timeout=0)
        except pykka.Timeout:
            raise RuntimeError(
                "an actor's answer cannot be waited for on an event loop's thread: "
                "it would block the loop (tell a message that carries a reply future)"
            ) from None


class LoopActor(pykka.Actor):
    """An actor run by `loop`: messages, `on_start` and `on_stop` all run on it.

    `tell` and `stop(block=False)` work from any thread; waiting on an answer works
    from any thread that runs no event loop.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop  # set before pykka creates the inbox
        self._running: set[asyncio.Task[Any]] = set()
        super().__init__()

    def run_soon(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run `coro` as a task on the loop, kept referenced until it ends."""
        if self.loop.is_closed():
            coro.close()
            return
        task = self.loop.create_task(coro)
        self._running.add(task)  # a task nobody references may be collected mid-way
        task.add_done_callback(self._running.discard)

    def halt(self) -> None:
        """Stop now, on this thread, answering what is queued with ActorDeadError.

        Only for when no loop runs the actor any more: nothing else handles its messages.
        """
        if not self.actor_stopped.is_set():
            self._stop()
        self._step()

    # the only pykka internals used, all here: the runtime extension points ThreadingActor
    # overrides (_create_actor_inbox, _create_future, _start_actor_loop), the dispatch
    # (_handle_receive) and pykka's actor loop (_actor_loop_setup, _running, _teardown,
    # _stop). tests/actors/test_pykka_contract.py pins their behaviour; pyproject.toml
    # pins the pykka versions it ran on.

    def _create_actor_inbox(self) -> _LoopInbox:  # type: ignore[override]
        return _LoopInbox(self, self._step)

    @staticmethod
    def _create_future() -> LoopFuture[Any]:
        return LoopFuture()

    def _start_actor_loop(self) -> None:
        _call_on(self.loop, self._actor_loop_setup)

    def _handle_receive(self, message: Any) -> Any:
        """pykka's dispatch, with a BaseException made an Exception (see the module)."""
        try:
            return super()._handle_receive(message)
        except Exception:
            raise
        except BaseException as exc:
            log.error("%r escaped %s handling %s", exc, self, type(message).__name__)
            raise RuntimeError(f"the actor's handler raised {exc!r}") from exc

    def _step(self) -> None:
        """Run pykka's actor loop for the messages queued now, or its teardown once stopped."""
        inbox = self.actor_inbox
        assert isinstance(inbox, _LoopInbox)
        inbox.handed.clear()
        if not self.actor_stopped.is_set():
            if inbox.empty():
                return  # an earlier step handled this step's message already
            # what is queued now, not what handlers tell meanwhile: those get steps of
            # their own, so an actor telling itself still yields the loop
            inbox.quota = inbox.pending()
            try:
                self._actor_loop_running()  # ends by _StepDone once they are handled, or a stop
            except _StepDone:
                pass
            finally:
                inbox.quota = None
        if self.actor_stopped.is_set():
            self._actor_loop_teardown()  # askers get ActorDeadError, stoppers None
            for envelope in inbox.handed:
                if envelope.reply_to is None:
                    _refuse_reply(envelope.message, self)


def _refuse_reply(message: Any, actor: LoopActor) -> None:
    """Fail the reply future a told message carries, if it is still unanswered."""
    reply = getattr(message, "reply", None)
    if isinstance(reply, asyncio.Future | concurrent.futures.Future) and not reply.done():
        reply.set_exception(ActorDeadError(f"{actor} stopped before answering the message"))


def stop_actor(ref: pykka.ActorRef[Any]) -> None:
    """Stop a loop actor from any thread: at once if its loop no longer runs, else
    through its inbox (waiting for it, unless called on the loop itself)."""
    inbox = ref.actor_inbox
    assert isinstance(inbox, _LoopInbox)
    actor = inbox.actor
    loop = actor.loop
    if not ref.is_alive():
        return
    if loop.is_closed() or not loop.is_running():
        actor.halt()
    elif _running_loop() is loop:
        ref.stop(block=False)
    else:
        try:
            ref.stop(block=True, timeout=STOP_TIMEOUT)
        except pykka.Timeout:
            if loop.is_running():
                raise
            actor.halt()  # the loop stopped before it handled the stop
