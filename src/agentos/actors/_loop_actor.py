"""A pykka actor whose messages are handled on an asyncio event loop instead of a thread.

The supervisor and the node actors live on the loop that runs the agents: a message is
one callback on that loop, so handing work between them costs no thread switch and no
lock. `tell` works from any thread; `ask(...).get()` must not be called on the loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sys
from collections.abc import Coroutine
from typing import Any

import pykka
from pykka import ActorDeadError, messages

log = logging.getLogger(__name__)

STOP_TIMEOUT = 10.0  # seconds to wait for a running loop to handle a stop


class _LoopInbox:
    """Delivers each envelope as a callback on the loop, in the order they were put."""

    def __init__(self, actor: LoopActor) -> None:
        self.actor = actor  # the actor lives as long as its refs: they hold this inbox

    def put(self, envelope: Any, /) -> None:
        loop = self.actor.loop
        if asyncio._get_running_loop() is loop:
            loop.call_soon(self.actor._deliver, envelope)
            return
        try:
            loop.call_soon_threadsafe(self.actor._deliver, envelope)
        except RuntimeError:  # the loop is closed: nothing will ever handle it
            raise ActorDeadError(f"{self.actor.actor_ref}: its event loop is closed") from None

    def get(self) -> Any:
        raise RuntimeError("a loop actor's inbox is drained by its loop")

    def empty(self) -> bool:
        return True


class LoopActor(pykka.Actor):
    """An actor run by `loop`: messages, `on_start` and `on_stop` all run on it.

    It keeps pykka's contract (refs, `tell`, `ask`, proxies, the registry, `stop`);
    its futures are ThreadingFutures, so another thread can wait on an `ask`.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop  # set before pykka creates the inbox
        self._running: set[asyncio.Task[Any]] = set()
        super().__init__()

    def _create_actor_inbox(self) -> Any:  # type: ignore[override]
        return _LoopInbox(self)

    @staticmethod
    def _create_future() -> pykka.Future[Any]:
        return pykka.ThreadingFuture()

    def _start_actor_loop(self) -> None:
        if asyncio._get_running_loop() is self.loop:
            self.loop.call_soon(self._actor_loop_setup)
        else:
            self.loop.call_soon_threadsafe(self._actor_loop_setup)

    def run_soon(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run `coro` as a task on the loop, kept referenced until it ends."""
        if self.loop.is_closed():
            coro.close()
            return
        task = self.loop.create_task(coro)
        self._running.add(task)  # a task nobody references may be collected mid-way
        task.add_done_callback(self._running.discard)

    def _deliver(self, envelope: Any) -> None:
        """Handle one message, as pykka's actor loop does for a thread.

        Unlike pykka, a BaseException (sys.exit in a listener, say) fails only this
        actor, as an Exception does: it must not stop the loop that runs every run.
        """
        if self.actor_stopped.is_set():
            self._refuse(envelope)
            return
        try:
            response = self._handle_receive(envelope.message)
            if envelope.reply_to is not None:
                envelope.reply_to.set(response)
        except BaseException as exc:
            if not isinstance(exc, Exception):
                log.error("%r escaped %s handling %r", exc, self, type(envelope.message).__name__)
            if envelope.reply_to is not None:
                envelope.reply_to.set_exception(_as_exception(sys.exc_info()))
            else:
                self._handle_failure(*sys.exc_info())
                try:
                    self.on_failure(*sys.exc_info())
                except Exception:
                    self._handle_failure(*sys.exc_info())
                self._refuse_reply(envelope.message)

    def _refuse(self, envelope: Any) -> None:
        """Answer a message that reached this actor after it stopped: nobody else will."""
        if isinstance(envelope.message, messages._ActorStop):
            if envelope.reply_to is not None:
                envelope.reply_to.set(None)
            return
        if envelope.reply_to is not None:
            error = ActorDeadError(f"{self.actor_ref} stopped before handling the message")
            envelope.reply_to.set_exception((ActorDeadError, error, None))
        self._refuse_reply(envelope.message)

    def _refuse_reply(self, message: Any) -> None:
        """Fail the reply future a told message carries, if it is still unanswered."""
        reply = getattr(message, "reply", None)
        if isinstance(reply, asyncio.Future | concurrent.futures.Future) and not reply.done():
            error = ActorDeadError(f"{self.actor_ref} stopped before answering the message")
            reply.set_exception(error)


def _as_exception(info: Any) -> Any:
    """`info` (an exc_info triple), its exception made an Exception for the asker's thread:
    a SystemExit re-raised there would end that thread instead of failing the ask."""
    _, value, tb = info
    if isinstance(value, Exception):
        return info
    wrapped = RuntimeError(f"the actor's handler raised {value!r}")
    wrapped.__cause__ = value
    return (RuntimeError, wrapped, tb)


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
        actor._stop()  # nothing else can be handling its messages now
    elif asyncio._get_running_loop() is loop:
        ref.stop(block=False)
    else:
        try:
            ref.stop(block=True, timeout=STOP_TIMEOUT)
        except pykka.Timeout:
            if not loop.is_running():  # the loop stopped before it handled the stop
                actor._stop()
            else:
                raise
