"""A member: a process that drives runs of a shared PostgreSQL store, up to its capacity.

It claims queued runs (`FOR UPDATE SKIP LOCKED`, woken by the queue's NOTIFY) and takes
over orphans (runs not ended whose owner is gone): a takeover is a resume, whose claim
bumps the run's epoch so the old owner can never append again. It keeps a heartbeat,
and sweeps members that are dead or past their TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from agentos._exceptions import AgentOSError
from agentos.actors.children import GraphResolver, with_recorded
from agentos.actors.supervisor import Supervisor
from agentos.actors.supervisor_actor import Listener
from agentos.agents.registry import AgentRegistry
from agentos.cluster.permits import SharedSlots
from agentos.eventstore.pg_cluster import QUEUE_KEY, Membership, QueuedRun
from agentos.eventstore.pg_permits import drop_own
from agentos.eventstore.postgres import PostgresEventStore
from agentos.graphs.spec import GraphSpec
from agentos.routing.router import Router
from agentos.state.load import load_state
from agentos.state.run_state import RunState

log = logging.getLogger(__name__)

#: seconds between looks for orphans and queued runs when no notification came
POLL = 0.2
#: seconds between counts of the queue (for the `agentos_runs_queued` gauge)
QUEUE_COUNT_EVERY = 1.0


class Member:
    """Drives at most `capacity` runs of `store` at once; `run` until `stop`."""

    def __init__(
        self,
        store: PostgresEventStore,
        agents: AgentRegistry,
        *,
        capacity: int = 100,
        ttl: float = 10.0,
        router: Router | Callable[[], Router] | None = None,
        graphs: GraphResolver | None = None,
        listeners: Sequence[Listener] = (),
        on_taken_over: Callable[[RunState], None] | None = None,
        on_queued: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.agents = agents
        self.membership = Membership(store, capacity, ttl)
        self.router = router
        self.graphs = graphs or (lambda name: None)
        self.listeners = list(listeners)
        self.on_taken_over = on_taken_over  # told of each run taken over (lifecycle logs)
        self.on_queued = on_queued  # told the queue's length every second (a metric)
        self.driving: dict[str, asyncio.Task[None]] = {}
        self._supervisors: dict[str, Supervisor] = {}
        self._unrunnable: set[str] = set()  # orphans whose log this member cannot run
        self._stopping = asyncio.Event()
        self._changed = asyncio.Event()

    @property
    def member_id(self) -> int:
        return self.membership.member_id

    @property
    def capacity(self) -> int:
        return self.membership.capacity

    async def run(self) -> None:
        """Join, then claim and drive runs until `stop`; leave."""
        await self.membership.join()
        await drop_own(self.store)  # permits a past life under this owner id left
        beats = asyncio.gather(self._beat(), self._count_queue())
        try:
            with self.store.wakeups(QUEUE_KEY) as queued:
                while not self._stopping.is_set():
                    try:
                        await self._fill()
                    except Exception as exc:  # the database is away (a restart): try again
                        log.warning("member %s: cannot claim runs: %s", self.member_id, exc)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(POLL):
                            waits = (queued.wait(), self._changed.wait(), self._stopping.wait())
                            await _first(waits)
                    queued.clear()
                    self._changed.clear()
        finally:
            beats.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beats
            await self._shutdown()

    def stop(self) -> None:
        """Stop claiming; `run` stops the supervisors (their runs stay in their logs,
        released: other members take them over) and returns."""
        self._stopping.set()

    async def _fill(self) -> None:
        """Claim queued runs, then orphans, while there is room."""
        claimed = await self.membership.claim_queued(self._room())
        await asyncio.gather(*(self._start(queued) for queued in claimed))
        orphans = await self.membership.orphans(self._room() + len(self._unrunnable))
        skip = self.driving.keys() | self._unrunnable
        # a run this process still writes (a supervisor of its own drives it) is not one
        chosen = [r for r in orphans if r not in skip and not self.store.holds(r)]
        chosen = chosen[: self._room()]
        await asyncio.gather(*(self._take_over(r) for r in chosen))

    def _room(self) -> int:
        return max(0, self.capacity - len(self.driving))

    async def _start(self, queued: QueuedRun) -> None:
        try:
            sup = self._supervisor(GraphSpec.model_validate(queued.spec), {})
            await sup.start_run(queued.inputs, run_id=queued.run_id, budget=queued.budget)
        except Exception as exc:  # e.g. started meanwhile (an orphan if it did not end)
            log.warning("queued run %s not started: %s", queued.run_id, exc)
            await self.membership.dequeue(queued.run_id)
            return
        await self.membership.dequeue(queued.run_id)
        self._watch(sup, queued.run_id)

    async def _take_over(self, run_id: str) -> None:
        """Resume an orphan: the claim inside `resume` fails if another member won it."""
        try:
            state = await load_state(self.store, run_id)
            sup = self._supervisor(GraphSpec.model_validate(state.spec), state.graphs)
            await sup.resume(run_id)
        except AgentOSError as exc:  # another member won it, or it ended meanwhile
            log.info("run %s not taken over: %s", run_id, exc)
            return
        except Exception:  # a log this version cannot run: never the member's end
            log.exception("run %s cannot be taken over: left alone", run_id)
            self._unrunnable.add(run_id)
            return
        log.info("run %s taken over by member %s", run_id, self.membership.member_id)
        if self.on_taken_over is not None:
            self.on_taken_over(state)
        self._watch(sup, run_id)

    def _watch(self, sup: Supervisor, run_id: str) -> None:
        self.driving[run_id] = asyncio.create_task(self._until_end(sup, run_id))

    async def _until_end(self, sup: Supervisor, run_id: str) -> None:
        try:
            await sup.wait(run_id)
        except Exception as exc:  # lost to a takeover, or its append failed
            log.warning("run %s stopped here: %s", run_id, exc)
        finally:
            self.driving.pop(run_id, None)
            self._changed.set()

    def _supervisor(self, spec: GraphSpec, recorded: Mapping[str, Any]) -> Supervisor:
        """One supervisor per graph spec (the spec a run recorded, as it recorded it)."""
        router = self.router() if callable(self.router) else self.router
        doc = orjson.dumps(spec.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
        key = f"{hashlib.sha256(doc).hexdigest()}-{id(router)}"  # a new pool: new runs use it
        sup = self._supervisors.get(key)
        if sup is None:
            sup = Supervisor.start(
                spec,
                self.store,
                agents=self.agents,
                router=router,
                listeners=self.listeners,
                graphs=with_recorded(self.graphs, recorded),
                slots=self._slots,
            )
            self._supervisors[key] = sup
        return sup

    def _slots(self, spec: GraphSpec) -> SharedSlots:
        """A graph's concurrency table: its limits hold across every member."""
        return SharedSlots(self.store, spec.name)

    async def _beat(self) -> None:
        """Heartbeat, and sweep dead members, a few times per TTL."""
        every = self.membership.ttl / 3
        while True:
            await asyncio.sleep(every)
            try:
                if not await self.membership.heartbeat():
                    log.error("member %s was swept out: stopping", self.membership.member_id)
                    self.stop()
                    return
                for member in await self.membership.sweep():
                    log.info("member %s swept out (dead or past its TTL)", member)
                    self._changed.set()
            except Exception:
                log.warning("heartbeat failed", exc_info=True)

    async def _count_queue(self) -> None:
        while self.on_queued is not None:
            try:
                self.on_queued(await self.membership.queued())
            except Exception:  # the database is away: the gauge keeps its last value
                log.debug("cannot count the queue", exc_info=True)
            await asyncio.sleep(QUEUE_COUNT_EVERY)

    async def _shutdown(self) -> None:
        sups, self._supervisors = list(self._supervisors.values()), {}
        for sup in sups:
            with contextlib.suppress(Exception):
                await sup.stop()
        for task in list(self.driving.values()):
            task.cancel()
        await asyncio.gather(*self.driving.values(), return_exceptions=True)
        with contextlib.suppress(Exception):
            await drop_own(self.store)  # members waiting for these ask again at once
        with contextlib.suppress(Exception):
            await self.membership.leave()


async def _first(waits: tuple[Any, ...]) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
