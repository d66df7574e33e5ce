"""Line framing of the JSONL log: a checksum per line and a batch marker.

Each line is the event's JSON object with two fields added at the end:
`"_b"`, how many lines of the same batch follow it (0 on a batch's last line), and
`"_crc"`, the CRC-32 of everything before it. A line stays valid JSON for jq.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from agentos._exceptions import BadLineError as BadLineError
from agentos.events.codec import encode
from agentos.events.model import Envelope

_CRC_HEAD = b',"_crc":"'
_SUFFIX_LEN = len(_CRC_HEAD) + 8 + 2  # ,"_crc":"xxxxxxxx"}
_B_HEAD = b',"_b":'


def frame(events: Sequence[Envelope]) -> bytes:
    """The log lines of one atomic batch."""
    return frame_encoded([encode(event) for event in events])


def frame_encoded(raws: Sequence[bytes]) -> bytes:
    """The log lines of one atomic batch of events already encoded (and checked)."""
    out = bytearray()
    remaining = len(raws)
    for raw in raws:
        remaining -= 1
        head = raw[:-1] + _B_HEAD + str(remaining).encode()
        out += head
        out += b',"_crc":"%08x"}\n' % zlib.crc32(head)
    return bytes(out)


def unframe(line: bytes) -> tuple[int, bytes] | None:
    """(lines left in the batch, event JSON) of a line without its newline; None if invalid."""
    if len(line) < _SUFFIX_LEN + 8 or line[-2:] != b'"}':
        return None
    head = line[:-_SUFFIX_LEN]
    if line[-_SUFFIX_LEN : -_SUFFIX_LEN + len(_CRC_HEAD)] != _CRC_HEAD:
        return None
    try:
        crc = int(line[-10:-2], 16)
    except ValueError:
        return None
    if zlib.crc32(head) != crc:
        return None
    pos = head.rfind(_B_HEAD)
    if pos < 0:
        return None
    try:
        left = int(head[pos + len(_B_HEAD) :])
    except ValueError:
        return None
    return left, head[:pos] + b"}"


@dataclass
class Scan:
    """What a scan of a whole log found."""

    good_end: int  # byte offset just after the last complete, valid batch
    batches: int
    last_line: bytes | None  # the event JSON of the last committed line
    tail: bytes  # bytes after good_end: a torn batch or line


def scan(data: bytes) -> Scan:
    """Check the framing of a whole log; a bad line before the tail raises BadLineError."""
    pos = 0
    good_end = 0
    batches = 0
    last_line: bytes | None = None
    expect: int | None = None  # lines left in the open batch
    lineno = 0
    bad: tuple[int, str] | None = None
    size = len(data)
    while pos < size:
        nl = data.find(b"\n", pos)
        if nl < 0:
            break  # a partial last line: part of the tail
        lineno += 1
        if bad is not None:
            raise BadLineError(*bad)
        parsed = unframe(data[pos:nl])
        if parsed is None:
            bad = (lineno, "checksum or framing mismatch")
        else:
            left, body = parsed
            if expect is not None and left != expect - 1:
                bad = (lineno, f"batch marker {left} where {expect - 1} was expected")
            elif left == 0:
                expect = None
                good_end = nl + 1
                batches += 1
                last_line = body
            else:
                expect = left
        pos = nl + 1
    if bad is not None and pos < size:
        raise BadLineError(*bad)
    return Scan(good_end=good_end, batches=batches, last_line=last_line, tail=data[good_end:])
