"""The run state machine: given a run's state and one fact, the events and effects.

`RunMachine.handle(fact) -> Decision` is the decide step of a run, pure: no I/O, no
asyncio, no actors, no clock but the one it is handed. It evolves its `state` with the
events it returns (the same `evolve` as `fold`), so `fold(events so far) == state`. The
shell that drives it appends `Decision.events`, then carries out `Decision.effects`.
"""

from __future__ import annotations

from typing import Any

from agentos._exceptions import BudgetExceededError
from agentos.events import model as ev
from agentos.graphs.spec import GraphSpec
from agentos.graphs.topology import Topology
from agentos.machine._decision import Clock as Clock
from agentos.machine.children import child_inputs, child_run_id
from agentos.machine.effects import (
    Answer,
    CancelAttempts,
    Decision,
    Effect,
    Refuse,
    RetryLater,
    SlotFreed,
    StartChild,
    orphaned,
)
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
from agentos.machine.jobs import context_compiled, dispatch, model_selected, preparation
from agentos.machine.loops import loop_turn
from agentos.machine.maps import expansion, map_step
from agentos.machine.plan import interrupted, plan
from agentos.machine.slots import NodeSlots
from agentos.machine.waits import WaitRules, time_left
from agentos.routing.budget import budget_exceeded
from agentos.state.run_state import RunState

INTERRUPTED = "interrupted: the attempt did not finish before the process stopped"


class RunMachine(WaitRules):
    """The decisions of one run. `slots` is the concurrency table of every run of the
    graph (shared by the supervisor's machines); `lowest_tier` is the pool's lowest model
    tier, where a run whose budget says "downgrade" routes from then on."""

    def __init__(
        self,
        state: RunState,
        spec: GraphSpec,
        topo: Topology,
        slots: NodeSlots,
        clock: Clock,
        *,
        lowest_tier: int = 1,
        workspace_root: str | None = None,
        artifacts: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(state, topo, slots, clock)
        self.spec = spec
        self.lowest_tier = lowest_tier
        self.workspace_root = workspace_root
        self.artifacts = dict(artifacts or {})
        self.max_tier = lowest_tier if state.budget_action == "downgrade" else None

    # entry points: each returns the decision and starts a fresh one

    @classmethod
    def start(
        cls,
        fact: Start,
        spec: GraphSpec,
        topo: Topology,
        slots: NodeSlots,
        clock: Clock,
        lowest_tier: int = 1,
    ) -> tuple[RunMachine, Decision]:
        """A new run: run_created, workspace_created (if any), run_started, first nodes."""
        machine = cls(RunState(run_id=fact.run_id), spec, topo, slots, clock)
        machine.lowest_tier = lowest_tier
        parent = None
        if fact.parent is not None:
            parent = ev.ParentData(run_id=fact.parent[0], node=fact.parent[1])
        data = ev.RunCreatedData(
            graph=spec.name,
            spec=topo.spec_doc,
            inputs=fact.inputs,
            budget=fact.budget,
            parent=parent,
            graphs=fact.graphs,
        )
        machine._append(ev.RunCreated(seq=1, run_id=fact.run_id, ts=clock(), data=data))
        if fact.workspace is not None:
            machine.workspace_root = fact.workspace.root
            machine._emit(
                ev.WorkspaceCreated,
                source=fact.workspace.source,
                artifact=fact.workspace.artifact,
                files=fact.workspace.files,
            )
        machine._emit(ev.RunStarted)
        machine._advance()
        machine._effect(Answer(fact.reply, fact.run_id))
        return machine, machine._take()

    def resume(self, reply: object = None) -> Decision:
        """Carry on from the state (after a crash, or a replay's fork): the attempts that
        never finished are recorded as interrupted and started again."""
        if self.state.status == "pending":
            self._emit(ev.RunStarted)
        for name in interrupted(self.state):
            node = self.state.nodes[name]
            if node.child_run is not None and node.status == "running":
                self._attach_child(name, node.attempts, node.child_run)  # it may run on
                continue
            attempt = node.attempts + 1
            if node.status == "running":
                self._emit(ev.NodeRetrying, name, attempt - 1, delay=0.0, error=INTERRUPTED)
            self._start_node(name, attempt)
        for name, waited in list(self.state.waiting.items()):  # they wait on
            self._wait_on(name, self.state.nodes[name].attempts, time_left(waited, self.clock()))
        self._advance()
        self._effect(Answer(reply, self.run_id))
        return self._take()

    def handle(self, fact: Fact) -> Decision:
        """The events and effects that follow from `fact`."""
        if self.state.finished:
            return Decision(effects=orphaned(fact))
        if isinstance(fact, NodeDone):
            self._node_done(fact)
        elif isinstance(fact, Prepared):
            self._prepared(fact)
        elif isinstance(fact, ModelCall):
            self._model_call(fact)
        elif isinstance(fact, RetryDue):
            node = self.state.nodes.get(fact.node)
            if node is not None and node.status in ("retrying", "scheduled"):
                self._start_node(fact.node, fact.attempt)
        elif isinstance(fact, Signal):
            self._signal(fact)
        elif isinstance(fact, WaitTimeout):
            self._wait_timeout(fact)
        elif isinstance(fact, Cancel):
            self._end(ev.RunCancelled, reason=fact.reason or "cancelled")
            self._effect(Answer(fact.reply, None))
        self._advance()
        return self._take()

    def drop(self) -> list[Effect]:
        """The run stops here without an event (its append failed): give back its slots
        and stop its attempts."""
        effects: list[Effect] = []
        for name, node in self.state.nodes.items():
            if node.status == "running" and node.instances is None:
                key = self.topo.node(name).name
                if self.slots.release(key):
                    effects.append(SlotFreed(key))
        self.slots.forget(self.run_id)
        effects.append(CancelAttempts(self.run_id, tuple(self.state.nodes)))
        return effects

    # facts

    def _node_done(self, done: NodeDone) -> None:
        node = self.state.nodes.get(done.node)
        if node is None or node.status != "running" or node.attempts != done.attempt:
            return  # an attempt the run no longer waits for: its slot was given back then
        if node.instances is not None:
            return  # a map node runs no attempt of its own: its instances do
        self._release(done.node)
        for name, meta in done.artifacts.items():
            self._emit(ev.ArtifactWritten, done.node, done.attempt, name=name, **meta)
        for write in done.writes:
            self._emit(ev.FileWritten, done.node, done.attempt, **write.model_dump())
        ok, error, kind = done.ok, done.error, done.error_type
        if ok and done.next is not None:
            unknown = sorted(set(done.next) - set(self.topo.choices(done.node)))
            if unknown:
                ok, kind = False, "ValueError"
                error = f"chose {unknown}, which are not successors of {done.node!r}"
        if not ok:
            self._node_failed(done.node, done.attempt, error, kind, done.duration_ms)
            return
        turn = loop_turn(self.state, self.topo, done.node, done.next)
        loop = self.topo.loops.get(done.node)
        if turn.exhausted is not None and loop is not None:
            bound = loop.max_iterations
            self._emit(
                ev.LoopExhausted, done.node, to=loop.to, max_iterations=bound, reason=turn.exhausted
            )
        self._emit(
            ev.NodeSucceeded,
            done.node,
            done.attempt,
            output=done.output,
            next=turn.chosen,
            duration_ms=done.duration_ms,
        )
        if turn.again is not None and loop is not None:
            body = list(self.topo.loop_body(done.node))
            data = {"to": loop.to, "body": body, "max_iterations": loop.max_iterations}
            self._emit(ev.LoopIterated, done.node, None, iteration=turn.again, **data)
        elif turn.exhausted is not None and not self.topo.successors(done.node):
            self._end(ev.RunFailed, error=turn.exhausted, node=done.node)

    def _node_failed(
        self, name: str, attempt: int, error: str, kind: str, duration_ms: float = 0.0
    ) -> None:
        policy = self.topo.policy(name)
        final = attempt >= policy.retry.max_attempts
        self._emit(
            ev.NodeFailed,
            name,
            attempt,
            error=error,
            error_type=kind or "Error",
            final=final,
            duration_ms=duration_ms,
        )
        if not final:
            delay = policy.retry.delay(attempt, f"{self.spec.name}:{name}")
            self._emit(ev.NodeRetrying, name, attempt, delay=delay, error=error)
            self._effect(RetryLater(delay, RetryDue(self.run_id, name, attempt + 1)))
        elif policy.on_failure == "fail_run":
            self._end(ev.RunFailed, error=f"node {name} failed: {error}", node=name)

    def _prepared(self, fact: Prepared) -> None:
        node = self.state.nodes.get(fact.node)
        if node is None or node.status != "running" or node.attempts != fact.attempt:
            return  # the run moved on (cancelled): its slot went with it
        if node.instances is not None:
            return  # a map node prepares nothing of its own
        if fact.context is not None:
            profile = self.topo.node(fact.node).context or ""
            data = context_compiled(profile, fact.context)
            self._emit(ev.ContextCompiled, fact.node, fact.attempt, **data)
        if fact.error:  # no model fits the compiled context
            self._release(fact.node)
            self._node_failed(fact.node, fact.attempt, fact.error, fact.error_type)
            return
        if fact.model is not None:
            data = model_selected(fact.model)
            self._emit(ev.ModelSelected, fact.node, fact.attempt, **data)
        self._dispatch(fact.node, fact.attempt, fact)

    def _model_call(self, call: ModelCall) -> None:
        self._emit(ev.ModelCalled, call.node, call.attempt, **call.data)
        state = self.state
        decision = budget_exceeded(state.budget, state.budget_action, state.usage)
        if decision is not None:
            self._emit(ev.BudgetExceeded, call.node, call.attempt, **decision.model_dump())
        if decision is not None and decision.action == "fail":
            self._end(ev.RunFailed, error=f"budget exceeded: {decision.reason}")
            self._effect(Refuse(call.reply, BudgetExceededError(decision.reason)))
            return
        if decision is not None and decision.action == "downgrade":
            self.max_tier = self.lowest_tier
        self._effect(Answer(call.reply, None))

    # scheduling

    def _advance(self) -> None:
        """Start or skip what the state allows; finish the run when all is done."""
        # the plan reads settled nodes only: until one settles again it stays the same;
        # a wait node that takes a kept signal settles as it starts: plan again
        while self._replan and not self.state.finished:
            for name in self.topo.maps:
                self._fill_map(name)
            if self.state.finished:  # an instance that could not start failed the run
                break
            step = plan(self.state, self.topo)
            for name, reason in step.skip:
                self._emit(ev.NodeSkipped, name, reason=reason)
            self._replan = False  # the plan saw its own skips
            for name in step.start:
                if not self.state.finished:  # a rejection just ended it
                    self._start_node(name, 1)
            if step.finished:  # every node succeeded, failed (continuing) or was skipped
                self._emit(ev.RunSucceeded)

    def _start_node(self, name: str, attempt: int) -> None:
        policy = self.topo.policy(name)
        spec = self.topo.node(name)
        if spec.wait is not None:  # a wait node takes no slot and runs no agent
            self._emit(ev.NodeWaiting, name, attempt, signal=spec.wait, timeout=policy.timeout)
            self._wait_on(name, attempt, policy.timeout)
            return
        if name in self.topo.maps:  # the map node itself: its instances run
            self._expand(name)
            return
        if not self.slots.take(spec.name, policy.concurrency):
            # node_scheduled marks a node that is ready but waits for a slot
            if self.state.nodes[name].status == "pending":
                self._emit(ev.NodeScheduled, name, attempt)
            self.slots.wait(spec.name, RetryDue(self.run_id, name, attempt))
            return
        self._emit(ev.NodeStarted, name, attempt)
        if spec.graph is not None:
            iteration = self.state.nodes[name].iteration
            child = child_run_id(self.run_id, name, iteration, attempt)
            self._emit(ev.ChildStarted, name, attempt, child_run=child, graph=spec.graph)
            self._attach_child(name, attempt, child)
            return
        node = self.topo.node(name)
        profile = self.spec.profile_for(name) if node.context is not None else None
        if profile is None:
            self._dispatch(name, attempt, None)
            return
        job = preparation(
            self.state,
            self.topo,
            name,
            attempt,
            profile,
            artifacts=self.artifacts,
            workspace_root=self.workspace_root,
            max_tier=self.max_tier,
        )
        self._effect(job)

    def _attach_child(self, name: str, attempt: int, child: str) -> None:
        """Start the node's child run, or re-attach to it after a resume."""
        graph = self.topo.node(name).graph or ""
        inputs = child_inputs(self.state, self.topo, name)
        spec = self.state.graphs.get(graph)
        self._effect(StartChild(self.run_id, name, attempt, child, graph, inputs, spec))

    def _expand(self, name: str) -> None:
        """A ready map node expands to one instance per item (they start in `_fill_map`),
        is skipped for an empty list, or fails without one."""
        found = expansion(self.state, self.topo, name)
        if found.items is None:
            self._emit(ev.NodeFailed, name, 1, error=found.error, error_type="MapError", final=True)
            if self.topo.policy(name).on_failure == "fail_run":
                self._end(ev.RunFailed, error=f"node {name} failed: {found.error}", node=name)
        elif not found.items:
            self._emit(ev.NodeSkipped, name, reason=f"map over an empty list ({found.source})")
        else:
            self._emit(ev.MapExpanded, name, 1, source=found.source, items=found.items)

    def _fill_map(self, name: str) -> None:
        """Start the map's next instances within its `max_parallel`; join them once all
        have settled."""
        step = map_step(self.state, self.topo, name)
        for inst in step.start:
            if not self.state.finished:
                self._start_node(inst, 1)
        if step.joined is not None:
            attempt = self.state.nodes[name].attempts
            self._emit(ev.NodeSucceeded, name, attempt, output=step.joined)

    def _dispatch(self, name: str, attempt: int, prepared: Prepared | None) -> None:
        job = dispatch(self.state, self.topo, name, attempt, self.workspace_root, prepared)
        self._effect(job)
