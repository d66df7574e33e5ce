"""The members' kill loop: three member processes drive 200 runs; one of them, chosen by
a seeded random, is killed -9 again and again while runs are in flight and replaced by a
new process, until every run has ended. Then every run succeeded with contiguous seqs
and no node succeeded twice, and the logs agree with what each process saw acknowledged
(`pg_acks`: every acknowledged event present, no write of a stale owner after a
takeover, each takeover moved the epoch). The checks themselves are tested on made-up
logs first."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest
from pg_acks import Members, check_runs, count, turns_of, wait_ended
from pg_agents import graph

from agentos.eventstore.pg_cluster import Membership, enqueue
from agentos.eventstore.postgres import PostgresEventStore
from agentos.graphs import load_graph

RUNS = 200
KILLS = 8
#: events appended between two kills (a run of the 4-node graph has 13)
PROGRESS = 150


def test_a_write_after_a_takeover_is_caught() -> None:
    killed = [True, False, False]
    assert turns_of("r", [0, 0, 1, 1], killed) == [0, 1]
    assert turns_of("r", [0, None, 1], killed) == [0, 1]  # committed, not seen acked
    assert turns_of("r", [None, 1, 2], killed) == [1, 2]
    with pytest.raises(AssertionError, match="wrote after a takeover"):
        turns_of("r", [0, 1, 0], killed)
    with pytest.raises(AssertionError, match="written by a live member"):
        turns_of("r", [1, None, 2], killed)
    with pytest.raises(AssertionError, match="a gap inside one member's turn"):
        turns_of("r", [0, None, 0], killed)


async def queue(url: str, run_ids: list[str]) -> None:
    store = PostgresEventStore(url)
    try:
        await Membership(store, 1).join()  # the schema exists before the members race
        doc = load_graph(graph(0.4)).model_dump(mode="json")
        await asyncio.gather(*(enqueue(store, r, doc, {}, None) for r in run_ids))
    finally:
        await store.close()


@pytest.mark.slow
def test_200_runs_survive_a_kill_9_loop_of_members(pg_url: str, tmp_path: Path) -> None:
    pick = random.Random(18)
    run_ids = [f"l{i}" for i in range(RUNS)]
    asyncio.run(queue(pg_url, run_ids))
    members = Members(pg_url, tmp_path, capacity=100)
    in_flight_at_kill = []
    try:
        for _ in range(3):
            members.spawn()
        for _ in range(KILLS):
            seen = count(pg_url, "SELECT count(*) FROM events")
            deadline = time.monotonic() + 60
            while count(pg_url, "SELECT count(*) FROM events") < seen + PROGRESS:
                if count(pg_url, "SELECT count(*) FROM runs WHERE ended") == RUNS:
                    break
                assert time.monotonic() < deadline, "no progress between kills"
                time.sleep(0.02)
            open_runs = RUNS - count(pg_url, "SELECT count(*) FROM runs WHERE ended")
            if open_runs == 0:
                break
            in_flight_at_kill.append(open_runs)
            pick.choice(members.live()).kill()
            members.spawn()
        wait_ended(pg_url, RUNS, timeout=120)
        check_runs(pg_url, run_ids)
        members.settled()
        members.stop()
        turns = members.check()
    finally:
        members.stop()
    assert len(in_flight_at_kill) >= 5, in_flight_at_kill  # kills met runs in flight
    assert max(turns.values()) >= 2  # runs were taken over
    killed = sum(m.killed for m in members.all)
    assert killed == len(in_flight_at_kill)
