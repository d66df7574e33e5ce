"""The supervisor actor: decides, appends, evolves, then acts, for every run of a graph."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable, Sequence
from typing import Any

import pykka

from agentos.actors._acks import AckQueue
from agentos.actors._attempt import prepare_attempt
from agentos.actors._loop_actor import LoopActor, stop_actor
from agentos.actors._run import LiveRun
from agentos.actors._slots import NodeSlots
from agentos.actors.errors import BudgetExceededError, RunEndedError
from agentos.actors.messages import (
    Acked,
    AcksDue,
    CancelRun,
    CancelTasks,
    ContinueRun,
    Fact,
    GetState,
    ListLive,
    ModelCall,
    NodeDone,
    RetryDue,
    SlotFree,
    StartRun,
    WaitRun,
    answer,
    refuse,
)
from agentos.actors.node import NodeActor
from agentos.actors.scheduler import plan
from agentos.actors.stall import stalled
from agentos.agents.registry import AgentRegistry
from agentos.events import model as ev
from agentos.eventstore.base import EventStore
from agentos.graphs.spec import GraphSpec
from agentos.graphs.topology import Topology
from agentos.routing.budget import budget_exceeded, downgrade_max_tier
from agentos.routing.router import NoModelFitsError, Router
from agentos.state.run_state import RunState

log = logging.getLogger(__name__)

Listener = Callable[[Sequence[ev.Envelope], RunState], None]


class SupervisorActor(LoopActor):
    """Owns the live state of every run of its graph; the only writer of their logs.

    It runs on the event loop of its agents (see `LoopActor`): deciding, handing a job to a
    node actor and hearing back from it are callbacks on one thread.
    """

    def __init__(
        self,
        spec: GraphSpec,
        agents: AgentRegistry,
        store: EventStore,
        router: Router,
        loop: asyncio.AbstractEventLoop,
        executor: concurrent.futures.Executor,
        listeners: Sequence[Listener] = (),
    ) -> None:
        super().__init__(loop)
        self.spec = spec
        self.topo = Topology(spec)
        self.agents = agents
        self.store = store
        self.router = router
        self.executor = executor
        self.listeners = list(listeners)
        self._runs: dict[str, LiveRun] = {}
        self._dropped: dict[str, BaseException] = {}  # why runs stopped after a failed append
        self._nodes: dict[tuple[str, str], pykka.ActorRef[Any]] = {}
        self._slots = NodeSlots()
        self._acks = AckQueue(self.actor_ref.tell, store)

    # message routing

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
        elif isinstance(message, StartRun):
            self._start_run(message)
        elif isinstance(message, ContinueRun):
            self._continue_run(message)
        elif isinstance(message, GetState | WaitRun):
            self._query(message)
        elif isinstance(message, ListLive):
            answer(message.reply, sorted(self._runs))
        elif isinstance(message, SlotFree):
            due = self._slots.next_waiting(message.node)
            if due is not None:
                self._fact(due)
        elif isinstance(message, NodeDone | ModelCall | RetryDue | CancelRun):
            self._fact(message)

    def _fact(self, fact: Fact) -> None:
        run = self._runs.get(getattr(fact, "run_id", ""))
        if run is None:
            self._orphan(fact)
        elif run.busy:
            run.inbox.append(fact)
        else:
            self._apply(run, fact)
            self._advance(run)

    def _orphan(self, fact: Fact) -> None:
        """A fact for a run this supervisor no longer drives (finished or dropped)."""
        if isinstance(fact, ModelCall):
            refuse(fact.reply, RunEndedError(f"run {fact.run_id} is no longer running"))
        elif isinstance(fact, CancelRun):
            answer(fact.reply, None)
        elif isinstance(fact, NodeDone):
            self._release_slot(fact.node)

    # run lifecycle

    def _start_run(self, msg: StartRun) -> None:
        run = LiveRun.created(self.spec, self.topo, msg)
        self._runs[msg.run_id] = run
        self._dropped.pop(msg.run_id, None)
        run.pending.append(msg.reply)
        run.after_ack.append(lambda: answer(msg.reply, msg.run_id))
        self._advance(run)

    def _continue_run(self, msg: ContinueRun) -> None:
        state = msg.state
        if state.finished or state.run_id in self._runs:
            answer(msg.reply, state.run_id)
            return
        spec = GraphSpec.model_validate(state.spec)
        topo = self.topo if spec == self.spec else Topology(spec)
        run = LiveRun(state=state, spec=spec, topo=topo, workspace_root=msg.workspace_root)
        run.artifacts.update(msg.artifacts)
        if state.budget_action == "downgrade":
            run.max_tier = downgrade_max_tier(self.router.pool)
        self._runs[state.run_id] = run
        self._dropped.pop(state.run_id, None)
        for node, attempt in run.mark_interrupted():
            self._start_node(run, node, attempt)
        run.pending.append(msg.reply)
        run.after_ack.append(lambda: answer(msg.reply, state.run_id))
        self._advance(run)

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

    # facts

    def _apply(self, run: LiveRun, fact: Fact) -> None:
        if isinstance(fact, NodeDone):
            self._node_done(run, fact)
        elif isinstance(fact, ModelCall):
            self._model_call(run, fact)
        elif isinstance(fact, RetryDue):
            node = run.state.nodes.get(fact.node)
            if node is not None and node.status in ("retrying", "scheduled"):
                self._start_node(run, fact.node, fact.attempt)
        elif isinstance(fact, CancelRun):
            reply = fact.reply
            self._end(run, ev.RunCancelled, reason=fact.reason or "cancelled")
            run.pending.append(reply)
            run.after_ack.append(lambda: answer(reply, None))

    def _node_done(self, run: LiveRun, done: NodeDone) -> None:
        self._release_slot(done.node)
        node = run.state.nodes.get(done.node)
        if node is None or node.status != "running" or node.attempts != done.attempt:
            return  # an attempt the run no longer waits for (cancelled or superseded)
        if not run.record(done):
            self._node_failed(run, done.node, done.attempt, done.error, done.error_type)

    def _node_failed(self, run: LiveRun, name: str, attempt: int, error: str, kind: str) -> None:
        policy = run.policy(name)
        final = attempt >= policy.retry.max_attempts
        run.emit(ev.NodeFailed, name, attempt, error=error, error_type=kind or "Error", final=final)
        if not final:
            delay = policy.retry.delay(attempt, f"{run.spec.name}:{name}")
            run.emit(ev.NodeRetrying, name, attempt, delay=delay, error=error)
            due = RetryDue(run.run_id, name, attempt + 1)
            run.after_ack.append(lambda: self._later(delay, due))
        elif policy.on_failure == "fail_run":
            self._end(run, ev.RunFailed, error=f"node {name} failed: {error}", node=name)

    def _model_call(self, run: LiveRun, call: ModelCall) -> None:
        if run.state.finished:
            refuse(call.reply, RunEndedError(f"run {run.run_id} has ended"))
            return
        run.emit(ev.ModelCalled, call.node, call.attempt, **call.data)
        reply = call.reply
        run.pending.append(reply)
        decision = budget_exceeded(run.state.budget, run.state.budget_action, run.state.usage)
        if decision is not None and decision.action == "fail":
            run.emit(ev.BudgetExceeded, call.node, call.attempt, **decision.model_dump())
            self._end(run, ev.RunFailed, error=f"budget exceeded: {decision.reason}")
            error = BudgetExceededError(decision.reason)
            run.after_ack.append(lambda: refuse(reply, error))
            return
        if decision is not None and decision.action == "downgrade":
            run.emit(ev.BudgetExceeded, call.node, call.attempt, **decision.model_dump())
            run.max_tier = downgrade_max_tier(self.router.pool)
        run.after_ack.append(lambda: answer(reply, None))

    # scheduling

    def _advance(self, run: LiveRun) -> None:
        """Start or skip what the state allows, finish the run when all is done, append."""
        # the plan reads settled nodes only: until one settles again it stays the same
        if run.replan and not run.state.finished:
            step = plan(run.state, run.topo)
            for name, reason in step.skip:
                run.emit(ev.NodeSkipped, name, reason=reason)
            run.replan = False  # the plan saw its own skips
            for name in step.start:
                self._start_node(run, name, 1)
            if step.finished:  # every node succeeded, failed (continuing) or was skipped
                run.emit(ev.RunSucceeded)
        self._flush(run)

    def _start_node(self, run: LiveRun, name: str, attempt: int) -> None:
        policy = run.policy(name)
        if not self._slots.take(name, policy.concurrency):
            # node_scheduled marks a node that is ready but waits for a slot
            if run.state.nodes[name].status == "pending":
                run.emit(ev.NodeScheduled, name, attempt)
            self._slots.wait(RetryDue(run.run_id, name, attempt))
            return
        run.emit(ev.NodeStarted, name, attempt)
        try:
            job = prepare_attempt(run, name, attempt, self.router)
        except NoModelFitsError as exc:
            self._release_slot(name)
            self._node_failed(run, name, attempt, str(exc), "NoModelFitsError")
            return
        actor = self._node_actor(run, name)
        run.after_ack.append(lambda: actor.tell(job))

    def _end(self, run: LiveRun, cls: type[ev.Envelope], **data: Any) -> None:
        """Cancel what is still active and end the run with `cls`."""
        active, running = run.end(cls, **data)
        for name in running:
            self._release_slot(name)
        self._slots.forget(run.run_id)
        actors = {self._node_actor(run, name) for name in active}
        cancel = CancelTasks(run.run_id)

        def cancel_tasks() -> None:
            for actor in actors:
                actor.tell(cancel)

        run.after_ack.append(cancel_tasks)

    def _release_slot(self, name: str) -> None:
        if self._slots.release(name):
            self.actor_ref.tell(SlotFree(name))

    def _later(self, delay: float, message: Any) -> None:
        self.loop.call_later(delay, self.actor_ref.tell, message)

    def _node_actor(self, run: LiveRun, name: str) -> pykka.ActorRef[Any]:
        ref = run.topo.node(name).agent
        key = (name, ref)
        actor = self._nodes.get(key)
        if actor is None:
            actor = NodeActor.start(
                name,
                self.agents.resolve(ref),
                self.actor_ref,
                self.loop,
                self.executor,
                self.router,
                self.store,
            )
            self._nodes[key] = actor
        return actor

    # appending

    def _flush(self, run: LiveRun) -> None:
        """Append the open batch; its actions run once the store acknowledges it."""
        if not run.batch:
            actions, run.after_ack = run.after_ack, []
            for action in actions:
                action()
            return
        events, run.batch = run.batch, []
        run.in_flight = events
        run.busy = True
        try:
            future = self.store.submit(run.run_id, events, events[0].seq - 1)
        except Exception as exc:
            self._drop(run, exc)
            return
        if future.done():  # an in-memory store acknowledges at once: no round trip
            self._acked(Acked(run.run_id, future))
            return
        self._acks.watch(run.run_id, future)

    def _acked(self, msg: Acked) -> None:
        run = self._runs.get(msg.run_id)
        if run is None:
            return
        error = msg.future.exception()
        if error is not None:
            self._drop(run, error)
            return
        run.busy = False
        events, run.in_flight = run.in_flight, []
        actions, run.after_ack = run.after_ack, []
        for action in actions:
            action()
        run.pending.clear()
        self._tell_listeners(events, run.state)
        for reply in run.queries:
            answer(reply, run.state.model_copy(deep=True))
        run.queries.clear()
        if run.state.finished:
            self._finish(run)
            return
        facts, run.inbox = run.inbox, []
        for fact in facts:
            if run.state.finished:
                self._orphan(fact)
            else:
                self._apply(run, fact)
        self._advance(run)

    def _finish(self, run: LiveRun) -> None:
        del self._runs[run.run_id]
        for reply in run.waiters:
            answer(reply, run.state)  # final: nothing changes it any more
        for fact in run.inbox:
            self._orphan(fact)
        self.run_soon(self.store.release(run.run_id))

    def _drop(self, run: LiveRun, error: BaseException) -> None:
        """Stop driving a run whose append failed; its log keeps what was acknowledged.

        A failed write or sync stalls the run: everyone waiting hears `RunStalledError`
        (the errno and a one-line reason), and a resume carries the run on."""
        error = stalled(run.run_id, error) or error
        log.error("run %s stopped: %s", run.run_id, error)
        self._runs.pop(run.run_id, None)
        self._dropped[run.run_id] = error
        for name, node in run.state.nodes.items():
            if node.status == "running":
                self._release_slot(name)
        for reply in [*run.waiters, *run.queries, *run.pending]:
            refuse(reply, error)
        for fact in run.inbox:
            refuse(getattr(fact, "reply", None), error)
        for actor in self._nodes.values():
            actor.tell(CancelTasks(run.run_id))
        self.run_soon(self.store.release(run.run_id))

    def _tell_listeners(self, events: Sequence[ev.Envelope], state: RunState) -> None:
        for listener in self.listeners:
            try:
                listener(events, state)
            except Exception:
                log.exception("listener failed")

    def on_stop(self) -> None:
        self._acks.close()
        for actor in self._nodes.values():
            stop_actor(actor)
        self._nodes.clear()
        for run in list(self._runs.values()):
            for reply in run.waiters:
                refuse(reply, RunEndedError("the supervisor stopped"))
