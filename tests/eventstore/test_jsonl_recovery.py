"""JSONL recovery: a torn tail is cut on open; damage before the end is refused, never cut."""

from __future__ import annotations

import shutil
import zlib
from pathlib import Path

import orjson
import pytest
from store_support import make_batch, make_event

from agentos.events import encode
from agentos.eventstore import CorruptLogError, JsonlEventStore

RUN = "r1"


async def _write_log(root: Path, batches: list[int]) -> tuple[bytes, int]:
    """Write batches of the given sizes; return the log bytes and where the last batch starts."""
    store = JsonlEventStore(root, durable=False)
    last = 0
    start = 0
    for size in batches:
        start = store.log_path(RUN).stat().st_size if last else 0
        last = await store.append(RUN, make_batch(RUN, last + 1, size), expected_seq=last)
    await store.close()
    return (root / RUN / "events.jsonl").read_bytes(), start


def _framed(body: bytes, left: int = 0) -> bytes:
    """A line with a valid checksum around any JSON object body."""
    head = body[:-1] + b',"_b":' + str(left).encode()
    return head + b',"_crc":"%08x"}\n' % zlib.crc32(head)


@pytest.fixture(scope="module")
def base_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, int]:
    import asyncio

    root = tmp_path_factory.mktemp("base")
    return asyncio.run(_write_log(root, [1, 2, 3]))


async def test_torn_tail_at_every_offset(tmp_path: Path, base_log: tuple[bytes, int]) -> None:
    data, start = base_log
    assert data[start - 1 : start] == b"\n"
    good = make_batch(RUN, 1, 3)
    for cut in range(start + 1, len(data)):
        root = tmp_path / str(cut)
        (root / RUN).mkdir(parents=True)
        log = root / RUN / "events.jsonl"
        log.write_bytes(data[:cut])
        # a reader skips the torn tail without touching the file
        reader = JsonlEventStore(root, durable=False)
        assert await reader.read_all(RUN) == good
        assert log.stat().st_size == cut
        await reader.close()
        # a writer cuts it off, keeps it aside, and carries on after seq 3
        store = JsonlEventStore(root, durable=cut % 16 == 0)
        assert await store.append(RUN, make_batch(RUN, 4, 2), expected_seq=3) == 5
        assert len(store.recovered) == 1
        assert f"{cut - start} bytes" in store.recovered[0]
        assert (root / RUN / "events.jsonl.broken").read_bytes() == data[start:cut]
        assert await store.read_all(RUN) == make_batch(RUN, 1, 5)
        await store.close()
        fresh = JsonlEventStore(root, durable=False)
        assert [e.seq for e in await fresh.read_all(RUN)] == [1, 2, 3, 4, 5]
        assert await fresh.last_seq(RUN) == 5
        await fresh.close()
        assert log.read_bytes()[:start] == data[:start]
        shutil.rmtree(root)


async def test_whole_log_needs_no_recovery(tmp_path: Path, base_log: tuple[bytes, int]) -> None:
    data, start = base_log
    for size in (start, len(data)):
        root = tmp_path / str(size)
        (root / RUN).mkdir(parents=True)
        (root / RUN / "events.jsonl").write_bytes(data[:size])
        store = JsonlEventStore(root, durable=False)
        last = 3 if size == start else 6
        assert await store.append(RUN, make_batch(RUN, last + 1, 1), expected_seq=last)
        assert store.recovered == []
        assert not (root / RUN / "events.jsonl.broken").exists()
        assert [e.seq for e in await store.read_all(RUN)] == list(range(1, last + 2))
        await store.close()


async def test_torn_first_batch_leaves_an_empty_run(tmp_path: Path) -> None:
    data, _ = await _write_log(tmp_path / "w", [3])
    root = tmp_path / "cut"
    (root / RUN).mkdir(parents=True)
    (root / RUN / "events.jsonl").write_bytes(data[: len(data) // 2])
    store = JsonlEventStore(root, durable=True)
    assert await store.read_all(RUN) == []
    assert await store.append(RUN, make_batch(RUN, 1, 1), expected_seq=0) == 1
    assert store.recovered
    await store.close()


async def test_flipped_byte_in_a_middle_line(tmp_path: Path, base_log: tuple[bytes, int]) -> None:
    data, _ = base_log
    lines = data.split(b"\n")
    # line 2 of 6: the first line of the second batch
    begin = len(lines[0]) + 1
    end = begin + len(lines[1]) + 1  # its newline too
    root = tmp_path / "data"
    (root / RUN).mkdir(parents=True)
    log = root / RUN / "events.jsonl"
    for pos in range(begin, end):
        damaged = bytearray(data)
        damaged[pos] ^= 0x01
        log.write_bytes(bytes(damaged))
        store = JsonlEventStore(root, durable=False)
        with pytest.raises(CorruptLogError) as read_err:
            await store.read_all(RUN)
        assert str(log) in str(read_err.value)
        assert "line 2:" in str(read_err.value)
        with pytest.raises(CorruptLogError) as write_err:
            await store.append(RUN, make_batch(RUN, 7, 1), expected_seq=6)
        assert str(log) in str(write_err.value)
        assert "line 2:" in str(write_err.value)
        await store.close()
        assert log.read_bytes() == bytes(damaged), "a corrupt log must not be truncated"
        assert not (root / RUN / "events.jsonl.broken").exists()


async def test_flipped_byte_in_the_last_batch_is_a_torn_tail(tmp_path: Path) -> None:
    """Damage in the last line cannot be told from a torn write: that batch is cut."""
    data, start = await _write_log(tmp_path / "w", [2, 2])
    root = tmp_path / "data"
    (root / RUN).mkdir(parents=True)
    damaged = bytearray(data)
    damaged[-20] ^= 0x01
    (root / RUN / "events.jsonl").write_bytes(bytes(damaged))
    store = JsonlEventStore(root, durable=False)
    assert [e.seq for e in await store.read_all(RUN)] == [1, 2]
    assert await store.append(RUN, make_batch(RUN, 3, 1), expected_seq=2) == 3
    assert (root / RUN / "events.jsonl.broken").read_bytes() == bytes(damaged[start:])
    await store.close()


def _valid_but_unreadable(kind: str) -> bytes:
    body = encode(make_event(RUN, 2))
    obj = orjson.loads(body)
    if kind == "type":
        obj["type"] = "node_exploded"
    elif kind == "version":
        obj["v"] = 99
    else:
        obj["data"] = {"surprise": 1}
    return _framed(orjson.dumps(obj))


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("type", "unknown event type 'node_exploded'"),
        ("version", "unsupported event schema version 99"),
        ("extra", "invalid node_started event"),
    ],
)
@pytest.mark.parametrize("where", ["middle", "last"])
async def test_unreadable_event_with_valid_checksum(
    tmp_path: Path, kind: str, message: str, where: str
) -> None:
    lines = [
        _framed(encode(make_event(RUN, 1, "run_created"))),
        _valid_but_unreadable(kind),
    ]
    if where == "middle":
        lines.append(_framed(encode(make_event(RUN, 3))))
    root = tmp_path / "data"
    (root / RUN).mkdir(parents=True)
    log = root / RUN / "events.jsonl"
    log.write_bytes(b"".join(lines))
    store = JsonlEventStore(root, durable=False)
    with pytest.raises(CorruptLogError) as err:
        await store.read_all(RUN)
    assert f"{log}: line 2: " in str(err.value)
    assert message in str(err.value)
    if where == "last":
        # the writer must read the last event to continue the log: it refuses too
        with pytest.raises(CorruptLogError) as werr:
            await store.append(RUN, make_batch(RUN, 3, 1), expected_seq=2)
        assert f"{log}: line 2: " in str(werr.value)
        assert message in str(werr.value)
    await store.close()
    assert log.read_bytes() == b"".join(lines)


async def test_seq_gap_in_log_is_corrupt(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / RUN).mkdir(parents=True)
    log = root / RUN / "events.jsonl"
    log.write_bytes(_framed(encode(make_event(RUN, 1))) + _framed(encode(make_event(RUN, 3))))
    store = JsonlEventStore(root, durable=False)
    with pytest.raises(CorruptLogError, match="line 2: seq 3 where 2 was expected"):
        await store.read_all(RUN)
    await store.close()
