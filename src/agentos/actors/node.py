"""Node actors: each graph node is an actor that runs the attempts the supervisor sends it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import hashlib
import inspect
import itertools
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pykka

from agentos._exceptions import AgentExitError as AgentExitError
from agentos.actors._loop_actor import LoopActor
from agentos.actors._recorded import Recordings, choose, digests, replayed
from agentos.actors.messages import CancelTasks
from agentos.actors.node_context import Next, NodeContext
from agentos.eventstore.base import EventStore
from agentos.machine.effects import Dispatch
from agentos.machine.facts import ModelCall, NodeDone
from agentos.routing.messages import Chat
from agentos.routing.providers import CompletionResponse
from agentos.routing.recorded import answer_doc, answer_name, is_large, request_digest
from agentos.routing.router import AllProvidersFailedError, Attempt, Router
from agentos.routing.streaming import Deltas
from agentos.tools.workspace import FileWrite, Workspace

Agent = Callable[[NodeContext], Any]

log = logging.getLogger(__name__)


class NodeActor(LoopActor):
    """Runs attempts of one node as tasks on its loop and reports their outcome."""

    def __init__(
        self,
        name: str,
        agent: Agent,
        supervisor: pykka.ActorRef[Any],
        loop: asyncio.AbstractEventLoop,
        executor: concurrent.futures.Executor,
        router: Router,
        store: EventStore,
    ) -> None:
        super().__init__(loop)
        self.store = store
        self.name = name
        self.agent = agent
        self.supervisor = supervisor
        self.executor = executor
        self.router = router
        self._recordings = Recordings(store, name)
        self._async_agent = inspect.iscoroutinefunction(agent)
        # by (run, node, attempt): one actor runs the attempts of every instance of a map
        self._tasks: dict[tuple[str, str, int], asyncio.Task[None]] = {}
        self._flags: dict[tuple[str, str, int], threading.Event] = {}  # each ctx.cancelled

    def on_receive(self, message: Any) -> None:
        if isinstance(message, Dispatch):
            self._spawn(message)
        elif isinstance(message, CancelTasks):
            self._cancel(message.run_id)

    def on_stop(self) -> None:
        if self.loop.is_closed():
            return  # its tasks went with it
        for key in list(self._tasks):
            self._stop_attempt(key)

    def _spawn(self, job: Dispatch) -> None:
        """Run the attempt as a task, kept until it ends (for cancellation)."""
        key = (job.run_id, job.node, job.attempt)
        self._flags[key] = flag = threading.Event()
        self._tasks[key] = self.loop.create_task(self._execute(job, flag))

    def _cancel(self, run_id: str) -> None:
        for key in [key for key in self._tasks if key[0] == run_id]:
            self._stop_attempt(key)

    def _stop_attempt(self, key: tuple[str, str, int]) -> None:
        """Cancel an attempt: its task at once, and raise the flag a thread agent polls."""
        self._flags.pop(key).set()
        self._tasks.pop(key).cancel()

    async def _execute(self, job: Dispatch, flag: threading.Event) -> None:
        try:
            await self._attempt(job, flag)
        finally:
            key = (job.run_id, job.node, job.attempt)
            if self._tasks.get(key) is asyncio.current_task():
                del self._tasks[key], self._flags[key]

    async def _attempt(self, job: Dispatch, flag: threading.Event) -> None:
        writes: list[FileWrite] = []
        started = time.perf_counter()
        done = NodeDone(run_id=job.run_id, node=job.node, attempt=job.attempt, ok=True)
        limit = asyncio.timeout(job.timeout or None)  # the policy's, for the whole call
        try:
            ctx = self._context(job, writes, flag)
            if job.context is not None:
                name = f"context-{job.context.manifest.context_sha256[:16]}"
                ctx.artifacts[name] = {"text": job.context.text}
            result = await self._call(ctx, limit)
            done.output, done.next = _normalize(result)
            if ctx.artifacts:
                done.artifacts = await self._store_artifacts(job.run_id, ctx.artifacts)
        except (asyncio.CancelledError, GeneratorExit):
            raise  # the run was cancelled or the supervisor is stopping: nothing to report
        except TimeoutError as exc:
            done.ok, done.error_type = False, "TimeoutError"
            if limit.expired():
                flag.set()  # the attempt is over: a thread agent may stop
                done.error = f"timed out after {job.timeout}s (the node's policy timeout)"
            else:  # the agent's own TimeoutError is its error like any other
                done.error = error_text(exc)
        except BaseException as exc:  # an agent's failure (even sys.exit) becomes node_failed
            exc = exc.raised if isinstance(exc, AgentExitError) else exc
            done.ok, done.error_type = False, type(exc).__name__
            done.error = error_text(exc)
        done.duration_ms = (time.perf_counter() - started) * 1000
        done.writes = writes
        self.supervisor.tell(done)

    async def _store_artifacts(
        self, run_id: str, docs: dict[str, Any]
    ) -> dict[str, dict[str, Any]]:
        """Store the attempt's artifacts; their events follow once they are on disk."""
        stored = {}
        for name, doc in docs.items():
            blob = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
            await self.store.put_artifact(run_id, name, doc)
            stored[name] = {"sha256": hashlib.sha256(blob).hexdigest(), "size": len(blob)}
        return stored

    async def _call(self, ctx: NodeContext, limit: asyncio.Timeout) -> Any:
        if self._async_agent:
            pending: Any = _contained(self.agent(ctx))
        else:
            # blocking agents run on a bounded pool; a cancelled or timed-out attempt's
            # thread finishes on its own, and its result is ignored (see `_late`)
            future = self.executor.submit(self.agent, ctx)
            future.add_done_callback(functools.partial(_late, ctx))
            pending = _contained(asyncio.wrap_future(future, loop=self.loop))
        async with limit:
            result = await pending
            if inspect.isawaitable(result):
                result = await _contained(result)
        return result

    def _context(
        self, job: Dispatch, writes: list[FileWrite], flag: threading.Event
    ) -> NodeContext:
        workspace = None
        if job.workspace_root is not None:
            workspace = Workspace(Path(job.workspace_root), on_write=writes.append)
        deadline = None if job.timeout is None else self.loop.time() + job.timeout
        calls = itertools.count()  # the index of each model call in the attempt

        def complete(
            prompt: str, max_tokens: int, chat: Chat, stream: bool | None
        ) -> Awaitable[CompletionResponse]:
            streamed = job.stream if stream is None else stream
            return self._complete(job, prompt, max_tokens, deadline, chat, next(calls), streamed)

        return NodeContext(
            run_id=job.run_id,
            node=job.node,
            attempt=job.attempt,
            inputs=job.inputs,
            outputs=job.outputs,
            upstream=job.upstream,
            params=job.params,
            context=job.context,
            model=job.model,
            workspace=workspace,
            item=job.item,
            index=job.index,
            _complete=complete if job.model is not None else None,
            _cancel=flag,
        )

    async def _complete(
        self,
        job: Dispatch,
        prompt: str,
        max_tokens: int,
        deadline: float | None = None,
        chat: Chat | None = None,
        call: int = 0,
        stream: bool = False,
    ) -> CompletionResponse:
        """Answer from the log when it recorded an answer to this very request (same node,
        loop pass, call index and request digest), else call the node's model; either way
        the call is recorded before this returns. A wait for a slot ends before `deadline`."""
        assert job.model is not None
        book = await self._recordings.book(job.run_id, job.node, job.attempt, call == 0)
        key = (job.node, book.iteration(job.node, job.attempt), call)
        selection = choose(self.router, job.model, book, key)
        digest_of = digests(selection, prompt, chat, max_tokens)
        found = book.find(key, digest_of.get)
        doc = None if found is None else await self._recordings.answer(book, found)
        if found is not None and doc is not None:
            response = found.response(doc)
            await self._record(job, replayed(found, response, call))
            return response
        started = time.perf_counter()
        max_wait = None
        if deadline is not None:
            # leave time to record a saturated failure before the node's own timeout
            left = deadline - self.loop.time()
            max_wait = max(0.0, left - min(1.0, left / 10))
        deltas = Deltas(job.run_id, job.node, job.attempt, call) if stream else None
        try:
            response, attempts = await self.router.call(
                prompt, selection, max_tokens, job.seed, max_wait, chat, deltas
            )
        except AllProvidersFailedError as exc:
            chosen = selection.chosen
            data = {
                "provider": chosen.provider,
                "model": chosen.model,
                "tokens_in": 0,
                "tokens_out": 0,
                "cost": 0.0,
                "latency_ms": (time.perf_counter() - started) * 1000,
                "ok": False,
                "error": str(exc),
                "fallbacks": [a.model_dump(mode="json") for a in exc.attempts],
                **self._long_wait(exc.attempts),
                "request_sha256": digest_of[(chosen.provider, chosen.model)],
                "call": call,
            }
            await self._record(job, data)
            raise
        answer = answer_doc(response)
        answered = (response.provider, response.model)  # a provider may rename its model
        data = {
            "provider": response.provider,
            "model": response.model,
            "tokens_in": response.tokens_in,
            "tokens_out": response.tokens_out,
            "cost": response.cost,
            "latency_ms": response.latency_ms,
            "fallbacks": [a.model_dump(mode="json") for a in attempts if not a.ok],
            **self._long_wait(attempts),
            "request_sha256": digest_of.get(answered)
            or request_digest(*answered, prompt, chat, max_tokens),
            "call": call,
            "response": answer,
        }
        if is_large(answer):
            data["response_artifact"] = name = answer_name(answer)
            del data["response"]
            await self.store.put_artifact(job.run_id, name, answer)
        await self._record(job, data)
        return response

    def _long_wait(self, attempts: list[Attempt]) -> dict[str, float]:
        """The call's wait for free slots, when it is long enough to record."""
        waited = sum(a.waited_ms for a in attempts)
        return {"waited_ms": waited} if waited >= self.router.long_wait * 1000 else {}

    async def _record(self, job: Dispatch, data: dict[str, Any]) -> None:
        reply = asyncio.get_running_loop().create_future()  # the supervisor's loop too
        self.supervisor.tell(ModelCall(job.run_id, job.node, job.attempt, data, reply))
        await reply


def error_text(exc: BaseException) -> str:
    """An agent's error as Python prints it last: `KeyError: 'questions'`."""
    message = str(exc)
    name = type(exc).__name__
    return f"{name}: {message}" if message else name


def _late(ctx: NodeContext, future: concurrent.futures.Future[Any]) -> None:
    """Log a thread agent's result that came after its attempt was cancelled or timed
    out: nobody waits for it, and nothing is appended (the run's log may have ended)."""
    if not ctx.cancelled or future.cancelled():
        return
    outcome = "ok" if future.exception() is None else "error"
    log.warning(
        "late result ignored: run %s node %s attempt %d returned (%s) after its attempt ended",
        ctx.run_id,
        ctx.node,
        ctx.attempt,
        outcome,
        extra={
            "late_result": "ignored",
            "run_id": ctx.run_id,
            "node": ctx.node,
            "attempt": ctx.attempt,
            "outcome": outcome,
        },
    )


async def _contained(pending: Awaitable[Any]) -> Any:
    """Await agent code; a BaseException it raises comes out as AgentExitError.

    asyncio re-raises SystemExit and KeyboardInterrupt out of the task that saw them,
    which stops the event loop and every run on it (`wait_for` runs its own task).
    """
    try:
        return await pending
    except (asyncio.CancelledError, GeneratorExit, Exception):
        raise
    except BaseException as exc:
        raise AgentExitError(exc) from exc


def _normalize(result: Any) -> tuple[dict[str, Any], list[str] | None]:
    """An agent's return value as (JSON output, chosen successors)."""
    chosen: list[str] | None = None
    if isinstance(result, Next):
        chosen, result = list(result.nodes), result.output
    if result is None:
        output: dict[str, Any] = {}
    elif isinstance(result, dict):
        output = result
    else:
        output = {"value": result}
    try:
        output = orjson.loads(orjson.dumps(output, option=orjson.OPT_NON_STR_KEYS))
    except TypeError as exc:
        raise TypeError(f"agent output is not JSON-serializable: {exc}") from None
    return output, chosen
