"""Hostile event logs: reading yields the valid prefix or a clear error; opening never
truncates committed data.

Logs are built from segments: valid batches (framed by the store's own `frame`), lines
with a valid checksum but bad content (unknown type, wrong types, bad version, invalid
UTF-8, not an object, seq gaps and repeats), raw garbage lines, and a torn tail. For each:
reading returns exactly the valid batches before the first anomaly, or raises
CorruptLogError/EventDecodeError (never another exception, never a hang); opening for
append either refuses with CorruptLogError or cuts only bytes after the last complete
framed batch, keeping them in events.jsonl.broken.

Then real runs' logs tampered each way of rel_tamper.py: the CLI refuses them with one
line naming the file and line, a log copied from another run included; a run whose only
batch was torn is no run (`agentos runs` leaves it out, `agentos resume` says so).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rel_tamper import TAMPERINGS, Tampering, finished_runs, frame_raw, tamper

from agentos.cli import cli
from agentos.events import Envelope, NodeStarted, NodeSucceeded, RunStarted
from agentos.events.codec import EventDecodeError, encode
from agentos.events.model import NodeSucceededData
from agentos.eventstore import CorruptLogError, JsonlEventStore
from agentos.eventstore._framing import frame

RUN = "r"
TS = datetime(2025, 1, 1, tzinfo=UTC)
DEADLINE = 10.0
ALLOWED = (CorruptLogError, EventDecodeError)


def test_frame_raw_matches_the_store() -> None:
    events = [RunStarted(seq=1, run_id=RUN, ts=TS), NodeStarted(seq=2, run_id=RUN, ts=TS, node="a")]
    assert frame_raw([encode(e) for e in events]) == frame(events)


# strategies

json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _event(seq: int, kind: int, node: str, output: dict[str, Any]) -> Envelope:
    if kind == 0:
        return NodeStarted(seq=seq, run_id=RUN, ts=TS, node=node, attempt=1)
    if kind == 1:
        return NodeSucceeded(
            seq=seq, run_id=RUN, ts=TS, node=node, data=NodeSucceededData(output=output)
        )
    return RunStarted(seq=seq, run_id=RUN, ts=TS)


event_spec = st.tuples(
    st.integers(0, 2),
    st.text(min_size=1, max_size=12),
    st.dictionaries(st.text(max_size=8), json_value, max_size=3),
)

BAD_BODIES = [
    b'{"v":1,"seq":1,"run_id":"r","ts":"2025-01-01T00:00:00Z","type":"no_such_event"}',
    b'{"v":99,"seq":1,"run_id":"r","ts":"2025-01-01T00:00:00Z","type":"run_started"}',
    b'{"v":1,"seq":"one","run_id":"r","ts":"2025-01-01T00:00:00Z","type":"run_started"}',
    b'{"v":1,"seq":1,"run_id":7,"ts":"yesterday","type":"node_started","attempt":[]}',
    b'{"v":1,"seq":1,"run_id":"r","ts":"2025-01-01T00:00:00Z","type":"run_started","x":1}',
    b'{"v":1,"seq":1,"run_id":"\xff\xfe","ts":"2025-01-01T00:00:00Z","type":"run_started"}',
    b'{"seq":1}',
    b"[1,2,3]",
    b'"just a string"',
    b"{}",
    b"{,}",
]

GARBAGE = [
    b"",
    b"\xff\xfe\xfd not utf-8",
    b'{"v":1,"seq":1,"run_id":"r","ts"',
    b"null",
    b'{"v":1,"seq":1,"run_id":"r","ts":"2025-01-01T00:00:00Z","type":"run_started","_b":0,"_crc":"00000000"}',
    b"\x00" * 40,
    b"{" * 200,
]


@dataclass
class Segment:
    kind: str  # batch | gap | repeat | bad | garbage | torn
    data: bytes
    events: list[Envelope]


@st.composite
def hostile_logs(draw: st.DrawFn) -> list[Segment]:
    segments: list[Segment] = []
    seq = 0
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["batch", "batch", "batch", "gap", "repeat", "bad", "garbage"]))
        if kind in ("batch", "gap", "repeat"):
            specs = draw(st.lists(event_spec, min_size=1, max_size=3))
            first = seq + 1 + {"batch": 0, "gap": 2, "repeat": -1}[kind]
            first = max(first, 1)
            events = [_event(first + i, *s) for i, s in enumerate(specs)]
            if kind == "repeat" and seq == 0:
                kind = "batch"  # nothing to repeat yet
            seq = events[-1].seq
            segments.append(Segment(kind, frame(events), events))
        elif kind == "bad":
            body = draw(st.sampled_from(BAD_BODIES))
            segments.append(Segment(kind, frame_raw([body]), []))
        else:
            line = draw(st.sampled_from(GARBAGE) | st.binary(max_size=60))
            segments.append(Segment(kind, line.replace(b"\n", b" ") + b"\n", []))
    if draw(st.booleans()):
        specs = draw(st.lists(event_spec, min_size=1, max_size=3))
        whole = frame([_event(seq + 1 + i, *s) for i, s in enumerate(specs)])
        cut = draw(st.integers(0, len(whole) - 1))
        segments.append(Segment("torn", whole[:cut], []))
    return segments


def expectations(segments: list[Segment]) -> tuple[list[Envelope], bool, int]:
    """(events of the leading valid batches, whether the log is clean, framed prefix end)."""
    leading: list[Envelope] = []
    clean = True
    framed_end = 0
    in_prefix = True
    for seg in segments:
        if seg.kind in ("batch", "gap", "repeat", "bad") and in_prefix:
            framed_end += len(seg.data)
        else:
            in_prefix = False
        if seg.kind == "batch" and clean:
            leading.extend(seg.events)
        elif seg.kind != "torn":
            clean = False
    return leading, clean, framed_end


async def check_log(
    root: Path, data: bytes, leading: list[Envelope], clean: bool, framed_end: int
) -> None:
    """The reading and opening properties for one log."""
    path = root / RUN / "events.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    store = JsonlEventStore(root, durable=False)
    try:
        try:
            got = await asyncio.wait_for(store.read_all(RUN), DEADLINE)
        except ALLOWED as exc:
            assert not clean, f"a clean log was refused: {exc}"
            assert str(exc), "the error must say what is wrong"
        else:
            assert [encode(e) for e in got] == [encode(e) for e in leading]
        assert path.read_bytes() == data, "reading must not change the log"

        try:
            await asyncio.wait_for(store.prepare(RUN), DEADLINE)
        except ALLOWED as exc:
            assert "line" in str(exc), f"the error must name the line: {exc}"
            assert path.read_bytes() == data, "a refused log must be left as it was"
        else:
            after = path.read_bytes()
            assert data.startswith(after), "opening may only cut a tail"
            assert len(after) >= framed_end, "opening cut committed batches"
            if len(after) < len(data):
                broken = path.with_name("events.jsonl.broken").read_bytes()
                assert broken == data[len(after) :], "the cut tail must be kept"
    finally:
        await store.close()


def _check(segments: list[Segment]) -> None:
    data = b"".join(s.data for s in segments)
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(check_log(Path(tmp), data, *expectations(segments)))


RELAXED = [HealthCheck.too_slow, HealthCheck.data_too_large]


@settings(max_examples=60, deadline=None, suppress_health_check=RELAXED)
@given(hostile_logs())
def test_hostile_logs(segments: list[Segment]) -> None:
    _check(segments)


@pytest.mark.slow
@settings(max_examples=5000, deadline=None, suppress_health_check=RELAXED)
@given(hostile_logs())
def test_hostile_logs_long(segments: list[Segment]) -> None:
    _check(segments)


# huge lines (several MB): no quadratic reading, no hang, clear errors

BIG = 8 * 1024 * 1024


def _valid(n: int, first: int = 1) -> list[Envelope]:
    return [
        NodeStarted(seq=first + i, run_id=RUN, ts=TS, node=f"n{i}", attempt=1) for i in range(n)
    ]


@pytest.mark.parametrize("where", ["valid", "middle", "tail", "tail-newline"])
async def test_huge_lines(tmp_path: Path, where: str) -> None:
    head = frame(_valid(3))
    if where == "valid":
        big = frame(
            [
                NodeSucceeded(
                    seq=4,
                    run_id=RUN,
                    ts=TS,
                    node="n",
                    data=NodeSucceededData(output={"x": "y" * BIG}),
                )
            ]
        )
        data, leading, clean, framed_end = head + big, None, True, len(head) + len(big)
    elif where == "middle":
        data = head + b"z" * BIG + b"\n" + frame(_valid(1, 4))
        leading, clean, framed_end = [], False, len(head)
    elif where == "tail":
        data, leading, clean, framed_end = head + b"z" * BIG, _valid(3), True, len(head)
    else:
        data, leading, clean, framed_end = head + b"z" * BIG + b"\n", _valid(3), False, len(head)
    began = time.monotonic()
    if leading is None:
        store = JsonlEventStore(tmp_path / "probe")
        path = tmp_path / "probe" / RUN / "events.jsonl"
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        got = await store.read_all(RUN)
        await store.close()
        assert len(got) == 4 and got[-1].data.output["x"] == "y" * BIG  # type: ignore[attr-defined]
        leading = got
    await check_log(tmp_path / "data", data, leading, clean, framed_end)
    assert time.monotonic() - began < DEADLINE
    if where == "middle":
        store = JsonlEventStore(tmp_path / "data")
        with pytest.raises(CorruptLogError, match="line 4"):
            await store.read_all(RUN)
        await store.close()


async def test_open_for_append_keeps_the_whole_log_after_a_cut(tmp_path: Path) -> None:
    """After a torn tail is cut, appends continue right after the last committed batch."""
    head = frame(_valid(3))
    path = tmp_path / RUN / "events.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(head + frame(_valid(2, 4))[:-7])
    store = JsonlEventStore(tmp_path)
    try:
        assert await store.append(RUN, _valid(1, 4), 3) == 4
        assert [e.seq for e in await store.read_all(RUN)] == [1, 2, 3, 4]
        assert path.read_bytes().startswith(head)
        assert len(store.recovered) == 1
    finally:
        await store.close()
    assert not os.path.exists(tmp_path / RUN / "events.jsonl.tmp")


# real runs' logs, tampered, through the CLI


def agentos(data: Path, *args: str) -> tuple[int, str, str]:
    """`agentos --data DATA ARGS...` in-process: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli, ["--data", str(data), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A data dir with two finished runs, never changed (copy it before tampering)."""
    root = tmp_path_factory.mktemp("pristine") / "data"
    return root, asyncio.run(finished_runs(root, 2))


@pytest.fixture
def runs(
    pristine: tuple[Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, list[str]]:
    monkeypatch.setenv("AGENTOS_FSYNC", "0")
    root = tmp_path / "data"
    shutil.copytree(pristine[0], root)
    return root, pristine[1]


@pytest.mark.parametrize("how", TAMPERINGS, ids=lambda t: t.name)
def test_cli_refuses_a_tampered_log_naming_file_and_line(
    runs: tuple[Path, list[str]], how: Tampering
) -> None:
    root, (run_id, other) = runs
    log = root / run_id / "events.jsonl"
    tamper(log, how, root / other / "events.jsonl")
    before = log.read_bytes()
    code, out, err = agentos(root, "events", run_id)
    assert code == 1, (out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert str(log) in err, err
    assert any(f"line {n}:" in err for n in how.lines), err
    code, out, err = agentos(root, "runs", "--json")
    rows = {r["run_id"]: r for r in json.loads(out)}
    assert code == 0 and rows[run_id]["status"] == "corrupt", rows
    assert any(f"line {n}:" in rows[run_id]["error"] for n in how.lines), rows[run_id]
    assert rows[other]["status"] == "succeeded"
    assert log.read_bytes() == before, "reading must not change the log"


async def test_store_refuses_a_log_copied_from_another_run(runs: tuple[Path, list[str]]) -> None:
    root, (run_id, other) = runs
    log = root / run_id / "events.jsonl"
    log.write_bytes((root / other / "events.jsonl").read_bytes())
    store = JsonlEventStore(root, durable=False)
    try:
        with pytest.raises(CorruptLogError, match=f"line 1: an event of run '{other}'") as exc:
            await store.read_all(run_id)
        assert exc.value.path == log and exc.value.line == 1
        with pytest.raises(CorruptLogError, match="in the log of run"):
            await store.prepare(run_id)  # nor appended to
    finally:
        await store.close()


def test_a_run_whose_only_batch_was_torn_is_no_run(runs: tuple[Path, list[str]]) -> None:
    root, (run_id, _) = runs
    first = (root / run_id / "events.jsonl").read_bytes().split(b"\n")[0]
    torn = root / "torn-run" / "events.jsonl"
    torn.parent.mkdir()
    torn.write_bytes(first[: len(first) // 2])
    code, out, err = agentos(root, "runs", "--json")
    assert code == 0 and "torn-run" not in {r["run_id"] for r in json.loads(out)}, out
    code, out, err = agentos(root, "resume", "torn-run")
    assert code == 1, (out, err)
    assert err.strip() == (
        "error: run torn-run has no acknowledged events (its first batch never reached the "
        "disk whole) (there is nothing to resume: start a new run)"
    ), err
    assert torn.read_bytes() == first[: len(first) // 2], "refusing must change nothing"
