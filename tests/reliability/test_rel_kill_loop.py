"""Kill loop: SIGKILL runs of the 8-node graph at random moments, resume, check the log.

Each run starts in a child process that is killed at a seeded random moment spread over
a run's duration, is resumed in another child (itself killed 0-2 more times), then resumed
to the end. Checked per run: it succeeded; seqs are contiguous with no duplicates; every
event an append acknowledged (recorded in a side file before the runtime acted) is in the
final log, byte for byte; no node that had succeeded in the log ran again; the final
state hash equals that of an uninterrupted run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rel_kill_child import Zygote

from agentos.eventstore import JsonlEventStore
from agentos.eventstore._framing import unframe
from agentos.state import RunState, fold, state_hash

SLEEP = 0.04  # per node: five levels, so a run takes ~0.25 s plus commits
RUN_ID = "run-kill"


@dataclass
class Report:
    """What happened to one run of the loop."""

    seed: int
    kills: int = 0
    finished_before_kill: int = 0
    acked: int = 0
    executions: int = 0
    events: int = 0


@dataclass
class Child:
    mode: str
    status: Path
    acks: Path
    exec: Path
    pid: int = 0
    outcome: list[str] = field(default_factory=list)


def _spawn(zyg: Zygote, root: Path, n: int, mode: str) -> Child:
    child = Child(mode, root / f"status{n}", root / f"acks{n}", root / f"exec{n}")
    child.pid = zyg.spawn(
        mode=mode,
        data=str(root / "data"),
        run_id=RUN_ID,
        acks=str(child.acks),
        exec=str(child.exec),
        status=str(child.status),
        sleep=SLEEP,
    )
    return child


def _lines(path: Path) -> list[str]:
    """The complete lines of a side file (a killed child may leave a torn last one)."""
    if not path.exists():
        return []
    text = path.read_text()
    return text.split("\n")[:-1]


def _wait_go(zyg: Zygote, child: Child, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while "go" not in _lines(child.status):
        code = zyg.poll(child.pid)
        if code is not None and "go" not in _lines(child.status):
            err = Path(str(child.status) + ".err")
            pytest.fail(
                f"{child.mode} child exited {code}: {err.read_text() if err.exists() else ''}"
            )
        if time.monotonic() > deadline:
            zyg.kill(child.pid)
            pytest.fail(f"{child.mode} child never started")
        time.sleep(0.002)


def _read_state(data: Path) -> RunState:
    async def read() -> RunState:
        store = JsonlEventStore(data)
        try:
            return fold(await store.read_all(RUN_ID))
        finally:
            await store.close()

    return asyncio.run(read())


def reference(zyg: Zygote, root: Path) -> tuple[str, float]:
    """The state hash of an uninterrupted run, and how long it ran."""
    root.mkdir(parents=True)
    child = _spawn(zyg, root, 0, "start")
    _wait_go(zyg, child)
    began = time.monotonic()
    assert zyg.wait(child.pid, 60) == 0
    duration = time.monotonic() - began
    state = _read_state(root / "data")
    assert state.status == "succeeded"
    return state_hash(state), duration


def kill_loop_run(zyg: Zygote, root: Path, seed: int, duration: float, ref_hash: str) -> Report:
    """One run: killed 1-3 times at random moments, then resumed to the end, then checked."""
    rng = random.Random(seed)
    report = Report(seed)
    root.mkdir(parents=True)
    children: list[Child] = []
    done_at_kill: list[set[str]] = []  # nodes succeeded in the log when child i died
    left = 1.0  # the share of the run still to do: kills spread over what remains
    for n in range(rng.randint(1, 3)):
        child = _spawn(zyg, root, n, "start" if n == 0 else "resume")
        children.append(child)
        _wait_go(zyg, child)
        time.sleep(rng.uniform(0, 1.2 * duration * left))
        killed = zyg.kill(child.pid)
        report.kills += 1
        state = _read_state(root / "data")
        if not killed or state.finished:
            report.finished_before_kill += 1
        done_at_kill.append({n for n, s in state.nodes.items() if s.status == "succeeded"})
        left = max(0.1, 1 - len(done_at_kill[-1]) / max(1, len(state.nodes)))
    final = _spawn(zyg, root, len(children), "resume")
    code = zyg.wait(final.pid, 60)
    err = Path(str(final.status) + ".err")
    assert code == 0, err.read_text() if err.exists() else ""
    assert _lines(final.status)[-1] == "succeeded"
    children.append(final)

    # the final log: contiguous seqs, no duplicates, every acknowledged event identical
    raw = (root / "data" / RUN_ID / "events.jsonl").read_bytes()
    bodies = []
    for line in raw.split(b"\n")[:-1]:
        parsed = unframe(line)
        assert parsed is not None
        bodies.append(parsed[1])
    digests = [hashlib.sha256(b).hexdigest() for b in bodies]
    state = _read_state(root / "data")
    assert state.last_seq == len(bodies)
    report.events = len(bodies)
    for child in children:
        for line in _lines(child.acks):
            seq, digest = int(line.split()[0]), line.split()[1]
            assert 1 <= seq <= len(digests), f"seed {seed}: acknowledged seq {seq} is missing"
            assert digests[seq - 1] == digest, f"seed {seed}: acknowledged seq {seq} changed"
            report.acked += 1

    # no node that had succeeded in the log ran again in a later child
    for n, done in enumerate(done_at_kill):
        later = {line.split()[1] for c in children[n + 1 :] for line in _lines(c.exec)}
        assert not later & done, f"seed {seed}: succeeded nodes ran again: {later & done}"
    # every success in the log comes from an execution of that attempt
    ran = {(line.split()[1], int(line.split()[2])) for c in children for line in _lines(c.exec)}
    report.executions = len(ran)
    for name, node in state.nodes.items():
        assert node.status == "succeeded"
        assert (name, node.attempts) in ran, f"seed {seed}: {name} succeeded without running"
    assert state_hash(state) == ref_hash, f"seed {seed}: the final state differs"
    return report


def run_loop(root: Path, runs: int, base_seed: int) -> list[Report]:
    """`runs` kill-loop runs on a few worker threads, each with its own zygote."""
    workers = max(2, min(runs, os.cpu_count() or 2))
    zygotes = [Zygote() for _ in range(workers)]
    try:
        ref_hash, duration = reference(zygotes[0], root / "reference")
        seeds = [base_seed + i for i in range(runs)]

        def work(w: int) -> list[Report]:
            return [
                kill_loop_run(zygotes[w], root / f"run{seed}", seed, duration, ref_hash)
                for seed in seeds[w::workers]
            ]

        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(work, range(workers)))
    finally:
        for zyg in zygotes:
            zyg.close()
    reports = [r for chunk in results for r in chunk]
    kills = sum(r.kills for r in reports)
    early = sum(r.finished_before_kill for r in reports)
    print(
        f"kill loop: {len(reports)} runs, {kills} kills ({early} after the run had finished), "
        f"{sum(r.acked for r in reports)} acknowledged events checked, run ~{duration:.2f}s"
    )
    # timing robustness: most kills must land while the run is still going
    assert early < kills, "every kill came after the run had finished: the loop tests nothing"
    return reports


def test_kill_loop_short(tmp_path: Path) -> None:
    reports = run_loop(tmp_path, runs=6, base_seed=1000)
    assert len(reports) == 6


@pytest.mark.slow
def test_kill_loop_long(tmp_path: Path) -> None:
    reports = run_loop(tmp_path, runs=200, base_seed=5000)
    assert len(reports) == 200
