"""A node actor's view of recorded answers: the books of the runs it calls models for,
read from the store (the run's log since the last read, and the logs it was forked from)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

from agentos._exceptions import ArtifactNotFoundError, UnknownRunError
from agentos.events import model as ev
from agentos.eventstore.base import EventStore
from agentos.routing.messages import Chat
from agentos.routing.pinned import pinned
from agentos.routing.providers import CompletionResponse
from agentos.routing.recorded import CallKey, Pair, Record, RecordBook, request_digest
from agentos.routing.router import Router, Selection

#: the runs whose books one node actor keeps (least recently used dropped first)
KEEP = 64
#: how far a replay of a replay of ... is followed for answers
MAX_SOURCES = 16


class Recordings:
    """The recorded answers for one node (its instances and loop passes included)."""

    def __init__(self, store: EventStore, node: str) -> None:
        self.store = store
        self.node = node
        self._books: OrderedDict[str, RecordBook] = OrderedDict()
        self._reading = asyncio.Lock()

    def mine(self, node: str) -> bool:
        """Whether an event's node is this node or one of its map instances."""
        return node == self.node or node.startswith(f"{self.node}[")

    async def book(self, run_id: str, node: str, attempt: int, first: bool) -> RecordBook:
        """The run's book, read on from its log at an attempt's `first` call (a loop pass
        starts its attempts at 1 again) or when it has not seen the attempt start yet, and
        from its sources' logs when it is new."""
        async with self._reading:  # one read at a time: none feeds an event twice
            book = self._books.get(run_id)
            if book is None:
                book = RecordBook(run_id, self.mine)
                await self._read(book)
                await self._inherit(book)
            elif first or not book.knows(node, attempt):
                await self._read(book)
            self._books[run_id] = book
            self._books.move_to_end(run_id)
            while len(self._books) > KEEP:
                self._books.popitem(last=False)
            return book

    async def _read(self, book: RecordBook) -> None:
        async for event in self.store.read(book.run_id, after_seq=book.last_seq):
            book.feed(event)

    async def _inherit(self, book: RecordBook) -> None:
        """Read the answers of the runs a fork came from (a deleted one is skipped)."""
        source = book.source
        seen = {book.run_id}
        while source is not None and len(book.sources) < MAX_SOURCES and source[0] not in seen:
            run_id = source[0]
            seen.add(run_id)
            try:
                events = await self.store.read_all(run_id)
            except UnknownRunError:
                return
            book.inherit(run_id, events)
            marker = next((e for e in events if isinstance(e, ev.ReplayedFrom)), None)
            source = None if marker is None else (marker.data.source_run, marker.data.from_seq)

    async def answer(self, book: RecordBook, record: Record) -> dict[str, Any] | None:
        """The recorded answer's document: inline, else its artifact (looked for in the
        run that recorded it, then in the runs the book's run came from)."""
        if record.answer is not None:
            return record.answer
        assert record.artifact is not None
        for run_id in dict.fromkeys([record.run_id, book.run_id, *book.sources]):
            try:
                doc = await self.store.get_artifact(run_id, record.artifact)
            except (ArtifactNotFoundError, UnknownRunError):
                continue
            if isinstance(doc, dict):
                return doc
        return None


def choose(router: Router, model: Selection, book: RecordBook, key: CallKey) -> Selection:
    """The selection a call routes through: a what-if's model (or the router's choice),
    else in a fork the pair the source run used for it, else the attempt's own."""
    rule = router.what_if.get(book.run_id)
    if rule is not None:
        pair = rule.pair()
        return model if pair is None else pinned(router, *pair, "what-if replay")
    pair = book.pin(key) if book.source is not None else None
    if pair is None or book.source is None:
        return model
    return pinned(router, *pair, f"replay of run {book.source[0]}")


def digests(
    selection: Selection, prompt: str, chat: Chat | None, max_tokens: int
) -> dict[Pair, str]:
    """The request's digest for each pair the call may use."""
    return {
        (c.provider, c.model): request_digest(c.provider, c.model, prompt, chat, max_tokens)
        for c in selection.candidates
    }


def replayed(record: Record, response: CompletionResponse, call: int) -> dict[str, Any]:
    """`model_called`'s data for a call answered from `record`: nothing sent, nothing paid."""
    return {
        "provider": response.provider,
        "model": response.model,
        "tokens_in": 0,
        "tokens_out": 0,
        "cost": 0.0,
        "latency_ms": 0.0,
        "request_sha256": record.digest,
        "call": call,
        "recorded": True,
        "original": {
            "run_id": record.run_id,
            "seq": record.seq,
            "tokens_in": record.tokens_in,
            "tokens_out": record.tokens_out,
            "cost": record.cost,
        },
    }
