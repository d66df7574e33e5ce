"""Event builders shared by the event store tests."""

from __future__ import annotations

from datetime import UTC, datetime

from agentos.events import (
    Envelope,
    ModelCalled,
    NodeStarted,
    NodeSucceeded,
    RunCreated,
    RunStarted,
    RunSucceeded,
)
from agentos.events.model import ModelCalledData, NodeSucceededData, RunCreatedData

TS = datetime(2025, 1, 1, tzinfo=UTC)


def make_event(run_id: str, seq: int, kind: str = "node_started", node: str = "a") -> Envelope:
    """One valid event of a few common types."""
    if kind == "run_created":
        data = RunCreatedData(graph="g", spec={"nodes": [{"name": "a"}]})
        return RunCreated(seq=seq, run_id=run_id, ts=TS, data=data)
    if kind == "run_started":
        return RunStarted(seq=seq, run_id=run_id, ts=TS)
    if kind == "node_succeeded":
        out = NodeSucceededData(output={"n": seq, "text": "x" * 40})
        return NodeSucceeded(seq=seq, run_id=run_id, ts=TS, node=node, data=out)
    if kind == "model_called":
        called = ModelCalledData(
            provider="p", model="m", tokens_in=10, tokens_out=5, cost=0.001, latency_ms=3.0
        )
        return ModelCalled(seq=seq, run_id=run_id, ts=TS, node=node, data=called)
    if kind == "run_succeeded":
        return RunSucceeded(seq=seq, run_id=run_id, ts=TS)
    return NodeStarted(seq=seq, run_id=run_id, ts=TS, node=node, attempt=1)


def make_batch(run_id: str, first: int, n: int, node: str = "a") -> list[Envelope]:
    """`n` events with contiguous seqs starting at `first`."""
    kinds = ("node_started", "model_called", "node_succeeded")
    return [make_event(run_id, first + i, kinds[(first + i) % 3], node) for i in range(n)]
