"""Read-side benchmark: fold rate against orjson, and the state at a step of a long run.

Run: `.venv/bin/python benchmarks/fold_bench.py [--quick] [--json] [--dir DIR]`

- fold: `load_state` of a whole JSONL log (read, checksum, validate, evolve) against
  reading the same file and parsing each line with `orjson.loads`, in the same run;
- decode: `codec.decode` of each line's event JSON alone, for the breakdown;
- state at a step: `load_state(store, run, upto=seq)` of a 10,000-event run at random
  seqs, on one store, after a first read of the whole run (timed on its own).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson
from store_bench import make_events

from agentos.events.codec import decode
from agentos.eventstore import JsonlEventStore
from agentos.eventstore._framing import unframe
from agentos.state import load_state


async def _write_log(root: Path, run_id: str, total: int) -> Path:
    store = JsonlEventStore(root, durable=False)
    last = 0
    while last < total:
        size = min(1 + last % 4, total - last)
        last = await store.append(run_id, make_events(run_id, last + 1, size), expected_seq=last)
    await store.close()
    return store.log_path(run_id)


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


async def _full_fold(root: Path, run_id: str) -> int:
    store = JsonlEventStore(root, durable=False)
    state = await load_state(store, run_id)
    await store.close()
    return state.last_seq


def _orjson_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as f:
        for line in f:
            orjson.loads(line)
            n += 1
    return n


def _decode_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as f:
        for line in f:
            parsed = unframe(line[:-1])
            assert parsed is not None
            decode(parsed[1])
            n += 1
    return n


def bench_fold(root: Path, total: int, repeat: int) -> dict[str, float]:
    path = asyncio.run(_write_log(root, "fold", total))
    fold_s = min(_timed(lambda: asyncio.run(_full_fold(root, "fold"))) for _ in range(repeat))
    orjson_s = min(_timed(lambda: _orjson_lines(path)) for _ in range(repeat))
    decode_s = min(_timed(lambda: _decode_lines(path)) for _ in range(repeat))
    return {
        "events": total,
        "fold_ev_s": total / fold_s,
        "orjson_ev_s": total / orjson_s,
        "decode_ev_s": total / decode_s,
        "ratio": orjson_s / fold_s,
    }


async def _at_steps(root: Path, run_id: str, total: int, steps: list[int]) -> dict[str, float]:
    store = JsonlEventStore(root, durable=False)
    start = time.perf_counter()
    first = await load_state(store, run_id)  # the run as it is now, as a viewer reads first
    first_ms = (time.perf_counter() - start) * 1000
    assert first.last_seq == total
    took: list[float] = []
    for seq in steps:
        start = time.perf_counter()
        state = await load_state(store, run_id, upto=seq)
        took.append((time.perf_counter() - start) * 1000)
        assert state.last_seq == seq
    await store.close()
    took.sort()
    return {
        "events": total,
        "steps": len(steps),
        "first_ms": first_ms,
        "median_ms": statistics.median(took),
        "p99_ms": took[int(len(took) * 0.99)],
        "max_ms": took[-1],
    }


def bench_steps(root: Path, total: int, count: int) -> dict[str, float]:
    asyncio.run(_write_log(root, "steps", total))
    rng = random.Random(7)
    steps = [rng.randint(1, total) for _ in range(count)] + [1, total]
    return asyncio.run(_at_steps(root, "steps", total, steps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fold-bench-", dir=args.dir))
    try:
        fold = bench_fold(tmp / "fold", 20_000 if args.quick else 100_000, 3)
        steps = bench_steps(tmp / "steps", 10_000, 50 if args.quick else 200)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "machine": {"nproc": str(os.cpu_count()), "python": platform.python_version()},
        "fold": fold,
        "steps": steps,
    }
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return
    print(
        f"fold of {fold['events']:,} events: {fold['fold_ev_s']:,.0f} ev/s; "
        f"orjson.loads {fold['orjson_ev_s']:,.0f} lines/s; ratio {fold['ratio']:.0%} "
        f"(target >= 25%: {'met' if fold['ratio'] >= 0.25 else 'MISSED'}); "
        f"decode alone {fold['decode_ev_s']:,.0f} ev/s"
    )
    print(
        f"state at a step of a {steps['events']:,}-event run, {steps['steps']} steps: "
        f"median {steps['median_ms']:.2f} ms, p99 {steps['p99_ms']:.2f} ms, "
        f"max {steps['max_ms']:.2f} ms (target <= 5 ms: "
        f"{'met' if steps['max_ms'] <= 5 else 'MISSED'}); first read {steps['first_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()
