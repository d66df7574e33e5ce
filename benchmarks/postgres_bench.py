"""The PostgreSQL store against durable JSONL, with the real Supervisor and 8-node graph.

At 1 run in flight (runs one after another) and at 100 in flight, on a throwaway
PostgreSQL cluster (as the tests start it: fsync and synchronous_commit on) or the server
`AGENTOS_TEST_POSTGRES_URL` names. Prints runs/s, events/s and transactions per run.

    .venv/bin/python benchmarks/postgres_bench.py [--runs 400] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _agentos_side import graph, registry

from agentos.actors import Supervisor
from agentos.eventstore import EventStore, JsonlEventStore
from agentos.eventstore.postgres import PostgresEventStore

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "eventstore"))
from postgres_cluster import Cluster, cluster


async def measure(st: EventStore, runs: int, in_flight: int) -> tuple[float, int]:
    """Wall seconds of `runs` runs with at most `in_flight` at once; events written."""
    sup = Supervisor.start(graph(), st, agents=registry())
    gate = asyncio.Semaphore(in_flight)
    try:

        async def one(i: int) -> int:
            async with gate:
                run_id = await sup.start_run({"task": i})
                state = await sup.wait(run_id)
                assert state.status == "succeeded", state.status
                return state.last_seq

        t0 = time.perf_counter()
        events = sum(await asyncio.gather(*(one(i) for i in range(runs))))
        return time.perf_counter() - t0, events
    finally:
        await sup.stop()
        await st.close()


async def one_round(pg: Cluster, root: Path, runs: int, in_flight: int) -> dict[str, float]:
    out: dict[str, float] = {}
    jsonl = JsonlEventStore(root / f"j{in_flight}-{time.monotonic_ns()}", durable=True)
    wall, _ = await measure(jsonl, runs, in_flight)
    out["jsonl"] = runs / wall
    store = PostgresEventStore(pg.fresh_url(), pool_size=4)
    wall, events = await measure(store, runs, in_flight)
    out["pg"] = runs / wall
    out["pg_events"] = events / wall
    out["pg_tx_per_run"] = store.commit_stats()[0] / runs
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400, help="runs per measurement at 100")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with cluster() as pg, tempfile.TemporaryDirectory() as tmp:
        if isinstance(pg, str):
            sys.exit(f"no PostgreSQL: {pg}")
        print(
            "in flight | runs | JSONL durable runs/s | Postgres runs/s | ratio | "
            "Postgres events/s | transactions/run"
        )
        for in_flight, runs in ((1, max(args.runs // 8, 20)), (100, args.runs)):
            results = [
                asyncio.run(one_round(pg, Path(tmp), runs, in_flight)) for _ in range(args.rounds)
            ]
            med = {k: statistics.median(r[k] for r in results) for k in results[0]}
            span = ", ".join(f"{r['pg']:.0f}/{r['jsonl']:.0f}" for r in results)
            print(
                f"{in_flight:>9} | {runs:>4} | {med['jsonl']:>20.0f} | {med['pg']:>15.0f} | "
                f"{med['pg'] / med['jsonl']:>5.2f} | {med['pg_events']:>17.0f} | "
                f"{med['pg_tx_per_run']:>16.2f}   (rounds pg/jsonl: {span})"
            )


if __name__ == "__main__":
    main()
