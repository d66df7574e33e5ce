"""pykka's actor contract, run over both runtimes: pykka.ThreadingActor and LoopActor.

One suite, parametrized over runtimes the way pykka's own tests are: tell order, asks
(answers, errors, timeouts), failures, stop, the on_start/on_stop hooks, the registry
and proxies. The tests at the end pin where LoopActor differs on purpose.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pykka
import pytest
from pykka import ActorDeadError, ActorRegistry

from agentos.actors._loop import LoopThread
from agentos.actors._loop_actor import LoopActor, stop_actor

WAIT = 5.0  # seconds: a bound on waits that end as soon as their condition holds


@dataclass(frozen=True)
class Runtime:
    """An actor base class whose `__init__` takes no arguments, and its name."""

    name: str
    base: type[pykka.Actor]


@pytest.fixture(params=["threading", "loop"])
def runtime(request: pytest.FixtureRequest) -> Iterator[Runtime]:
    if request.param == "threading":
        yield Runtime("threading", pykka.ThreadingActor)
        _stop_every(pykka.ThreadingActor)
        return
    thread = LoopThread()

    class OnLoop(LoopActor):
        def __init__(self) -> None:
            super().__init__(thread.loop)

    yield Runtime("loop", OnLoop)
    _stop_every(OnLoop)
    thread.stop()


def _stop_every(base: type[pykka.Actor]) -> None:
    for ref in ActorRegistry.get_by_class(base):
        ref.stop(timeout=WAIT)


@dataclass
class Seen:
    """What an actor handled, each with the thread that handled it."""

    items: list[tuple[Any, int]] = field(default_factory=list)
    failed: threading.Event = field(default_factory=threading.Event)
    failure: BaseException | None = None

    def note(self, item: Any) -> None:
        self.items.append((item, threading.get_ident()))

    def what(self) -> list[Any]:
        return [item for item, _ in self.items]

    def threads(self) -> set[int]:
        return {ident for _, ident in self.items}


@dataclass(frozen=True)
class Hold:
    """Keeps the actor busy until `gate` is set."""

    gate: threading.Event


class Recorder:
    """Notes its hooks and messages; mixed into a runtime's actor class by `start`."""

    label = "recorder"

    def __init__(self, seen: Seen) -> None:
        super().__init__()
        self.seen = seen

    def on_start(self) -> None:
        self.seen.note(("start", self.actor_ref in ActorRegistry.get_all()))  # type: ignore[attr-defined]

    def on_stop(self) -> None:
        self.seen.note("stop")

    def on_failure(self, _type: Any, value: BaseException | None, _tb: Any) -> None:
        self.seen.failure = value
        self.seen.failed.set()

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Hold):
            assert message.gate.wait(WAIT)
            return None
        if message == "boom":
            raise ValueError("boom")
        if message == "quit":
            self.stop()  # type: ignore[attr-defined]
        if message == "ask myself":
            return self._ask_myself()
        self.seen.note(message)
        return ("got", message)

    def _ask_myself(self) -> type[BaseException] | None:
        try:
            self.actor_ref.ask("inner", timeout=0.2)  # type: ignore[attr-defined]
        except Exception as exc:
            return type(exc)
        return None

    def add(self, a: int, b: int) -> int:
        return a + b


class NamedStop(Recorder):
    def on_stop(self) -> None:
        self.seen.note(("stop", self.actor_urn))  # type: ignore[attr-defined]


class FailsToStart(Recorder):
    def on_start(self) -> None:
        raise RuntimeError("cannot start")


def start(runtime: Runtime, body: type[Recorder], seen: Seen) -> pykka.ActorRef[Any]:
    actor_class = type(f"{body.__name__}On{runtime.name.title()}", (body, runtime.base), {})
    ref: pykka.ActorRef[Any] = actor_class.start(seen)
    return ref


def test_tells_keep_each_senders_order_and_run_on_one_thread(runtime: Runtime) -> None:
    seen = Seen()
    ref = start(runtime, Recorder, seen)
    senders = [
        threading.Thread(target=lambda k=k: [ref.tell((k, i)) for i in range(100)])
        for k in range(4)
    ]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    assert ref.ask("last", timeout=WAIT) == ("got", "last")
    assert seen.what()[0] == ("start", True)  # on_start: registered, before any message
    for k in range(4):
        assert [m[1] for m in seen.what() if isinstance(m, tuple) and m[0] == k] == list(range(100))
    assert len(seen.threads()) == 1
    assert threading.get_ident() not in seen.threads()


def test_an_ask_gets_the_answer_or_the_handlers_error_and_the_actor_lives_on(
    runtime: Runtime,
) -> None:
    seen = Seen()
    ref = start(runtime, Recorder, seen)
    assert ref.ask("hi", timeout=WAIT) == ("got", "hi")
    with pytest.raises(ValueError, match="boom"):
        ref.ask("boom", timeout=WAIT)
    future = ref.ask("boom", block=False)
    with pytest.raises(ValueError, match="boom"):
        future.get(timeout=WAIT)
    assert ref.ask("again", timeout=WAIT) == ("got", "again")
    assert ref.is_alive()
    assert not seen.failed.is_set()


def test_an_unanswered_ask_times_out_and_the_message_is_still_handled(
    runtime: Runtime,
) -> None:
    seen = Seen()
    ref = start(runtime, Recorder, seen)
    gate = threading.Event()
    ref.tell(Hold(gate))
    with pytest.raises(pykka.Timeout):
        ref.ask("slow", timeout=0.05)
    gate.set()
    assert ref.ask("next", timeout=WAIT) == ("got", "next")
    assert seen.what()[-2:] == ["slow", "next"]


def test_a_tell_whose_handler_raises_stops_the_actor_through_on_failure(
    runtime: Runtime,
) -> None:
    seen = Seen()
    ref = start(runtime, Recorder, seen)
    ref.tell("boom")
    assert seen.failed.wait(WAIT)
    assert isinstance(seen.failure, ValueError)
    assert not ref.is_alive()
    assert ref not in ActorRegistry.get_all()
    with pytest.raises(ActorDeadError):
        ref.tell("late")
    with pytest.raises(ActorDeadError):
        ref.ask("late", timeout=WAIT)
    assert "stop" not in seen.what()  # on_stop is not called on a failure


def test_stop_handles_what_came_before_and_refuses_what_comes_after(
    runtime: Runtime,
) -> None:
    seen = Seen()
    ref = start(runtime, Recorder, seen)
    gate = threading.Event()
    ref.tell(Hold(gate))
    ref.tell("before")
    stopping = ref.stop(block=False)
    stopping_again = ref.stop(block=False)
    after = ref.ask("after", block=False)
    gate.set()
    assert stopping.get(timeout=WAIT) is True
    assert stopping_again.get(timeout=WAIT) is True  # it was being stopped
    with pytest.raises(ActorDeadError):
        after.get(timeout=WAIT)
    assert seen.what() == [("start", True), "before", "stop"]
    assert len(seen.threads()) == 1  # on_stop ran where the messages did
    assert ref.stop(timeout=WAIT) is False  # already stopped
    with pytest.raises(ActorDeadError):
        ref.tell("late")
    assert ref not in ActorRegistry.get_all()


def test_stop_from_another_thread_or_from_the_actor_itself(runtime: Runtime) -> None:
    seen = Seen()
    ref = start(runtime, Recorder, seen)
    stopped: list[bool] = []
    stopper = threading.Thread(target=lambda: stopped.append(ref.stop(timeout=WAIT)))
    stopper.start()
    stopper.join(WAIT)
    assert stopped == [True]
    assert seen.what()[-1] == "stop"

    quitter = start(runtime, Recorder, Seen())
    quitter.tell("quit")
    assert quitter.actor_stopped.wait(WAIT)
    with pytest.raises(ActorDeadError):
        quitter.ask("after the stop", timeout=WAIT)


def test_an_on_start_that_raises_stops_the_actor(runtime: Runtime) -> None:
    ref = start(runtime, FailsToStart, Seen())
    assert ref.actor_stopped.wait(WAIT)
    with pytest.raises(ActorDeadError):
        ref.ask("hello", timeout=WAIT)
    assert ref not in ActorRegistry.get_all()


def test_the_registry_finds_the_actors_and_stops_them_last_started_first(
    runtime: Runtime,
) -> None:
    seen = Seen()
    first = start(runtime, NamedStop, seen)
    second = start(runtime, NamedStop, seen)
    assert ActorRegistry.get_by_urn(first.actor_urn) is first
    assert ActorRegistry.get_by_class(runtime.base)[-2:] == [first, second]
    assert second in ActorRegistry.get_by_class_name(second.actor_class.__name__)
    ActorRegistry.stop_all(timeout=WAIT)
    assert not first.is_alive()
    assert not second.is_alive()
    assert first not in ActorRegistry.get_all()
    assert second not in ActorRegistry.get_all()
    assert [m for m in seen.what() if m[0] == "stop"] == [
        ("stop", second.actor_urn),
        ("stop", first.actor_urn),
    ]


def test_proxies_call_methods_and_get_and_set_attributes(runtime: Runtime) -> None:
    ref = start(runtime, Recorder, Seen())
    proxy = ref.proxy()
    assert proxy.add(1, 2).get(timeout=WAIT) == 3
    assert proxy.label.get(timeout=WAIT) == "recorder"
    proxy.label = "renamed"
    assert proxy.label.get(timeout=WAIT) == "renamed"


# where LoopActor differs from ThreadingActor, on purpose


def test_waiting_on_its_own_answer_times_out_on_a_thread_and_fails_at_once_on_a_loop(
    runtime: Runtime,
) -> None:
    ref = start(runtime, Recorder, Seen())
    expected = pykka.Timeout if runtime.name == "threading" else RuntimeError
    assert ref.ask("ask myself", timeout=WAIT) is expected
    assert ref.ask("alive", timeout=WAIT) == ("got", "alive")  # the loop was never blocked


def test_on_the_loop_an_ask_is_refused_at_once_and_its_message_still_handled() -> None:
    thread = LoopThread()
    try:
        seen = Seen()
        ref = start(Runtime("loop", _on(thread.loop)), Recorder, seen)

        async def ask_on_the_loop() -> None:
            with pytest.raises(RuntimeError, match="block the loop"):
                ref.ask("asked", timeout=1)

        asyncio.run_coroutine_threadsafe(ask_on_the_loop(), thread.loop).result(WAIT)
        assert ref.ask("after", timeout=WAIT) == ("got", "after")
        assert seen.what()[-2:] == ["asked", "after"]
        stop_actor(ref)
    finally:
        thread.stop()


def test_an_actor_that_tells_itself_yields_the_loop_between_messages() -> None:
    thread = LoopThread()
    order: list[str] = []
    done = threading.Event()

    class Ticker(LoopActor):
        def on_receive(self, message: int) -> None:
            if message == 0:
                self.loop.call_soon(order.append, "other callback")
            order.append(f"tick {message}")
            if message < 3:
                self.actor_ref.tell(message + 1)
            else:
                done.set()

    try:
        ref = Ticker.start(thread.loop)
        ref.tell(0)
        assert done.wait(WAIT)
        assert order == ["tick 0", "other callback", "tick 1", "tick 2", "tick 3"]
        stop_actor(ref)
    finally:
        thread.stop()


def test_stop_answers_queued_asks_once_the_loop_no_longer_runs() -> None:
    loop = asyncio.new_event_loop()
    ref = start(Runtime("loop", _on(loop)), Recorder, Seen())
    queued = ref.ask("never handled", block=False)
    stop_actor(ref)  # nothing runs the loop: stopped here, at once
    with pytest.raises(ActorDeadError):
        queued.get(timeout=1)
    assert not ref.is_alive()
    loop.close()


def _on(loop: asyncio.AbstractEventLoop) -> type[LoopActor]:
    class OnLoop(LoopActor):
        def __init__(self) -> None:
            super().__init__(loop)

    return OnLoop
