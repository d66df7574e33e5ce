"""The supervisor actor: the shell around the run machines of one graph.

Take a fact, let the run's machine decide (`RunMachine.handle`), append the decision's
events through the run's log, and once they are acknowledged carry out its effects.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pykka

from agentos._addresses import node_of
from agentos.actors._acks import AckQueue
from agentos.actors._loop_actor import LoopActor, stop_actor
from agentos.actors._prepare import prepare
from agentos.actors._run import DrivenRun
from agentos.actors.cancel import POLL, data_dir, requested, take_requests
from agentos.actors.children import ChildRuns
from agentos.actors.errors import RunEndedError
from agentos.actors.messages import (
    Acked,
    AcksDue,
    CancelTasks,
    ContinueRun,
    GetState,
    ListLive,
    SlotFree,
    WaitRun,
    answer,
    refuse,
)
from agentos.actors.node import NodeActor
from agentos.actors.signals import (
    COMMANDS,
    COMMANDS_POLL,
    command_fact,
    signal_requested,
    take_signal_requests,
)
from agentos.actors.stall import stalled
from agentos.agents.registry import AgentRegistry
from agentos.events import model as ev
from agentos.events.model import utcnow
from agentos.eventstore.base import EventStore
from agentos.eventstore.run_log import RunLog
from agentos.graphs.spec import GraphSpec
from agentos.graphs.topology import Topology
from agentos.machine import effects as fx
from agentos.machine.facts import (
    Cancel,
    Fact,
    ModelCall,
    NodeDone,
    Prepared,
    RetryDue,
    Signal,
    Start,
    WaitTimeout,
)
from agentos.machine.run_machine import RunMachine
from agentos.machine.slots import NodeSlots
from agentos.routing.budget import downgrade_max_tier
from agentos.routing.router import Router
from agentos.state.run_state import RunState

log = logging.getLogger(__name__)

Listener = Callable[[Sequence[ev.Envelope], RunState], None]
FACTS = (NodeDone, Prepared, ModelCall, RetryDue, Cancel, Signal, WaitTimeout)


class SupervisorActor(LoopActor):
    """Drives every run of its graph; the only writer of their logs, through each run's
    `RunLog`. It runs on the event loop of its agents (see `LoopActor`)."""

    def __init__(
        self,
        spec: GraphSpec,
        agents: AgentRegistry,
        store: EventStore,
        router: Router,
        loop: asyncio.AbstractEventLoop,
        executor: concurrent.futures.Executor,
        listeners: Sequence[Listener] = (),
        children: ChildRuns | None = None,
        slots: NodeSlots | None = None,
    ) -> None:
        super().__init__(loop)
        self.spec = spec
        self.topo = Topology(spec)
        self.agents = agents
        self.store = store
        self.router = router
        self.executor = executor
        self.listeners = list(listeners)
        self.children = children
        self._runs: dict[str, DrivenRun] = {}
        self._dropped: dict[str, BaseException] = {}  # why runs stopped after a failed append
        self._nodes: dict[tuple[str, str], pykka.ActorRef[Any]] = {}
        self._slots = slots if slots is not None else NodeSlots()  # shared: cluster/permits.py
        self._slots.bind(lambda node: self.actor_ref.tell(SlotFree(node)))
        self._acks = AckQueue(self.actor_ref.tell, store)
        self._cancel_watch: asyncio.Task[None] | None = None

    def on_start(self) -> None:
        # other processes may cancel or signal runs driven here: request files in a data
        # dir, or commands through a store shared without one
        root = data_dir(self.store)
        watch = self._watch_requests(root) if root is not None else self._watch_commands()
        self._cancel_watch = self.loop.create_task(watch)

    async def _watch_requests(self, root: Path) -> None:
        """Turn the cancel and signal request files for runs driven here into facts."""
        while True:
            await asyncio.sleep(POLL)
            # one listdir on the loop; the files are read off it, when there are any
            if self._runs and requested(root, self._runs):
                for run_id, reason in await asyncio.to_thread(take_requests, root, [*self._runs]):
                    self.actor_ref.tell(Cancel(run_id, reason))
            if self._runs and signal_requested(root, self._runs):
                for signal in await asyncio.to_thread(take_signal_requests, root, [*self._runs]):
                    self.actor_ref.tell(signal)

    async def _watch_commands(self) -> None:
        """Turn the store's commands for runs driven here into facts, when a notification
        says some were sent (and every few seconds, in case one was missed)."""
        with self.store.wakeups(COMMANDS) as sent:
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(COMMANDS_POLL):
                        await sent.wait()
                sent.clear()
                if not self._runs:
                    continue
                try:
                    taken = await self.store.take_commands([*self._runs])
                except Exception:  # the store is closing or unreachable: try again later
                    log.warning("could not read commands", exc_info=True)
                    continue
                for run_id, kind, payload in taken:
                    fact = command_fact(run_id, kind, payload)
                    if fact is not None:
                        self.actor_ref.tell(fact)

    # messages

    def on_receive(self, message: Any) -> None:
        try:
            self._receive(message)
        except Exception as exc:  # never let a handler kill the actor: fail the run instead
            log.exception("supervisor failed handling %r", type(message).__name__)
            refuse(getattr(message, "reply", None), exc)
            run = self._runs.get(getattr(message, "run_id", ""))
            if run is not None:
                self._drop(run, exc)

    def _receive(self, message: Any) -> None:
        if isinstance(message, AcksDue):
            for ack in self._acks.drain():
                self._acked(ack)
        elif isinstance(message, FACTS):
            self._fact(message)
        elif isinstance(message, Start):
            self._start(message)
        elif isinstance(message, ContinueRun):
            self._continue(message)
        elif isinstance(message, GetState | WaitRun):
            self._query(message)
        elif isinstance(message, ListLive):
            answer(message.reply, sorted(self._runs))
        elif isinstance(message, SlotFree):
            due = self._slots.next_waiting(message.node)
            if due is not None:
                self._fact(due)

    def _start(self, msg: Start) -> None:
        machine, decision = RunMachine.start(
            msg, self.spec, self.topo, self._slots, utcnow, self._lowest_tier()
        )
        self._drive(DrivenRun(machine, RunLog.new(self.store, msg.run_id)), decision)

    def _continue(self, msg: ContinueRun) -> None:
        state = msg.state
        if state.finished or state.run_id in self._runs:
            answer(msg.reply, state.run_id)
            return
        spec = GraphSpec.model_validate(state.spec)
        topo = self.topo if spec == self.spec else Topology(spec)
        machine = RunMachine(
            state,
            spec,
            topo,
            self._slots,
            utcnow,
            lowest_tier=self._lowest_tier(),
            workspace_root=msg.workspace_root,
            artifacts=msg.artifacts,
        )
        decision = machine.resume(msg.reply)
        decision.events[:0] = msg.fork  # a replay's copied events come first
        self._drive(DrivenRun(machine, msg.log), decision)

    def _drive(self, run: DrivenRun, decision: fx.Decision) -> None:
        self._runs[run.run_id] = run
        self._dropped.pop(run.run_id, None)
        self._decide(run, decision)

    def _query(self, msg: GetState | WaitRun) -> None:
        run = self._runs.get(msg.run_id)
        dropped = self._dropped.get(msg.run_id)
        if run is None and dropped is not None and isinstance(msg, WaitRun):
            refuse(msg.reply, dropped)  # it will not end here: waiting would hang
        elif run is None:
            answer(msg.reply, None)
        elif isinstance(msg, WaitRun):
            run.waiters.append(msg.reply)
        elif run.busy:
            run.queries.append(msg.reply)
        else:
            answer(msg.reply, run.state.model_copy(deep=True))

    def _fact(self, fact: Fact) -> None:
        run = self._runs.get(fact.run_id)
        if run is None and isinstance(fact, Signal):
            answer(fact.reply, False)  # not driven here: the caller records it in the log
        elif run is None:
            self._carry_out(None, fx.orphaned(fact))
        elif run.busy:
            run.inbox.append(fact)
        else:
            self._decide(run, run.machine.handle(fact))

    # append, then act

    def _decide(self, run: DrivenRun, decision: fx.Decision) -> None:
        """Append the decision's events; its effects are carried out once they are durable."""
        if not decision.events:
            self._carry_out(run, decision.effects)
            return
        run.busy, run.in_flight = True, decision
        try:
            future = run.log.submit(decision.events)
        except Exception as exc:
            self._drop(run, exc)
            return
        if future.done():  # an in-memory store acknowledges at once: no round trip
            self._acked(Acked(run.run_id, future))
        else:
            self._acks.watch(run.run_id, future)

    def _acked(self, msg: Acked) -> None:
        run = self._runs.get(msg.run_id)
        if run is None:
            return
        error = msg.future.exception()
        if error is not None:
            self._drop(run, error)
            return
        decision, run.in_flight, run.busy = run.in_flight, fx.Decision(), False
        self._tell_listeners(decision.events, run.state)
        for reply in run.queries:
            answer(reply, run.state.model_copy(deep=True))
        run.queries.clear()
        self._carry_out(run, decision.effects)
        if run.run_id not in self._runs:
            return  # finished
        facts, run.inbox = run.inbox, []
        follow = fx.Decision()
        for fact in facts:
            follow.extend(run.machine.handle(fact))
        self._decide(run, follow)

    def _carry_out(self, run: DrivenRun | None, effects: Sequence[fx.Effect]) -> None:
        for effect in effects:
            if isinstance(effect, fx.Dispatch) and run is not None:
                self._node_actor(run, effect.node).tell(effect)
            elif isinstance(effect, fx.Prepare):
                self.run_soon(self._prepare(effect))
            elif isinstance(effect, fx.Answer):
                answer(effect.reply, effect.value)
            elif isinstance(effect, fx.Refuse):
                refuse(effect.reply, effect.error)
            elif isinstance(effect, fx.RetryLater):
                self.loop.call_later(effect.delay, self.actor_ref.tell, effect.due)
            elif isinstance(effect, fx.CancelAttempts):
                self._cancel_attempts(effect)
            elif isinstance(effect, fx.SlotFreed):
                self.actor_ref.tell(SlotFree(effect.node))
            elif isinstance(effect, fx.StartChild):
                self.run_soon(self._child(effect))
            elif isinstance(effect, fx.CancelChildren) and self.children is not None:
                self.run_soon(self.children.cancel(effect.child_runs, effect.reason))
            elif isinstance(effect, fx.Finished) and run is not None:
                self._finish(run)

    async def _prepare(self, job: fx.Prepare) -> None:
        self.actor_ref.tell(await prepare(job, self.router))

    async def _child(self, job: fx.StartChild) -> None:
        if self.children is None:
            error = f"graph {job.graph!r} is not registered: this supervisor runs no child graphs"
            done: NodeDone | None = NodeDone(job.run_id, job.node, job.attempt, False, error=error)
        else:
            done = await self.children.run(job)
        if done is not None:
            self.actor_ref.tell(done)

    def _cancel_attempts(self, effect: fx.CancelAttempts) -> None:
        cancel = CancelTasks(effect.run_id)
        nodes = {node_of(name) for name in effect.nodes}
        for (name, _), actor in self._nodes.items():
            if name in nodes:
                actor.tell(cancel)

    def _finish(self, run: DrivenRun) -> None:
        del self._runs[run.run_id]
        for reply in run.waiters:
            answer(reply, run.state)  # final: nothing changes it any more
        for fact in run.inbox:
            self._carry_out(None, fx.orphaned(fact))
        self.run_soon(run.log.release())

    def _drop(self, run: DrivenRun, error: BaseException) -> None:
        """Stop driving a run whose append failed; its log keeps what was acknowledged.

        A failed write or sync stalls the run: everyone waiting hears `RunStalledError`
        (the errno and a one-line reason), and a resume carries the run on."""
        error = stalled(run.run_id, error) or error
        log.error("run %s stopped: %s", run.run_id, error)
        self._runs.pop(run.run_id, None)
        self._dropped[run.run_id] = error
        for reply in run.replies():
            refuse(reply, error)
        freed = [e for e in run.in_flight.effects if isinstance(e, fx.SlotFreed)]
        self._carry_out(None, [*freed, *run.machine.drop()])
        self.run_soon(run.log.release())

    # node actors

    def _node_actor(self, run: DrivenRun, name: str) -> pykka.ActorRef[Any]:
        spec = run.machine.topo.node(name)  # the node of a map instance runs it
        ref = spec.agent or ""  # a wait node is never dispatched
        key = (spec.name, ref)
        actor = self._nodes.get(key)
        if actor is None:
            actor = NodeActor.start(
                spec.name,
                self.agents.resolve(ref),
                self.actor_ref,
                self.loop,
                self.executor,
                self.router,
                self.store,
            )
            self._nodes[key] = actor
        return actor

    def _lowest_tier(self) -> int:
        return downgrade_max_tier(self.router.pool)

    def _tell_listeners(self, events: Sequence[ev.Envelope], state: RunState) -> None:
        for listener in self.listeners:
            try:
                listener(events, state)
            except Exception:
                log.exception("listener failed")

    def on_stop(self) -> None:
        if self._cancel_watch is not None:
            self._cancel_watch.cancel()
        self._slots.close()
        self._acks.close()
        for actor in self._nodes.values():
            stop_actor(actor)
        self._nodes.clear()
        for run in list(self._runs.values()):
            for reply in run.waiters:
                refuse(reply, RunEndedError("the supervisor stopped"))
