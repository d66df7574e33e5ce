"""A BaseException in a loop actor's handler fails that actor only, never the loop or the
other actors on it; a message that carries a reply is answered even by a stopped actor."""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pykka
import pytest

from agentos.actors._loop import LoopThread
from agentos.actors._loop_actor import LoopActor, stop_actor


@dataclass
class Ask:
    """A told message that carries its reply, as the supervisor's messages do."""

    reply: concurrent.futures.Future[Any]


class Quitter(LoopActor):
    """Calls sys.exit or raises KeyboardInterrupt when told to."""

    def on_receive(self, message: Any) -> Any:
        if message == "exit":
            sys.exit("handler quits")
        if message == "interrupt":
            raise KeyboardInterrupt("handler interrupted")
        if isinstance(message, Ask):
            message.reply.set_result("asked")
        return ("got", message)


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.stop()


async def _on(loop: asyncio.AbstractEventLoop) -> bool:
    return True


def _loop_alive(loop: asyncio.AbstractEventLoop) -> bool:
    return asyncio.run_coroutine_threadsafe(_on(loop), loop).result(5)


@pytest.mark.parametrize("message", ["exit", "interrupt"])
def test_a_base_exception_in_an_ask_fails_the_ask_only(
    loop_thread: LoopThread, message: str
) -> None:
    quitter = Quitter.start(loop_thread.loop)
    other = Quitter.start(loop_thread.loop)
    try:
        with pytest.raises(RuntimeError, match="handler") as raised:
            quitter.ask(message, timeout=5)
        assert isinstance(raised.value.__cause__, SystemExit | KeyboardInterrupt)
        assert quitter.ask("again", timeout=5) == ("got", "again")
        assert other.ask("hello", timeout=5) == ("got", "hello")
        assert _loop_alive(loop_thread.loop)
    finally:
        stop_actor(quitter)
        stop_actor(other)


@pytest.mark.parametrize("message", ["exit", "interrupt"])
def test_a_base_exception_in_a_tell_stops_that_actor_only(
    loop_thread: LoopThread, message: str
) -> None:
    quitter = Quitter.start(loop_thread.loop)
    other = Quitter.start(loop_thread.loop)
    try:
        quitter.tell(message)
        assert other.ask("hello", timeout=5) == ("got", "hello")  # handled after the tell
        assert not quitter.is_alive()
        assert other.is_alive()
        assert _loop_alive(loop_thread.loop)
    finally:
        stop_actor(other)


def test_a_stopped_actor_refuses_a_reply_it_was_told_to_give(loop_thread: LoopThread) -> None:
    actor = Quitter.start(loop_thread.loop)
    reply: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def tell_then_stop() -> None:  # on the loop: the stop is handled before the message
        actor.tell(Ask(reply))
        actor.actor_inbox.actor.halt()  # type: ignore[attr-defined]

    loop_thread.loop.call_soon_threadsafe(tell_then_stop)
    with pytest.raises(pykka.ActorDeadError):
        reply.result(5)  # before, it was never answered
