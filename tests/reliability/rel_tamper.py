"""Tampering with event logs, shared by the hostile-log tests of the store, the CLI and
the HTTP API.

`frame_raw` frames any bodies with valid checksums; each `Tampering` turns a real log
(at least 4 lines, every line committed) into one that is corrupt before its end, and
says which lines a clear error may name.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
from rel_agents import Executions, eight_graph

from agentos.actors import Supervisor
from agentos.eventstore import JsonlEventStore


def frame_raw(bodies: list[bytes]) -> bytes:
    """Frame arbitrary JSON-ish bodies as `frame` does: valid checksums, any content."""
    out = b""
    for left, body in zip(range(len(bodies) - 1, -1, -1), bodies, strict=True):
        head = body[:-1] + b',"_b":' + str(left).encode()
        out += head + b',"_crc":"%08x"}\n' % zlib.crc32(head)
    return out


def _lines(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    assert lines.pop() == b"" and len(lines) >= 4, "tamper with a whole log of 4+ lines"
    return lines


def _join(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def _flip(data: bytes, other: bytes) -> bytes:
    lines = _lines(data)
    middle = len(lines[1]) // 2
    lines[1] = lines[1][:middle] + bytes([lines[1][middle] ^ 0x01]) + lines[1][middle + 1 :]
    return _join(lines)


def _duplicate(data: bytes, other: bytes) -> bytes:
    lines = _lines(data)
    return _join([*lines[:2], lines[1], *lines[2:]])


def _reorder(data: bytes, other: bytes) -> bytes:
    lines = _lines(data)
    lines[1], lines[2] = lines[2], lines[1]
    return _join(lines)


def _delete(data: bytes, other: bytes) -> bytes:
    lines = _lines(data)
    return _join([lines[0], *lines[2:]])


def _change_seq(data: bytes, other: bytes) -> bytes:
    """Line 2 with another seq, framed again with a valid checksum (its batch marker kept)."""
    lines = _lines(data)
    doc = orjson.loads(lines[1])
    left = doc.pop("_b")
    doc.pop("_crc")
    doc["seq"] += 5
    body = orjson.dumps(doc)
    head = body[:-1] + b',"_b":' + str(left).encode()
    lines[1] = head + b',"_crc":"%08x"}' % zlib.crc32(head)
    return _join(lines)


def _crlf(data: bytes, other: bytes) -> bytes:
    return data.replace(b"\n", b"\r\n")


def _garbage(data: bytes, other: bytes) -> bytes:
    lines = _lines(data)
    return _join([*lines[:2], b"\xff\xfe garbage {not json", *lines[2:]])


def _foreign(data: bytes, other: bytes) -> bytes:
    """The whole log of another run: every checksum valid, every run id wrong."""
    return other


@dataclass(frozen=True)
class Tampering:
    """One way to corrupt a log, and the lines a clear error about it may name."""

    name: str
    apply: Callable[[bytes, bytes], bytes]  # (this run's log, another run's log) -> log
    lines: frozenset[int]


TAMPERINGS = [
    Tampering("flipped-byte", _flip, frozenset({2})),
    Tampering("duplicated-line", _duplicate, frozenset({3})),
    Tampering("reordered-lines", _reorder, frozenset({2, 3})),
    Tampering("deleted-line", _delete, frozenset({2})),
    Tampering("changed-seq", _change_seq, frozenset({2})),
    Tampering("crlf", _crlf, frozenset({1})),
    Tampering("garbage-line", _garbage, frozenset({3})),
    Tampering("foreign-log", _foreign, frozenset({1})),
]


def tamper(log: Path, how: Tampering, other: Path) -> None:
    """Rewrite `log` tampered `how` (`other`: another run's log, for a foreign log)."""
    log.write_bytes(how.apply(log.read_bytes(), other.read_bytes()))


async def finished_runs(root: Path, count: int) -> list[str]:
    """`count` runs of the 8-node graph, run to their end in the store at `root`."""
    store = JsonlEventStore(root, durable=False)
    sup = Supervisor.start(eight_graph("steady", sleep=0.0), store, agents=Executions().registry())
    try:
        run_ids = [await sup.start_run({}) for _ in range(count)]
        for run_id in run_ids:
            assert (await sup.wait(run_id, timeout=30)).status == "succeeded"
        return run_ids
    finally:
        await sup.stop()
        await store.close()
