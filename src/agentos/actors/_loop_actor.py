"""A pykka actor whose messages are handled on an asyncio event loop instead of a thread.

The supervisor and the node actors live on the loop that runs the agents: a message is
one callback on that loop, so handing work between them costs no thread switch and no
lock. `tell` works from any thread; `ask(...).get()` must not be called on the loop.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Coroutine
from typing import Any

import pykka
from pykka import ActorDeadError, ActorRegistry, messages

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
        """Handle one message, as pykka's actor loop does for a thread."""
        if self.actor_stopped.is_set():
            if envelope.reply_to is not None:
                if isinstance(envelope.message, messages._ActorStop):
                    envelope.reply_to.set(None)
                else:
                    error = ActorDeadError(f"{self.actor_ref} stopped before handling the message")
                    envelope.reply_to.set_exception((ActorDeadError, error, None))
            return
        try:
            response = self._handle_receive(envelope.message)
            if envelope.reply_to is not None:
                envelope.reply_to.set(response)
        except Exception:
            if envelope.reply_to is not None:
                envelope.reply_to.set_exception()
            else:
                self._handle_failure(*sys.exc_info())
                try:
                    self.on_failure(*sys.exc_info())
                except Exception:
                    self._handle_failure(*sys.exc_info())
        except BaseException:  # as pykka does: a BaseException stops every actor
            log.debug("%r in %s: stopping all actors", sys.exc_info()[1], self)
            self._stop()
            ActorRegistry.stop_all(block=False)
            raise


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
