"""OpenTelemetry spans of runs, built from their acknowledged events (the `otel` extra).

A run is one trace: a span per run, a child per node attempt (named as its step:
`researcher[2]`, `writer#2`), a grandchild per model call with the GenAI semantic
conventions. Spans start and end at their events' timestamps; errors are span status.

The trace id and the run span's id are derived from the run id (SHA-256), never
recorded: a run resumed here or by another process continues the same trace, and the
spans exported before a crash keep their parent. A span is exported when it ends, so a
run's own span leaves when the run finishes; an attempt cut short by a crash has no
span, only an `attempt interrupted` event on the run span.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.trace import Link, Span, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.util.types import AttributeValue

from agentos._progress import step_name
from agentos.events import model as ev
from agentos.machine.run_machine import INTERRUPTED
from agentos.observe._events import bounded, fresh
from agentos.state.run_state import RunState

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ENDING = (ev.NodeSucceeded, ev.NodeFailed, ev.NodeCancelled)
Key = tuple[str, int, int]  # node, iteration, attempt


def run_span_ids(run_id: str) -> tuple[int, int]:
    """The trace id and run span id of `run_id`: the first 24 bytes of a SHA-256."""
    digest = hashlib.sha256(f"agentos.run:{run_id}".encode()).digest()
    return int.from_bytes(digest[:16], "big") or 1, int.from_bytes(digest[16:24], "big") or 1


def nanos(ts: datetime) -> int:
    """An event's timestamp in nanoseconds since the epoch (naive means UTC)."""
    aware = ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
    return (aware - EPOCH) // timedelta(microseconds=1) * 1000


class _PinnedIds(IdGenerator):
    """Random ids, save the next root span's: pinned to its run's."""

    def __init__(self) -> None:
        self._random = RandomIdGenerator()
        self.pin: tuple[int, int] | None = None

    def generate_trace_id(self) -> int:
        return self.pin[0] if self.pin is not None else self._random.generate_trace_id()

    def generate_span_id(self) -> int:
        if self.pin is None:
            return self._random.generate_span_id()
        span_id, self.pin = self.pin[1], None
        return span_id

    def is_trace_id_random(self) -> bool:
        return self.pin is None


@dataclass
class _Traced:
    """The open spans of one run."""

    span: Span
    attempts: dict[Key, Span] = field(default_factory=dict)


class RunTracer:
    """A supervisor listener turning each acknowledged batch into spans."""

    def __init__(self, processors: Sequence[SpanProcessor], resource: Resource | None = None):
        self._ids = _PinnedIds()
        self.provider = TracerProvider(resource=resource or service(), id_generator=self._ids)
        for processor in processors:
            self.provider.add_span_processor(processor)
        self._tracer = self.provider.get_tracer("agentos")
        self._runs: dict[str, _Traced] = {}
        self._lock = threading.Lock()  # one tracer may hear supervisors on several loops

    def listen(self, events: Sequence[ev.Envelope], state: RunState) -> None:
        """Open, annotate and end the spans of one acknowledged batch of a run."""
        batch = fresh(events)
        if not batch:
            return
        with self._lock:
            traced = self._runs.get(state.run_id)
            if traced is None:
                traced = self._runs[state.run_id] = self._open_run(batch[0], state)
            for event in batch:
                self._apply(traced, event, state)
            if state.finished:
                del self._runs[state.run_id]

    def close(self) -> None:
        """Export the ended spans and stop; open ones are dropped (a resume makes them)."""
        self.provider.shutdown()

    def _open_run(self, first: ev.Envelope, state: RunState) -> _Traced:
        attrs: dict[str, AttributeValue] = {"agentos.run_id": state.run_id}
        attrs["agentos.graph"] = state.graph
        links = []
        start = state.created_at or first.ts
        if isinstance(first, ev.RunCreated | ev.ReplayedFrom):
            start = first.ts
        if state.replayed_from is not None:
            source = state.replayed_from.source_run
            attrs["agentos.replayed_from"] = source
            attrs["agentos.from_step"] = state.replayed_from.from_step
            links.append(Link(_remote(source), {"agentos.run_id": source}))
        self._ids.pin = run_span_ids(state.run_id)
        try:
            span = self._tracer.start_span(
                f"run {state.graph}", attributes=attrs, links=links, start_time=nanos(start)
            )
        finally:
            self._ids.pin = None
        return _Traced(span)

    def _apply(self, traced: _Traced, event: ev.Envelope, state: RunState) -> None:
        if isinstance(event, ev.NodeStarted | ev.NodeWaiting):
            key = _key(event)
            if key not in traced.attempts:
                traced.attempts[key] = self._child(traced.span, event, nanos(event.ts))
        elif isinstance(event, ENDING):
            self._end_attempt(traced, event, state)
        elif isinstance(event, ev.ModelCalled):
            self._model_call(traced, event)
        elif isinstance(event, ev.NodeRetrying) and event.data.error == INTERRUPTED:
            attrs: dict[str, AttributeValue] = {"agentos.node": step_name(event)}
            attrs["agentos.attempt"] = event.attempt or 1
            traced.span.add_event("attempt interrupted", attrs, nanos(event.ts))
        elif isinstance(event, ev.BudgetExceeded):
            budget: dict[str, AttributeValue] = {"agentos.action": event.data.action}
            budget["agentos.reason"] = event.data.reason
            traced.span.add_event("budget exceeded", budget, nanos(event.ts))
        elif event.type in ev.TERMINAL_TYPES:
            self._end_run(traced, event)

    def _child(self, parent: Span, event: ev.Envelope, start: int) -> Span:
        context = trace.set_span_in_context(parent)
        attrs: dict[str, AttributeValue] = {
            "agentos.run_id": event.run_id,
            "agentos.node": event.node or "",
            "agentos.attempt": event.attempt or 1,
            "agentos.iteration": event.iteration or 1,
        }
        return self._tracer.start_span(
            step_name(event), context, attributes=attrs, start_time=start
        )

    def _end_attempt(self, traced: _Traced, event: ev.Envelope, state: RunState) -> None:
        span = traced.attempts.pop(_key(event), None)
        if span is None:  # started before this process heard of the run (a waiting node)
            node = state.nodes.get(event.node or "")
            began = node.started_at if node is not None and node.started_at else event.ts
            span = self._child(traced.span, event, nanos(min(began, event.ts)))
        if isinstance(event, ev.NodeFailed):
            span.set_attribute("agentos.outcome", "failed")
            span.set_attribute("agentos.final", event.data.final)
            span.set_attribute("error.type", event.data.error_type)
            error, kind = event.data.error, event.data.error_type
            # an agent's error names its type already (`KeyError: 'x'`)
            message = bounded(error if error.startswith(f"{kind}:") else f"{kind}: {error}")
            span.set_status(Status(StatusCode.ERROR, message))
        else:
            outcome = "succeeded" if isinstance(event, ev.NodeSucceeded) else "cancelled"
            span.set_attribute("agentos.outcome", outcome)
        span.end(nanos(event.ts))

    def _model_call(self, traced: _Traced, event: ev.ModelCalled) -> None:
        data = event.data
        parent = traced.attempts.get(_key(event), traced.span)
        end = nanos(event.ts)
        attrs: dict[str, AttributeValue] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": data.provider,
            "gen_ai.system": data.provider,
            "gen_ai.request.model": data.model,
            "gen_ai.response.model": data.model,
            "gen_ai.usage.input_tokens": data.tokens_in,
            "gen_ai.usage.output_tokens": data.tokens_out,
            "agentos.run_id": event.run_id,
            "agentos.node": event.node or "",
            "agentos.attempt": event.attempt or 1,
            "agentos.cost": data.cost,
            "agentos.fallbacks": len(data.fallbacks),
        }
        span = self._tracer.start_span(
            f"chat {data.model}",
            trace.set_span_in_context(parent),
            SpanKind.CLIENT,
            attrs,
            start_time=end - int(data.latency_ms * 1_000_000),
        )
        if not data.ok:
            span.set_attribute("error.type", "model_call_failed")
            span.set_status(Status(StatusCode.ERROR, bounded(data.error or "failed")))
        span.end(end)

    def _end_run(self, traced: _Traced, event: ev.Envelope) -> None:
        end = nanos(event.ts)
        for span in traced.attempts.values():
            span.set_attribute("agentos.outcome", "unfinished")
            span.end(end)
        traced.attempts.clear()
        status = event.type.removeprefix("run_")
        traced.span.set_attribute("agentos.status", status)
        if isinstance(event, ev.RunFailed):
            traced.span.set_status(Status(StatusCode.ERROR, bounded(event.data.error)))
        traced.span.end(end)


def _key(event: ev.Envelope) -> Key:
    return event.node or "", event.iteration or 1, event.attempt or 1


def _remote(run_id: str) -> SpanContext:
    """The span context of another run's span (a replay links to its source)."""
    trace_id, span_id = run_span_ids(run_id)
    sampled = TraceFlags(TraceFlags.SAMPLED)
    return SpanContext(trace_id, span_id, is_remote=True, trace_flags=sampled)


def service() -> Resource:
    """The OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES resource; service `agentos`
    when neither names one."""
    resource = Resource.create()
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "agentos"}))
    return resource


def exporter(name: str) -> SpanExporter:
    """The span exporter named by OTEL_TRACES_EXPORTER (configured by OTEL_EXPORTER_*);
    the console one writes each span as one JSON line to stderr, beside the logs."""
    if name == "console":
        return ConsoleSpanExporter(out=sys.stderr, formatter=_one_line)
    # requests and protobuf take a third of a command's start: loaded when traces are on
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def _one_line(span: ReadableSpan) -> str:
    return str(span.to_json(indent=None)) + "\n"


def tracer_for(names: Sequence[str]) -> RunTracer:
    """A tracer exporting through the named exporters (see `otel_env.trace_exporters`)."""
    return RunTracer([BatchSpanProcessor(exporter(name)) for name in names])
