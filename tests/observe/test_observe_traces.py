"""Spans of real runs, exported to the SDK's in-memory exporter: structure, names,
attributes, status and times, and a resumed run continuing its trace."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from agentos._progress import step_name
from agentos.actors import Supervisor
from agentos.events import model as ev
from agentos.eventstore import EventStore, InMemoryEventStore, JsonlEventStore
from agentos.observe.lifecycle import LifecycleLog
from agentos.observe.traces import RunTracer, nanos, run_span_ids
from agentos.routing import ProviderPool

PROFILE = {
    "budget": 400,
    "reserve": 64,
    "sources": [{"kind": "instructions", "text": "be brief"}, {"kind": "inputs"}],
}
POOL = ProviderPool.model_validate(
    {
        "providers": [
            {
                "name": "simco",
                "latency_scale": 0.0,
                "models": [
                    {
                        "name": "sim-large",
                        "context_window": 8192,
                        "price_in_per_1k": 1.0,
                        "price_out_per_1k": 2.0,
                        "tier": 3,
                    }
                ],
            }
        ]
    }
)
LOOPED = {
    "name": "traced",
    "context_profiles": {"p": PROFILE},
    "nodes": [
        {"name": "plan", "agent": "observe_agents:caller", "context": "p"},
        {"name": "writer", "agent": "observe_agents:caller", "context": "p", "after": ["plan"]},
        {
            "name": "reviewer",
            "agent": "observe_agents:reviewer",
            "after": ["writer"],
            "loop": {"to": "writer", "max_iterations": 2},
        },
        {
            "name": "done",
            "agent": "observe_agents:flaky",
            "after": ["reviewer"],
            "policy": {"retry": {"max_attempts": 2, "initial_interval": 0}},
        },
    ],
}
FAILING = {"name": "failing", "nodes": [{"name": "ask", "agent": "observe_agents:boom"}]}
WAITING = {
    "name": "approved",
    "nodes": [
        {"name": "a", "agent": "observe_agents:echo"},
        {"name": "approval", "wait": "go", "after": ["a"]},
        {"name": "b", "agent": "observe_agents:echo", "after": ["approval"]},
    ],
}


def _ended(events: list[ev.Envelope], step: str, attempt: int) -> ev.Envelope:
    kinds = ("node_succeeded", "node_failed")
    return next(
        e for e in events if e.type in kinds and (step_name(e), e.attempt) == (step, attempt)
    )


def _begun(events: list[ev.Envelope], step: str, attempt: int) -> ev.Envelope:
    kinds = ("node_started", "node_waiting")
    return next(
        e for e in events if e.type in kinds and (step_name(e), e.attempt) == (step, attempt)
    )


async def _run(graph: dict[str, Any], tracer: RunTracer) -> tuple[str, list[ev.Envelope]]:
    store = InMemoryEventStore()
    sup = Supervisor.start(graph, store, pool=POOL, listeners=[tracer.listen])
    try:
        state = await sup.run({"topic": "tracing"}, timeout=20)
        return state.run_id, list(await store.read_all(state.run_id))
    finally:
        await sup.stop()


async def test_a_run_is_a_trace_of_attempts_and_model_calls(
    tracer: RunTracer, exported: InMemorySpanExporter
) -> None:
    run_id, events = await _run(LOOPED, tracer)
    assert events[-1].type == "run_succeeded"
    spans = exported.get_finished_spans()
    trace_id, span_id = run_span_ids(run_id)
    assert {s.context.trace_id for s in spans} == {trace_id}

    (run,) = [s for s in spans if s.parent is None]
    assert run.name == "run traced"
    assert run.context.span_id == span_id
    assert run.attributes is not None
    assert run.attributes["agentos.run_id"] == run_id
    assert run.attributes["agentos.graph"] == "traced"
    assert run.attributes["agentos.status"] == "succeeded"
    assert run.status.status_code is StatusCode.UNSET
    assert (run.start_time, run.end_time) == (nanos(events[0].ts), nanos(events[-1].ts))

    attempts = [s for s in spans if s.parent is not None and s.parent.span_id == span_id]
    names = ["plan", "writer", "reviewer", "writer#2", "reviewer#2", "done", "done"]
    assert sorted(s.name for s in attempts) == sorted(names)
    for span in attempts:
        attrs = span.attributes or {}
        attempt = int(attrs["agentos.attempt"])  # type: ignore[arg-type]
        assert attrs["agentos.run_id"] == run_id
        assert attrs["agentos.node"] == span.name.split("#")[0]
        assert span.start_time == nanos(_begun(events, span.name, attempt).ts)
        assert span.end_time == nanos(_ended(events, span.name, attempt).ts)
    assert {s.attributes["agentos.iteration"] for s in attempts if "#2" in s.name} == {2}  # type: ignore[index]

    first, second = sorted(
        (s for s in attempts if s.name == "done"),
        key=lambda s: s.attributes["agentos.attempt"],  # type: ignore[index]
    )
    failed = _ended(events, "done", 1)
    assert isinstance(failed, ev.NodeFailed)
    assert first.status.status_code is StatusCode.ERROR
    assert failed.data.error.startswith(f"{failed.data.error_type}: ")  # the type once
    assert first.status.description == failed.data.error
    assert first.attributes["error.type"] == failed.data.error_type  # type: ignore[index]
    assert first.attributes["agentos.final"] is False  # type: ignore[index]
    assert second.status.status_code is StatusCode.UNSET
    assert second.attributes["agentos.outcome"] == "succeeded"  # type: ignore[index]

    calls = [e for e in events if isinstance(e, ev.ModelCalled)]
    attempt_of = {s.context.span_id: s for s in attempts}
    models = [s for s in spans if s.parent is not None and s.parent.span_id in attempt_of]
    assert len(calls) == len(models) == 3  # plan, writer, writer#2
    for call, span in zip(calls, sorted(models, key=lambda s: s.end_time or 0), strict=True):
        assert span.parent is not None
        assert attempt_of[span.parent.span_id].name == step_name(call)
        assert span.kind is SpanKind.CLIENT
        assert span.name == f"chat {call.data.model}"
        assert span.end_time == nanos(call.ts)
        attrs = span.attributes or {}
        assert attrs["gen_ai.request.model"] == call.data.model == "sim-large"
        assert attrs["gen_ai.provider.name"] == attrs["gen_ai.system"] == "simco"
        assert attrs["gen_ai.usage.input_tokens"] == call.data.tokens_in > 0
        assert attrs["gen_ai.usage.output_tokens"] == call.data.tokens_out > 0
        assert attrs["agentos.run_id"] == run_id
        assert attrs["agentos.node"] == call.node


async def test_a_failed_run_and_attempt_carry_error_status(
    tracer: RunTracer, exported: InMemorySpanExporter
) -> None:
    run_id, events = await _run(FAILING, tracer)
    end = events[-1]
    assert isinstance(end, ev.RunFailed)
    spans = {s.name: s for s in exported.get_finished_spans()}
    assert set(spans) == {"run failing", "ask"}
    run, ask = spans["run failing"], spans["ask"]
    assert run.status.status_code is StatusCode.ERROR
    assert run.status.description == end.data.error
    assert run.attributes["agentos.status"] == "failed"  # type: ignore[index]
    assert ask.attributes["agentos.run_id"] == run_id  # type: ignore[index]
    assert ask.status.status_code is StatusCode.ERROR
    assert ask.attributes["error.type"] == "KeyError"  # type: ignore[index]
    assert "questions" in (ask.status.description or "")
    assert ask.parent is not None and ask.parent.span_id == run.context.span_id


async def _until_waiting(sup: Supervisor, run_id: str) -> None:
    deadline = time.monotonic() + 10
    while (await sup.state(run_id)).status != "waiting":
        assert time.monotonic() < deadline, "the run never waited for its signal"
        await asyncio.sleep(0.01)


def _tracer() -> tuple[RunTracer, InMemorySpanExporter]:
    exported = InMemorySpanExporter()
    return RunTracer([SimpleSpanProcessor(exported)]), exported


async def test_a_resumed_run_continues_its_trace(tmp_path: Path) -> None:
    before, exported_before = _tracer()
    store: EventStore = JsonlEventStore(tmp_path)
    sup = Supervisor.start(WAITING, store, listeners=[before.listen])
    run_id = await sup.start_run({"topic": "tracing"})
    await _until_waiting(sup, run_id)
    await sup.stop()  # the process "ends" while the run waits
    await store.close()
    before.close()
    (a,) = exported_before.get_finished_spans()  # the run's own span never ended here
    assert a.name == "a"

    after, exported_after = _tracer()
    store = JsonlEventStore(tmp_path)
    sup = Supervisor.start(WAITING, store, listeners=[after.listen])
    try:
        await sup.resume(run_id)
        await sup.signal(run_id, "go", {"approved": True})
        state = await sup.wait(run_id, timeout=10)
    finally:
        await sup.stop()
        await store.close()
        after.close()
    assert state.status == "succeeded"
    events = list(await JsonlEventStore(tmp_path).read_all(run_id))
    spans: dict[str, ReadableSpan] = {s.name: s for s in exported_after.get_finished_spans()}
    assert set(spans) == {"run approved", "approval", "b"}
    run = spans["run approved"]
    trace_id, span_id = run_span_ids(run_id)
    assert (run.context.trace_id, run.context.span_id) == (trace_id, span_id)
    assert run.start_time == nanos(events[0].ts)  # run_created, logged by the first process
    # the span exported before the restart hangs under the run span made after it
    assert a.context.trace_id == trace_id
    assert a.parent is not None and a.parent.span_id == span_id
    approval = spans["approval"]  # began waiting before the restart
    assert approval.start_time == nanos(_begun(events, "approval", 1).ts)
    assert approval.end_time == nanos(_ended(events, "approval", 1).ts)
    assert all(s.parent is not None and s.parent.span_id == span_id for s in (approval, spans["b"]))


async def test_a_replay_is_its_own_trace_linked_to_its_source(
    tracer: RunTracer, exported: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="agentos.lifecycle")
    graph = {"name": "pair", "nodes": [{"name": "a", "agent": "observe_agents:echo"}]}
    graph["nodes"].append({"name": "b", "agent": "observe_agents:echo", "after": ["a"]})
    lifecycle = LifecycleLog()
    sup = Supervisor.start(graph, InMemoryEventStore(), listeners=[tracer.listen, lifecycle.listen])
    try:
        source = (await sup.run({"topic": "tracing"}, timeout=10)).run_id
        exported.clear()
        replay = await sup.replay(source, "b")
        assert (await sup.wait(replay, timeout=10)).status == "succeeded"
    finally:
        await sup.stop()
    spans = {s.name: s for s in exported.get_finished_spans()}
    assert set(spans) == {"run pair", "b"}  # `a` was copied from the source, not run
    run = spans["run pair"]
    assert run.context.trace_id == run_span_ids(replay)[0] != run_span_ids(source)[0]
    assert run.attributes["agentos.replayed_from"] == source  # type: ignore[index]
    (link,) = run.links
    assert (link.context.trace_id, link.context.span_id) == run_span_ids(source)
    created = [r.fields for r in caplog.records if r.fields["event"] == "run_created"]  # type: ignore[attr-defined]
    assert created[-1] == {
        "event": "run_created",
        "run_id": replay,
        "graph": "pair",
        "replayed_from": source,
        "from_step": "b",
    }
