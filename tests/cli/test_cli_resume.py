"""`agentos resume`: carry on an interrupted run; a finished one is only reported."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from cli_support import Invoke, run_ids

from agentos.eventstore import JsonlEventStore


def _interrupted_copy(data: Path, run_id: str, upto: int) -> str:
    """A new run whose log is `run_id`'s first `upto` events, as if its process died."""

    async def copy() -> str:
        store = JsonlEventStore(data, durable=False)
        try:
            events = await store.read_all(run_id, upto_seq=upto)
            new_id = "run-interrupted"
            copies = [e.model_copy(update={"run_id": new_id}) for e in events]
            await store.append(new_id, copies, 0)
            return new_id
        finally:
            await store.close()

    return asyncio.run(copy())


def test_resume_an_interrupted_run(invoke: Invoke, done_run: str, data: Path) -> None:
    run_id = _interrupted_copy(data, done_run, 8)  # a and b done, c running
    result = invoke("resume", run_id)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"run {run_id} resumed after seq 8" in out
    assert "ok d" in out and "ok a " not in out
    assert "status succeeded" in out
    state = json.loads(invoke("events", run_id, "--summary", "--json").stdout)
    assert state["status"] == "succeeded" and state["nodes"]["a"]["attempts"] == 1


def test_resume_a_finished_run(invoke: Invoke, done_run: str) -> None:
    result = invoke("resume", done_run, "--json")
    assert result.exit_code == 0
    assert "already ended: succeeded" in result.stderr
    assert json.loads(result.stdout)["status"] == "succeeded"


def test_resume_unknown_run_writes_nothing(invoke: Invoke, done_run: str, data: Path) -> None:
    result = invoke("resume", "nope")
    assert result.exit_code == 2 and "unknown run 'nope'" in result.stderr
    assert run_ids(data) == [done_run] and not (data / "nope").exists()


def test_runs_lists_an_interrupted_run_until_it_is_resumed(
    invoke: Invoke, done_run: str, data: Path
) -> None:
    run_id = _interrupted_copy(data, done_run, 8)
    rows = {r["run_id"]: r for r in json.loads(invoke("runs", "--json").stdout)}
    assert rows[run_id]["status"] == "interrupted"
    assert invoke("resume", run_id).exit_code == 0
    rows = {r["run_id"]: r for r in json.loads(invoke("runs", "--json").stdout)}
    assert rows[run_id]["status"] == "succeeded"
