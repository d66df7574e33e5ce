"""Child processes for the kill loop, forked from a pre-imported "zygote" process.

Importing agentos takes most of a second; the zygote imports it once and forks one child
per start or resume, so a test can kill hundreds of runs in seconds. Each child runs one
run of the 8-node graph through a store that records every acknowledged event (its seq and
the sha256 of its JSON) in a side file, fsynced after each ack, before the runtime acts.

Protocol (one JSON object per line on stdin, one answer per line on stdout):
  {"op": "spawn", ...job}  -> {"pid": n}
  {"op": "poll", "pid": n} -> {"code": exit code or null while alive}
  {"op": "kill", "pid": n} -> {"killed": was it alive, "code": exit code}
  {"op": "quit"}
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


# the child side


def _ack_store_class() -> Any:
    from agentos.events.codec import encode
    from agentos.events.model import Envelope
    from agentos.eventstore import JsonlEventStore

    class AckRecordingStore(JsonlEventStore):
        """A JSONL store that records each acknowledged event durably in a side file."""

        def __init__(self, root: str, acks: str) -> None:
            super().__init__(root, durable=True)
            self._acks = os.open(acks, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

        def submit(
            self, run_id: str, events: Sequence[Envelope], expected_seq: int
        ) -> concurrent.futures.Future[int]:
            future = super().submit(run_id, events, expected_seq)
            lines = "".join(
                f"{e.seq:08d} {hashlib.sha256(encode(e)).hexdigest()}\n" for e in events
            ).encode()

            def record(f: concurrent.futures.Future[int]) -> None:
                # runs before the supervisor's own callback: nothing acts before this
                if f.exception() is None:
                    os.write(self._acks, lines)
                    os.fsync(self._acks)

            future.add_done_callback(record)
            return future

    return AckRecordingStore


async def _job(job: dict[str, Any]) -> None:
    from rel_agents import eight_graph

    from agentos.actors import Supervisor

    store = _ack_store_class()(job["data"], job["acks"])
    sup = Supervisor.start(eight_graph(), store, workdir=job["data"])
    status = os.open(job["status"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        if job["mode"] == "start":
            await sup.start_run(run_id=job["run_id"])
        else:
            await sup.resume(job["run_id"])
        os.write(status, b"go\n")
        state = await sup.wait(job["run_id"])
        os.write(status, f"{state.status}\n".encode())
    finally:
        await sup.stop()
        await store.close()


def _child(job: dict[str, Any]) -> None:
    code = 1
    try:
        err = os.open(job["status"] + ".err", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(err, 1)  # never write into the zygote's protocol pipe
        os.dup2(err, 2)
        os.environ["AGENTOS_REL_EXEC_LOG"] = job["exec"]
        os.environ["AGENTOS_REL_SLEEP"] = str(job["sleep"])
        asyncio.run(_job(job))
        code = 0
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _serve() -> None:
    import rel_agents  # noqa: F401

    import agentos.actors
    import agentos.eventstore  # noqa: F401

    _ack_store_class()
    exited: dict[int, int] = {}

    def reap(pid: int, block: bool) -> int | None:
        if pid in exited:
            return exited[pid]
        done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
        if done == 0:
            return None
        exited[pid] = os.waitstatus_to_exitcode(status)
        return exited[pid]

    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd.pop("op")
        if op == "quit":
            break
        if op == "spawn":
            assert threading.active_count() == 1, "the zygote must not fork with threads"
            pid = os.fork()
            if pid == 0:
                _child(cmd)
            answer: dict[str, Any] = {"pid": pid}
        elif op == "poll":
            answer = {"code": reap(cmd["pid"], block=False)}
        elif op == "kill":
            alive = reap(cmd["pid"], block=False) is None
            if alive:
                os.kill(cmd["pid"], signal.SIGKILL)  # our own child: not yet reaped, so ours
            answer = {"killed": alive, "code": reap(cmd["pid"], block=True)}
        else:
            answer = {"error": f"unknown op {op}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


# the test side


class Zygote:
    """A handle on one zygote process; not thread-safe (use one per worker thread)."""

    def __init__(self) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        }
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )

    def _ask(self, **cmd: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the zygote died")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def spawn(self, **job: Any) -> int:
        """Fork a child running `job` (mode, data, run_id, acks, exec, status, sleep)."""
        return int(self._ask(op="spawn", **job)["pid"])

    def poll(self, pid: int) -> int | None:
        """The child's exit code, or None while it runs."""
        code = self._ask(op="poll", pid=pid)["code"]
        return None if code is None else int(code)

    def kill(self, pid: int) -> bool:
        """SIGKILL the child if it still runs; whether it was still running."""
        return bool(self._ask(op="kill", pid=pid)["killed"])

    def wait(self, pid: int, timeout: float) -> int:
        """Wait for the child to exit; kill it and raise TimeoutError after `timeout`."""
        deadline = time.monotonic() + timeout
        while (code := self.poll(pid)) is None:
            if time.monotonic() > deadline:
                self.kill(pid)
                raise TimeoutError(f"child {pid} still running after {timeout}s")
            time.sleep(0.005)
        return code

    def close(self) -> None:
        """Stop the zygote."""
        with contextlib.suppress(RuntimeError, BrokenPipeError, ValueError):
            self._ask(op="quit")
        self.proc.wait(timeout=10)


if __name__ == "__main__":
    _serve()
