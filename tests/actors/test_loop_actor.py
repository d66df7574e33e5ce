"""Pykka actors run by an event loop: order, asks, failures, stopping from anywhere."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any

import pykka
import pytest

from agentos.actors._acks import AckQueue
from agentos.actors._loop import LoopThread
from agentos.actors._loop_actor import LoopActor, stop_actor
from agentos.actors.messages import AcksDue


class Recorder(LoopActor):
    """Records each message with the thread that handled it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.seen: list[tuple[Any, int]] = []
        self.stopped_on: int | None = None

    def on_receive(self, message: Any) -> Any:
        if message == "boom":
            raise ValueError("boom")
        self.seen.append((message, threading.get_ident()))
        return ("got", message)

    def on_stop(self) -> None:
        self.stopped_on = threading.get_ident()


@pytest.fixture
def loop_thread():  # type: ignore[no-untyped-def]
    thread = LoopThread()
    yield thread
    thread.stop()


def _loop_ident(loop: asyncio.AbstractEventLoop) -> int:
    return asyncio.run_coroutine_threadsafe(_ident(), loop).result(5)


async def _ident() -> int:
    return threading.get_ident()


def test_messages_from_other_threads_run_on_the_loop_in_order(loop_thread: LoopThread) -> None:
    ref = Recorder.start(loop_thread.loop)
    senders = [
        threading.Thread(target=lambda k=k: [ref.tell((k, i)) for i in range(200)])
        for k in range(4)
    ]
    for t in senders:
        t.start()
    for t in senders:
        t.join()
    assert ref.ask("last", timeout=5) == ("got", "last")
    actor = ref.actor_inbox.actor  # type: ignore[attr-defined]
    loop_id = _loop_ident(loop_thread.loop)
    assert {ident for _, ident in actor.seen} == {loop_id}
    for k in range(4):  # each sender's messages arrive in the order it sent them
        assert [m[1] for m, _ in actor.seen if isinstance(m, tuple) and m[0] == k] == list(
            range(200)
        )
    stop_actor(ref)
    assert not ref.is_alive()
    assert actor.stopped_on == loop_id


def test_an_ask_that_fails_raises_in_the_caller_and_the_actor_lives(
    loop_thread: LoopThread,
) -> None:
    ref = Recorder.start(loop_thread.loop)
    with pytest.raises(ValueError, match="boom"):
        ref.ask("boom", timeout=5)
    assert ref.ask("still here", timeout=5) == ("got", "still here")
    stop_actor(ref)


def test_a_tell_that_fails_stops_the_actor_as_pykka_does(loop_thread: LoopThread) -> None:
    ref = Recorder.start(loop_thread.loop)
    ref.tell("boom")
    asyncio.run_coroutine_threadsafe(asyncio.sleep(0.01), loop_thread.loop).result(5)
    assert not ref.is_alive()
    with pytest.raises(pykka.ActorDeadError):
        ref.tell("late")
    assert ref not in pykka.ActorRegistry.get_all()


async def test_on_its_own_loop_tell_and_stop_never_block() -> None:
    ref = Recorder.start(asyncio.get_running_loop())
    ref.tell("a")
    stop_actor(ref)  # on the loop: queued behind "a", handled once the loop runs
    actor = ref.actor_inbox.actor  # type: ignore[attr-defined]
    assert actor.seen == []
    await asyncio.sleep(0)
    assert [m for m, _ in actor.seen] == ["a"]
    assert not ref.is_alive()


def test_stop_works_once_the_loop_no_longer_runs() -> None:
    loop = asyncio.new_event_loop()
    ref = Recorder.start(loop)
    stop_actor(ref)  # nothing runs the loop: the actor is stopped here, at once
    assert not ref.is_alive()
    loop.close()


def test_an_ask_after_stop_gets_actor_dead(loop_thread: LoopThread) -> None:
    ref = Recorder.start(loop_thread.loop)
    future = ref.ask("queued", block=False)
    stop_actor(ref)
    assert future.get(timeout=5) == ("got", "queued")
    with pytest.raises(pykka.ActorDeadError):
        ref.ask("after", timeout=5)


def test_ack_queue_tells_once_per_bunch() -> None:
    told: list[Any] = []
    acks = AckQueue(told.append)
    futures: list[concurrent.futures.Future[int]] = [concurrent.futures.Future() for _ in range(5)]
    for i, f in enumerate(futures):
        acks.watch(f"r{i}", f)
    acks.wake()
    assert told == []  # nothing resolved yet: no message
    for i, f in enumerate(futures):
        f.set_result(i)
    acks.wake()
    acks.wake()
    assert told == [AcksDue()]  # one message for the whole group
    drained = acks.drain()
    assert [a.run_id for a in drained] == [f"r{i}" for i in range(5)]
    assert [a.future.result() for a in drained] == list(range(5))
    acks.wake()
    assert told == [AcksDue()]  # nothing left: no second message


def test_ack_queue_tells_for_an_append_resolved_before_it_was_watched() -> None:
    told: list[Any] = []
    acks = AckQueue(told.append)
    done: concurrent.futures.Future[int] = concurrent.futures.Future()
    done.set_result(3)
    acks.watch("r", done)  # the store's hook may have run already: tell now
    assert told == [AcksDue()]
    assert [a.run_id for a in acks.drain()] == ["r"]


def test_ack_queue_listens_to_its_store_until_closed_or_its_actor_dies() -> None:
    from agentos.eventstore import InMemoryEventStore

    store = InMemoryEventStore()
    told: list[Any] = []
    acks = AckQueue(told.append, store)
    f: concurrent.futures.Future[int] = concurrent.futures.Future()
    acks.watch("r", f)
    f.set_result(1)
    store._committed()  # what a store's sync thread calls after a group
    assert told == [AcksDue()]
    acks.drain()
    acks.close()
    g: concurrent.futures.Future[int] = concurrent.futures.Future()
    acks.watch("r", g)
    g.set_result(2)
    store._committed()
    assert told == [AcksDue()]  # closed: the store no longer wakes it

    def dead(_: Any) -> None:
        raise pykka.ActorDeadError("stopped")

    gone = AckQueue(dead, store)
    h: concurrent.futures.Future[int] = concurrent.futures.Future()
    gone.watch("r", h)
    h.set_result(3)
    store._committed()  # the actor is gone: the queue unhooks itself, quietly
    assert store._commit_hooks == []


def test_a_tell_after_its_loop_closed_is_actor_dead() -> None:
    loop = asyncio.new_event_loop()
    ref = Recorder.start(loop)
    loop.close()
    with pytest.raises(pykka.ActorDeadError, match="event loop is closed"):
        ref.tell("late")
    stop_actor(ref)  # its loop is gone: stopped at once, and out of the registry
    assert ref not in pykka.ActorRegistry.get_all()
