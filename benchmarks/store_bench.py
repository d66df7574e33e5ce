"""Event store benchmark: JSONL append and fold throughput against raw baselines.

Run: `.venv/bin/python benchmarks/store_bench.py [--quick] [--json] [--dir DIR]`

Each store measurement is paired with a raw baseline measured in the same run:
- durable appends vs os.write of the same framed lines plus one fdatasync per batch
  (for concurrent appenders: one thread writes every run's batch of a round, then one
  fdatasync per touched file, which is ideal group commit);
- fold (JsonlEventStore read + evolve) vs reading the same file and parsing each line
  with orjson.loads (and json.loads, shown for reference).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from agentos.events import Envelope, ModelCalled, NodeStarted, NodeSucceeded, RunCreated
from agentos.events.model import ModelCalledData, NodeSucceededData, RunCreatedData
from agentos.eventstore import JsonlEventStore
from agentos.eventstore._framing import frame
from agentos.state import RunState, evolve

TS = datetime(2025, 1, 1, tzinfo=UTC)
SPEC = {"nodes": [{"name": f"n{i}"} for i in range(8)]}


def make_events(run_id: str, first: int, n: int) -> list[Envelope]:
    """`n` realistic events (a node start, a model call, a node result) from seq `first`."""
    out: list[Envelope] = []
    for seq in range(first, first + n):
        node = f"n{seq % 8}"
        if seq == 1:
            data = RunCreatedData(graph="bench", spec=SPEC, inputs={"task": "benchmark"})
            out.append(RunCreated(seq=seq, run_id=run_id, ts=TS, data=data))
        elif seq % 3 == 0:
            out.append(NodeStarted(seq=seq, run_id=run_id, ts=TS, node=node, attempt=1))
        elif seq % 3 == 1:
            called = ModelCalledData(
                provider="fake",
                model="fake-large",
                tokens_in=1200,
                tokens_out=300,
                cost=0.0042,
                latency_ms=812.5,
            )
            out.append(ModelCalled(seq=seq, run_id=run_id, ts=TS, node=node, data=called))
        else:
            result = NodeSucceededData(output={"summary": "done " * 8, "n": seq}, duration_ms=9)
            out.append(NodeSucceeded(seq=seq, run_id=run_id, ts=TS, node=node, data=result))
    return out


def plan(runs: int, rounds: int, batch: int) -> dict[str, list[list[Envelope]]]:
    """The batches each run appends, prebuilt so that timing covers only the store."""
    return {
        f"run{r:03d}": [make_events(f"run{r:03d}", 1 + i * batch, batch) for i in range(rounds)]
        for r in range(runs)
    }


@dataclass
class Row:
    """One measurement: the store's rate, the baseline's, and the target ratio if any."""

    name: str
    events: int
    store_eps: float
    baseline_eps: float
    baseline: str
    target: float | None = None

    @property
    def ratio(self) -> float:
        return self.store_eps / self.baseline_eps

    @property
    def ok(self) -> bool | None:
        return None if self.target is None else self.ratio >= self.target


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# appends


async def _store_append(root: Path, work: dict[str, list[list[Envelope]]], durable: bool) -> float:
    store = JsonlEventStore(root, durable=durable)
    # open every log first: opening (mkdir, lock, dir fsync) is not what we measure
    for run_id in work:
        await store.prepare(run_id)

    async def appender(batches: list[list[Envelope]]) -> None:
        last = 0
        for batch in batches:
            last = await store.append(batch[0].run_id, batch, expected_seq=last)

    start = time.perf_counter()
    await asyncio.gather(*(appender(b) for b in work.values()))
    elapsed = time.perf_counter() - start
    await store.close()
    return elapsed


def _raw_append(root: Path, work: dict[str, list[list[Envelope]]], durable: bool) -> float:
    """Ideal group commit: each round writes every run's batch, then syncs each file once."""
    lines = {run_id: [frame(b) for b in batches] for run_id, batches in work.items()}
    root.mkdir(parents=True, exist_ok=True)
    fds = {
        run_id: os.open(root / f"{run_id}.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        for run_id in work
    }
    rounds = len(next(iter(work.values())))
    start = time.perf_counter()
    for i in range(rounds):
        for run_id, fd in fds.items():
            os.write(fd, lines[run_id][i])
        if durable:
            for fd in fds.values():
                os.fdatasync(fd)
    elapsed = time.perf_counter() - start
    for fd in fds.values():
        os.close(fd)
    return elapsed


def bench_append(
    tmp: Path,
    name: str,
    runs: int,
    rounds: int,
    batch: int,
    durable: bool,
    target: float | None,
    repeats: int = 3,
) -> Row:
    work = plan(runs, rounds, batch)
    events = runs * rounds * batch
    # best of `repeats`, alternating store and baseline so that disk noise hits both
    store_s = raw_s = float("inf")
    for i in range(repeats):
        store_s = min(store_s, asyncio.run(_store_append(tmp / f"{name}-s{i}", work, durable)))
        raw_s = min(raw_s, _raw_append(tmp / f"{name}-r{i}", work, durable))
    label = "os.write + fdatasync per round and file" if durable else "os.write"
    return Row(name, events, events / store_s, events / raw_s, label, target)


# fold


async def _write_log(root: Path, total: int) -> Path:
    store = JsonlEventStore(root, durable=False)
    last = 0
    while last < total:
        size = min(1 + last % 4, total - last)
        last = await store.append("fold", make_events("fold", last + 1, size), expected_seq=last)
    await store.close()
    return store.log_path("fold")


async def _fold_store(root: Path) -> RunState:
    store = JsonlEventStore(root, durable=False)
    state = RunState()
    async for event in store.read("fold"):
        evolve(state, event)
    await store.close()
    return state


def _parse(path: Path, loads: Callable[[bytes], object]) -> int:
    n = 0
    with open(path, "rb") as f:
        for line in f:
            loads(line)
            n += 1
    return n


def bench_fold(tmp: Path, total: int) -> list[Row]:
    root = tmp / "fold"
    path = asyncio.run(_write_log(root, total))
    state: list[RunState] = []
    store_s = min(_timed(lambda: state.append(asyncio.run(_fold_store(root)))) for _ in range(3))
    assert state[0].last_seq == total
    orjson_s = min(_timed(lambda: _parse(path, orjson.loads)) for _ in range(3))
    json_s = min(_timed(lambda: _parse(path, json.loads)) for _ in range(3))
    return [
        Row("fold (read + evolve)", total, total / store_s, total / orjson_s, "orjson.loads", 0.25),
        Row("fold (read + evolve)", total, total / store_s, total / json_s, "json.loads", None),
    ]


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    return {
        "nproc": str(os.cpu_count()),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def render(rows: list[Row], info: dict[str, str], command: str) -> str:
    """The results as a markdown table."""
    out = [
        f"Measured with `{command}` on {info['platform']}, "
        f"nproc={info['nproc']}, Python {info['python']}.",
        "",
        "| measurement | events | store ev/s | baseline ev/s | baseline | ratio | target |",
        "|---|---:|---:|---:|---|---:|---|",
    ]
    for r in rows:
        target = "" if r.target is None else f"≥ {r.target:.0%} {'met' if r.ok else 'MISSED'}"
        out.append(
            f"| {r.name} | {r.events:,} | {r.store_eps:,.0f} | {r.baseline_eps:,.0f} | "
            f"{r.baseline} | {r.ratio:.0%} | {target} |"
        )
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer events, a few seconds")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--dir", help="where to write the logs (default: a temp dir)")
    args = parser.parse_args()
    quick = args.quick
    tmp = Path(tempfile.mkdtemp(prefix="agentos-bench-", dir=args.dir))
    try:
        single = 300 if quick else 3000
        rounds = 10 if quick else 60
        rows = [
            bench_append(tmp, "durable, 1 appender", 1, single, 1, True, None),
            bench_append(tmp, "durable, 64 appenders, batch 1", 64, rounds, 1, True, 0.5),
            bench_append(tmp, "durable, 64 appenders, batch 4", 64, rounds, 4, True, 0.5),
            bench_append(tmp, "non-durable, 1 appender", 1, single * 3, 1, False, None),
            bench_append(tmp, "non-durable, 64 appenders, batch 1", 64, rounds, 1, False, None),
            *bench_fold(tmp, 20_000 if quick else 100_000),
        ]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    info = machine()
    command = "python benchmarks/store_bench.py" + (" --quick" if quick else "")
    if args.json:
        doc = {"machine": info, "command": command, "rows": []}
        for r in rows:
            doc["rows"].append({**asdict(r), "ratio": r.ratio, "ok": r.ok})
        print(json.dumps(doc, indent=2))
    else:
        print(render(rows, info, command))
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
