"""Member processes that record what they saw acknowledged, and the checks of a log
against those records (the kill tests of the PostgreSQL members).

Each member process (`pg_member_child.py`) is one incarnation with its own ack file.
After the runs ended, for every run:

- every acknowledged event is in the database with the same JSON (its hash);
- no seq was acknowledged to two processes;
- each process's acknowledged events form one turn: once another process has appended
  to the run, the earlier owner never appends again (no write of a stale epoch after a
  takeover: events carry no epoch, so who wrote them is read from the ack files);
- an event nobody acknowledged sits only at the end of a killed process's turn (a batch
  it committed but died before seeing acknowledged: each run has one batch in flight);
- the run's epoch is at least its number of turns (each takeover moved the fence).

`check_runs` checks the logs themselves: every run succeeded, seqs contiguous, no node
succeeded twice.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from pg_member_child import digest

from agentos.events.codec import decode
from agentos.state import fold

HERE = Path(__file__).parent


@dataclass
class Incarnation:
    """One member process: its ack file, and whether it was killed."""

    acks: Path
    proc: subprocess.Popen[bytes]
    killed: bool = False

    def kill(self) -> None:
        """kill -9, and reap it."""
        self.proc.kill()
        self.proc.wait()
        self.killed = True

    def stop(self) -> None:
        """SIGTERM (its runs are released), or kill -9 if it does not stop in 30 s."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def acked(self) -> dict[tuple[str, int], str]:
        """(run, seq) -> hash of each event this process saw acknowledged."""
        if not self.acks.exists():
            return {}
        found = {}
        for line in self.acks.read_text().split("\n")[:-1]:  # a torn last line: not yet
            run_id, seq, sha = line.split(" ")
            found[(run_id, int(seq))] = sha
        return found


@dataclass
class Members:
    """The member processes of one test, each with its ack file under `root`."""

    url: str
    root: Path
    capacity: int = 100
    ttl: float = 10.0
    all: list[Incarnation] = field(default_factory=list)

    def spawn(self) -> Incarnation:
        """Start one more member process."""
        n = len(self.all)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
        child = [sys.executable, str(HERE / "pg_member_child.py"), self.url]
        args = [str(self.root / f"acks{n}"), str(self.capacity), str(self.ttl)]
        with open(self.root / f"member{n}.log", "w") as log:  # the child keeps its own fd
            proc = subprocess.Popen([*child, *args], env=env, stderr=log)
        inc = Incarnation(self.root / f"acks{n}", proc)
        self.all.append(inc)
        return inc

    def live(self) -> list[Incarnation]:
        return [m for m in self.all if not m.killed and m.proc.poll() is None]

    def stop(self) -> None:
        for m in self.live():
            m.stop()

    def settled(self, timeout: float = 30) -> None:
        """Wait until the ack files are complete: every run's last event acknowledged,
        or left by a killed process (then nobody will acknowledge it)."""
        deadline = time.monotonic() + timeout
        while True:
            stored = stored_hashes(self.url)
            owners = self._owners()
            open_tails = [
                run_id
                for run_id, seqs in stored.items()
                if (run_id, max(seqs)) not in owners and not self._killed_tail(run_id, owners)
            ]
            if not open_tails:
                return
            assert time.monotonic() < deadline, f"acks never came for {open_tails[:5]}"
            time.sleep(0.05)

    def _owners(self) -> dict[tuple[str, int], int]:
        return {key: i for i, m in enumerate(self.all) for key in m.acked()}

    def _killed_tail(self, run_id: str, owners: dict[tuple[str, int], int]) -> bool:
        """Whether the run's last acknowledged event came from a killed process."""
        acked = [(seq, i) for (r, seq), i in owners.items() if r == run_id]
        return not acked or self.all[max(acked)[1]].killed

    def check(self) -> dict[str, int]:
        """Check the logs against the ack files (see the module doc); turns per run."""
        stored = stored_hashes(self.url)
        epochs = run_epochs(self.url)
        owners: dict[tuple[str, int], int] = {}
        for i, m in enumerate(self.all):
            for key, sha in m.acked().items():
                run_id, seq = key
                assert stored.get(run_id, {}).get(seq) == sha, f"acked {key} lost or changed"
                assert key not in owners, f"{key} acknowledged to two processes"
                owners[key] = i
        turns = {}
        for run_id, seqs in stored.items():
            assert sorted(seqs) == list(range(1, len(seqs) + 1)), f"{run_id}: seq gap"
            writers = [owners.get((run_id, s)) for s in range(1, len(seqs) + 1)]
            order = turns_of(run_id, writers, [m.killed for m in self.all])
            assert len(order) <= epochs[run_id], f"{run_id}: {len(order)} turns, epoch too low"
            turns[run_id] = len(order)
        return turns


def turns_of(run_id: str, writers: list[int | None], killed: list[bool]) -> list[int]:
    """The processes that wrote the run, in turn order; each turn contiguous, each gap
    (unacknowledged events) at the end of a killed process's turn."""
    order: list[int] = []
    gap_after: int | None = -1  # -1: no gap open; None: a gap at the run's start
    for seq, who in enumerate(writers, start=1):
        if who is None:
            if gap_after == -1:
                gap_after = order[-1] if order else None
                assert gap_after is None or killed[gap_after], (
                    f"{run_id} seq {seq}: unacknowledged, written by a live member"
                )
            continue
        if gap_after != -1 and order and order[-1] == who:
            raise AssertionError(f"{run_id} seq {seq}: a gap inside one member's turn")
        gap_after = -1
        if not order or order[-1] != who:
            assert who not in order, f"{run_id} seq {seq}: member {who} wrote after a takeover"
            order.append(who)
    return order


def stored_hashes(url: str) -> dict[str, dict[int, str]]:
    """run -> seq -> hash of each event in the database."""
    found: dict[str, dict[int, str]] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for run_id, seq, event in conn.execute("SELECT run_id, seq, event FROM events"):
            found.setdefault(run_id, {})[int(seq)] = digest(event.encode())
    return found


def run_epochs(url: str) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT run_id, epoch FROM runs").fetchall()
    return {r[0]: int(r[1]) for r in rows}


def count(url: str, sql: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0


def check_runs(url: str, run_ids: list[str]) -> None:
    """Every run succeeded, seqs contiguous, no node of a run succeeded twice."""
    logs: dict[str, list[tuple[int, str]]] = {r: [] for r in run_ids}
    with psycopg.connect(url, autocommit=True) as conn:
        sql = "SELECT run_id, seq, event FROM events WHERE run_id = ANY(%s) ORDER BY run_id, seq"
        for run_id, seq, event in conn.execute(sql, (run_ids,)):
            logs[run_id].append((int(seq), event))
    for run_id, rows in logs.items():
        assert [s for s, _ in rows] == list(range(1, len(rows) + 1)), run_id
        events = [decode(e) for _, e in rows]
        assert fold(events).status == "succeeded", run_id
        done = [e.node for e in events if e.type == "node_succeeded"]
        assert len(done) == len(set(done)) == 4, (run_id, done)


def wait_ended(url: str, runs: int, timeout: float) -> None:
    """Wait until `runs` runs have ended (bounded)."""
    deadline = time.monotonic() + timeout
    while (ended := count(url, "SELECT count(*) FROM runs WHERE ended")) < runs:
        assert time.monotonic() < deadline, f"{ended} of {runs} runs ended"
        time.sleep(0.05)
