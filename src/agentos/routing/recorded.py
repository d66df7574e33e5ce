"""Recorded answers: a call's request digest, its answer as `model_called` records it, and
the answers a run's log (and the logs it was forked from) holds for a node."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from agentos.events import model as ev
from agentos.routing.messages import Chat, ChatMessage
from agentos.routing.providers import CompletionResponse

#: an answer larger than this (as JSON) is stored as an artifact, not inline
INLINE_LIMIT = 16 * 1024

Pair = tuple[str, str]  # (provider, model)
CallKey = tuple[str, int, int]  # (node, iteration, call index in the attempt)


def request_digest(
    provider: str, model: str, prompt: str, chat: Chat | None, max_tokens: int
) -> str:
    """The sha256 of the canonical request: what was asked of which model, and how."""
    turns = chat.messages if chat is not None else [ChatMessage(role="user", content=prompt)]
    doc = {
        "provider": provider,
        "model": model,
        "prompt": prompt,
        "messages": [m.model_dump(mode="json") for m in turns],
        "tools": [t.model_dump(mode="json") for t in chat.tools] if chat else [],
        "temperature": chat.temperature if chat else None,
        "max_tokens": max_tokens,
        "stop": list(chat.stop) if chat else [],
    }
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()


def answer_doc(response: CompletionResponse) -> dict[str, Any]:
    """The answer as recorded: its text, tool calls and finish reason (the event has the
    rest: provider, model, usage, cost)."""
    return response.model_dump(mode="json", include={"text", "tool_calls", "finish_reason"})


def answer_name(doc: dict[str, Any]) -> str:
    """The artifact name of a large answer, from its content."""
    blob = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    return f"model-answer-{hashlib.sha256(blob).hexdigest()[:24]}"


def is_large(doc: dict[str, Any]) -> bool:
    """Whether the answer goes to an artifact rather than inline."""
    return len(orjson.dumps(doc)) > INLINE_LIMIT


@dataclass(frozen=True)
class Record:
    """One answer a run's log holds: where it is and what it answered."""

    run_id: str  # the run that recorded it (its artifact is in that run's folder)
    seq: int
    key: CallKey
    digest: str
    pair: Pair
    answer: dict[str, Any] | None  # inline; None when it is the artifact `artifact`
    artifact: str | None
    cost: float
    tokens_in: int
    tokens_out: int

    def response(self, doc: dict[str, Any]) -> CompletionResponse:
        """The recorded answer (`doc`: the inline one or the artifact) as the response it
        was (its usage and cost the original's; no time spent)."""
        return CompletionResponse.model_validate(
            {
                **doc,
                "provider": self.pair[0],
                "model": self.pair[1],
                "tokens_in": self.tokens_in,
                "tokens_out": self.tokens_out,
                "cost": self.cost,
                "latency_ms": 0.0,
            }
        )


@dataclass
class RecordBook:
    """The recorded answers of one run for the nodes `mine` accepts, fed its events in
    order; a fork's book also holds its source runs' answers (`sources`, nearest first)."""

    run_id: str
    mine: Callable[[str], bool]
    last_seq: int = 0
    own: dict[CallKey, list[Record]] = field(default_factory=dict)
    inherited: dict[CallKey, list[Record]] = field(default_factory=dict)
    # the pair the source run used per call, and per (node, iteration) its last selection
    pins: dict[CallKey, Pair] = field(default_factory=dict)
    selected: dict[tuple[str, int], Pair] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    source: tuple[str, int] | None = None  # (source run, from_seq) of a fork
    _iterations: dict[tuple[str, int], int] = field(default_factory=dict)

    def feed(self, event: ev.Envelope) -> None:
        """Take one event of the run's own log."""
        self.last_seq = event.seq
        if isinstance(event, ev.ReplayedFrom):
            self.source = (event.data.source_run, event.data.from_seq)
        node = event.node
        if node is None or event.attempt is None or not self.mine(node):
            return
        if isinstance(event, ev.NodeStarted):
            self._iterations[(node, event.attempt)] = event.iteration or 1
        record = _record(self.run_id, event)
        if record is not None:
            self.own.setdefault(record.key, []).append(record)

    def inherit(self, run_id: str, events: Iterable[ev.Envelope]) -> None:
        """Take the log of a run this one was forked from (directly or not)."""
        self.sources.append(run_id)
        for event in events:
            node = event.node
            if node is None or not self.mine(node):
                continue
            if isinstance(event, ev.ModelSelected):
                self.selected[(node, event.iteration or 1)] = (
                    event.data.provider,
                    event.data.model,
                )
            record = _record(run_id, event)
            if record is not None:
                self.inherited.setdefault(record.key, []).append(record)
                self.pins.setdefault(record.key, record.pair)

    def knows(self, node: str, attempt: int) -> bool:
        """Whether the book has read the start of this attempt of the node."""
        return (node, attempt) in self._iterations

    def iteration(self, node: str, attempt: int) -> int:
        """The loop pass of a node's attempt (1 when its start was not seen)."""
        return self._iterations.get((node, attempt), 1)

    def pin(self, key: CallKey) -> Pair | None:
        """The pair the source run used for this call (else for the node), for a fork."""
        return self.pins.get(key) or self.selected.get((key[0], key[1]))

    def find(self, key: CallKey, digest_of: Callable[[Pair], str | None]) -> Record | None:
        """A recorded answer to the call `key` whose request had the digest `digest_of`
        gives for its pair (None: a pair the call may not use)."""
        for records in (self.own.get(key, ()), self.inherited.get(key, ())):
            for record in records:
                if digest_of(record.pair) == record.digest:
                    return record
        return None


def _record(run_id: str, event: ev.Envelope) -> Record | None:
    """The answer a `model_called` event recorded, if it holds one."""
    if not isinstance(event, ev.ModelCalled):
        return None
    d = event.data
    if not d.ok or d.recorded or d.request_sha256 is None or d.call is None:
        return None
    if d.response is None and d.response_artifact is None:
        return None
    assert event.node is not None
    return Record(
        run_id=run_id,
        seq=event.seq,
        key=(event.node, event.iteration or 1, d.call),
        digest=d.request_sha256,
        pair=(d.provider, d.model),
        answer=d.response,
        artifact=d.response_artifact,
        cost=d.cost,
        tokens_in=d.tokens_in,
        tokens_out=d.tokens_out,
    )
