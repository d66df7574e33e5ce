"""Reading a JSONL log: checksums, batches, seq order, clear errors with line numbers."""

from __future__ import annotations

import os
from bisect import bisect_right
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiofiles

from agentos.events.codec import EventDecodeError, decode
from agentos.events.model import Envelope
from agentos.eventstore._framing import unframe
from agentos.eventstore.base import CorruptLogError

_CHUNK = 1 << 20
#: a log's index keeps a read mark at least this many events after the one before
INDEX_EVERY = 16


@dataclass(frozen=True)
class ReadMark:
    """Where the committed part of a log ended when it was last read.

    Committed bytes of an append-only log never move, so a later read of the same file
    (same inode) that wants only newer events can start there instead of at byte 0.
    """

    inode: int
    offset: int  # just after the last complete batch
    seq: int  # the last seq of that batch
    lineno: int  # its last line number


def nearest_mark(
    latest: ReadMark | None, index: list[ReadMark] | None, after_seq: int
) -> ReadMark | None:
    """The mark to start a read after `after_seq` from: the later of `latest` and the
    last of `index` (in seq order) that are not past `after_seq`."""
    best = latest if latest is not None and latest.seq <= after_seq else None
    if index:
        at = bisect_right(index, after_seq, key=lambda m: m.seq)
        if at and (best is None or index[at - 1].seq > best.seq):
            best = index[at - 1]
    return best


async def read_log(
    path: Path,
    after_seq: int = 0,
    upto_seq: int | None = None,
    mark: ReadMark | None = None,
    marks: dict[Path, ReadMark] | None = None,
    run_id: str | None = None,
    index: list[ReadMark] | None = None,
) -> AsyncIterator[Envelope]:
    """Yield committed events with after_seq < seq <= upto_seq.

    A torn tail (an incomplete line or batch at the end) is not committed and is not
    yielded; a bad line with data after it, or a committed event of another run than
    `run_id` (when given), raises CorruptLogError naming the line.
    With `mark` (of this file, at or before `after_seq`) reading starts there; the end of
    the committed part read is left in `marks[path]`, and `index` (this file's marks in
    seq order) gains one every INDEX_EVERY events or more.
    """
    async with aiofiles.open(path, "rb") as f:
        inode = os.fstat(f.fileno()).st_ino
        if mark is None or mark.inode != inode or mark.seq > after_seq:
            mark = ReadMark(inode, 0, 0, 0)
        if index and index[0].inode != inode:
            index.clear()  # another file at this path now
        await f.seek(mark.offset)
        consumed = mark.offset
        lineno = mark.lineno
        expect_seq = mark.seq + 1
        batch: list[tuple[int, bytes]] = []
        left = 0  # lines still due in the open batch
        bad: tuple[int, str] | None = None
        rest = b""
        while chunk := await f.read(_CHUNK):
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                lineno += 1
                consumed += len(line) + 1
                if bad is not None:
                    raise CorruptLogError(bad[1], path, bad[0])
                parsed = unframe(line)
                if parsed is None:
                    bad = (lineno, "checksum or framing mismatch")
                    continue
                marker, body = parsed
                if batch and marker != left - 1:
                    bad = (lineno, f"batch marker {marker} where {left - 1} was expected")
                    continue
                batch.append((lineno, body))
                left = marker
                if left:
                    continue
                events = [_decode(path, n, raw) for n, raw in batch]
                for (n, _), event in zip(batch, events, strict=True):
                    if event.seq != expect_seq:
                        reason = f"seq {event.seq} where {expect_seq} was expected"
                        raise CorruptLogError(reason, path, n)
                    if run_id is not None and event.run_id != run_id:
                        reason = f"an event of run {event.run_id!r} in the log of run {run_id!r}"
                        raise CorruptLogError(reason, path, n)
                    expect_seq += 1
                batch = []
                if marks is not None or index is not None:
                    end = ReadMark(inode, consumed, expect_seq - 1, lineno)
                    if marks is not None:
                        marks[path] = end
                    if index is not None and (not index or end.seq >= index[-1].seq + INDEX_EVERY):
                        index.append(end)
                for event in events:
                    if upto_seq is not None and event.seq > upto_seq:
                        return
                    if event.seq > after_seq:
                        yield event
    if bad is not None and rest:
        raise CorruptLogError(bad[1], path, bad[0])
    # anything left (a bad last line, an open batch, a partial line) is an uncommitted tail


def _decode(path: Path, lineno: int, raw: bytes) -> Envelope:
    try:
        return decode(raw)
    except EventDecodeError as exc:
        raise CorruptLogError(str(exc), path, lineno) from None
