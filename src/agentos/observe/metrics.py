"""Prometheus metrics of the server's runs, counted from the acknowledged events.

`Metrics.listen` is a supervisor listener: it is called on the supervisors' loop after
every acknowledged batch, so it only bumps counters. Each `Metrics` has a registry of its
own (never the process-wide default one): `GET /metrics` serves an app's
(`api/metrics.py`), `agentos worker --metrics-port` a member's, in the Prometheus text
format. Labels are graph, status, outcome, event type, provider and model: never a
run id.
"""

from __future__ import annotations

import threading
import time
from collections import Counter as Tally
from collections.abc import Iterable, Sequence
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.registry import Collector

from agentos.events import model as ev
from agentos.eventstore.base import EventStore
from agentos.state.run_state import RunState

# seconds: from a fast echo node to a long model-driven one
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
# seconds: a page-cache write without fsync to a slow disk's group commit
APPEND_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
M = TypeVar("M", bound=MetricWrapperBase)
FINISHED = {"run_succeeded": "succeeded", "run_failed": "failed", "run_cancelled": "cancelled"}


class Metrics:
    """The metrics of one app, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        reg = self.registry
        self.runs_started = Counter(
            "agentos_runs_started", "Runs started (a replay counts once).", ["graph"], registry=reg
        )
        self.runs_finished = Counter(
            "agentos_runs_finished", "Runs ended, by status.", ["graph", "status"], registry=reg
        )
        self.node_attempts = Counter(
            "agentos_node_attempts",
            "Node attempts ended, by outcome (succeeded or failed).",
            ["graph", "outcome"],
            registry=reg,
        )
        self.node_duration = Histogram(
            "agentos_node_duration_seconds",
            "Duration of a node attempt, by outcome.",
            ["graph", "outcome"],
            buckets=DURATION_BUCKETS,
            registry=reg,
        )
        self.events = Counter(
            "agentos_events_appended", "Events appended, by type.", ["type"], registry=reg
        )
        self.append_latency = Histogram(
            "agentos_append_latency_seconds",
            "From a batch's last event being decided to the batch being acknowledged.",
            buckets=APPEND_BUCKETS,
            registry=reg,
        )
        self.model_calls = Counter(
            "agentos_model_calls",
            "Model calls, by outcome (ok or error).",
            ["provider", "model", "outcome"],
            registry=reg,
        )
        self.model_duration = Histogram(
            "agentos_model_call_duration_seconds",
            "Latency of a model call.",
            ["provider", "model"],
            buckets=DURATION_BUCKETS,
            registry=reg,
        )
        self.tokens = Counter(
            "agentos_model_tokens",
            "Model tokens, by direction (in or out).",
            ["provider", "model", "direction"],
            registry=reg,
        )
        self.cost = Counter(
            "agentos_model_cost_dollars", "Model cost.", ["provider", "model"], registry=reg
        )
        self.live = LiveRuns()
        reg.register(self.live)
        self.queued = Gauge(
            "agentos_runs_queued", "Runs queued for the members of a shared store.", registry=reg
        )
        self._children: dict[tuple[int, tuple[str, ...]], MetricWrapperBase] = {}

    def _at(self, metric: M, *labels: str) -> M:
        """`metric.labels(*labels)`, kept: prometheus_client's lookup takes a lock and
        checks every label again, a third of a batch's cost."""
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child  # type: ignore[return-value]

    def watch_store(self, store: EventStore) -> None:
        """Also report the store's commit groups (how many appends share a sync)."""
        self.registry.register(CommitGroups(store))

    def listen(self, events: Sequence[ev.Envelope], state: RunState) -> None:
        """Count one acknowledged batch of a run (a supervisor listener)."""
        if not events:
            return
        graph = state.graph
        self.append_latency.observe(max(0.0, time.time() - events[-1].ts.timestamp()))
        for kind, n in Tally(e.type for e in events).items():
            self._at(self.events, kind).inc(n)
        for event in _fresh(events):
            self._count(graph, event)
        self.live.update(state)

    def _count(self, graph: str, event: ev.Envelope) -> None:
        if isinstance(event, ev.RunCreated | ev.ReplayedFrom):
            self._at(self.runs_started, graph).inc()
        elif isinstance(event, ev.NodeSucceeded | ev.NodeFailed):
            outcome = "succeeded" if isinstance(event, ev.NodeSucceeded) else "failed"
            self._at(self.node_attempts, graph, outcome).inc()
            self._at(self.node_duration, graph, outcome).observe(event.data.duration_ms / 1000)
        elif isinstance(event, ev.ModelCalled):
            self._model_call(event.data)
        elif event.type in FINISHED:
            self._at(self.runs_finished, graph, FINISHED[event.type]).inc()

    def _model_call(self, data: ev.ModelCalledData) -> None:
        provider, model = data.provider, data.model
        self._at(self.model_calls, provider, model, "ok" if data.ok else "error").inc()
        self._at(self.model_duration, provider, model).observe(data.latency_ms / 1000)
        self._at(self.tokens, provider, model, "in").inc(data.tokens_in)
        self._at(self.tokens, provider, model, "out").inc(data.tokens_out)
        self._at(self.cost, provider, model).inc(data.cost)


def _fresh(events: Sequence[ev.Envelope]) -> Sequence[ev.Envelope]:
    """The batch without a replay's copies of its source's events (they come first, up
    to `replayed_from`, and were counted when the source ran)."""
    for i in range(len(events) - 1, -1, -1):
        if isinstance(events[i], ev.ReplayedFrom):
            return events[i:]
    return events


class CommitGroups(Collector):
    """The store's group commit at scrape time: groups made durable (one fsync or one
    transaction each) and the batches in them; their ratio is the mean group size."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def collect(self) -> Iterable[CounterMetricFamily]:
        stats = self.store.commit_stats()
        if stats is None:
            return []
        groups = CounterMetricFamily(
            "agentos_store_commit_groups", "Groups of appends made durable together."
        )
        batches = CounterMetricFamily(
            "agentos_store_committed_batches", "Batches of events in those groups."
        )
        groups.add_metric([], stats[0])
        batches.add_metric([], stats[1])
        return [groups, batches]


class LiveRuns(Collector):
    """Runs in flight and runs waiting for a signal, per graph, at scrape time.

    Fed by the listener (the supervisors' loop), read by the scrape (the server's loop):
    a lock keeps the two apart. A run is in flight from its first batch here until its
    terminal event (a stalled run stays in flight: it is unfinished).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, tuple[str, bool]] = {}  # run id -> (graph, waiting)

    def update(self, state: RunState) -> None:
        """Note the run's state after a batch."""
        with self._lock:
            if state.finished:
                self._runs.pop(state.run_id, None)
            else:
                self._runs[state.run_id] = (state.graph, state.status == "waiting")

    def collect(self) -> Iterable[GaugeMetricFamily]:
        with self._lock:
            runs = list(self._runs.values())
        flight = GaugeMetricFamily(
            "agentos_runs_in_flight", "Unfinished runs driven here.", labels=["graph"]
        )
        waiting = GaugeMetricFamily(
            "agentos_runs_waiting", "Runs waiting for a signal.", labels=["graph"]
        )
        for graph, n in sorted(Tally(g for g, _ in runs).items()):
            flight.add_metric([graph], n)
        for graph, n in sorted(Tally(g for g, w in runs if w).items()):
            waiting.add_metric([graph], n)
        return [flight, waiting]
