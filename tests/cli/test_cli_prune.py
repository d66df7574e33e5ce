"""`agentos runs --prune --older-than AGE`: a dry run by default, --yes deletes the
old finished runs through the store, never an unfinished, recent or corrupt one."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_support import Invoke, run_ids

from agentos.events import model as ev
from agentos.eventstore import JsonlEventStore

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=40)


def write_run(data: Path, run_id: str, ended: str | None, when: datetime) -> None:
    """A run's log, written as its process would have: created, started, and `ended`
    (run_succeeded, run_failed, run_cancelled) or nothing more."""
    spec = {"nodes": [{"name": "a"}]}
    events: list[ev.Envelope] = [
        ev.RunCreated(seq=1, run_id=run_id, ts=when, data=ev.RunCreatedData(graph="g", spec=spec)),
        ev.RunStarted(seq=2, run_id=run_id, ts=when),
    ]
    if ended == "run_succeeded":
        events.append(ev.RunSucceeded(seq=3, run_id=run_id, ts=when))
    elif ended == "run_failed":
        events.append(ev.RunFailed(seq=3, run_id=run_id, ts=when, data=ev.RunFailedData(error="x")))
    elif ended == "run_cancelled":
        events.append(ev.RunCancelled(seq=3, run_id=run_id, ts=when, data=ev.ReasonData()))

    async def write() -> None:
        store = JsonlEventStore(data, durable=False)
        try:
            await store.append(run_id, events, expected_seq=0)
            await store.put_artifact(run_id, "doc", {"k": 1})
        finally:
            await store.close()

    asyncio.run(write())


@pytest.fixture
def runs(data: Path) -> Path:
    write_run(data, "old-ok", "run_succeeded", OLD)
    write_run(data, "old-failed", "run_failed", OLD)
    write_run(data, "old-cancelled", "run_cancelled", OLD)
    write_run(data, "old-interrupted", None, OLD)  # unfinished: never pruned
    write_run(data, "new-ok", "run_succeeded", NOW)
    corrupt = data / "old-corrupt" / "events.jsonl"
    corrupt.parent.mkdir()
    corrupt.write_text("not json\n{}\n")
    return data


OLD_FINISHED = ["old-cancelled", "old-failed", "old-ok"]


def test_a_dry_run_lists_and_deletes_nothing(invoke: Invoke, runs: Path) -> None:
    before = run_ids(runs)
    result = invoke("runs", "--prune", "--older-than", "30d")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for run_id in OLD_FINISHED:
        assert f"would delete: {run_id}" in out
    assert "interrupted" not in out and "new-ok" not in out and "corrupt" not in out
    assert "dry run: 3 runs would be deleted; add --yes to delete them" in out
    assert run_ids(runs) == before


def test_yes_deletes_old_finished_runs_through_the_store(invoke: Invoke, runs: Path) -> None:
    result = invoke("runs", "--prune", "--older-than", "30d", "--yes", "--json")
    assert result.exit_code == 0, result.output
    docs = json.loads(result.stdout)
    assert sorted(d["run_id"] for d in docs) == OLD_FINISHED
    assert {d["outcome"] for d in docs} == {"deleted"}
    assert run_ids(runs) == ["new-ok", "old-corrupt", "old-interrupted"]
    assert not (runs / "old-ok").exists()  # its artifacts went with it
    listed = json.loads(invoke("runs", "--json").stdout)
    assert {r["run_id"]: r["status"] for r in listed}["old-interrupted"] == "interrupted"


def test_only_one_status(invoke: Invoke, runs: Path) -> None:
    result = invoke("runs", "--prune", "--older-than", "30d", "--status", "failed", "--yes")
    assert result.exit_code == 0
    assert "deleted: old-failed" in result.stdout and "deleted 1 of 1 runs" in result.stdout
    assert "old-ok" in run_ids(runs)


def test_a_run_younger_than_the_age_is_kept(invoke: Invoke, runs: Path) -> None:
    result = invoke("runs", "--prune", "--older-than", "6w", "--yes")
    assert result.exit_code == 0
    assert "no finished runs ended more than 6w ago" in result.stdout
    assert len(run_ids(runs)) == 6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prune"], "--prune needs --older-than AGE"),
        (["--older-than", "30d"], "--older-than and --yes go with --prune"),
        (["--prune", "--older-than", "30 days"], "is not an age"),
        (["--prune", "--older-than", "0d"], "is not an age"),
        (["--prune", "--older-than", "1d", "--status", "running"], "finished runs only"),
    ],
)
def test_bad_options_delete_nothing(
    invoke: Invoke, runs: Path, args: list[str], message: str
) -> None:
    before = run_ids(runs)
    result = invoke("runs", *args, "--yes")
    assert result.exit_code == 2
    assert message in result.stderr
    assert run_ids(runs) == before


def test_the_interrupted_status_is_listed_and_filtered(invoke: Invoke, runs: Path) -> None:
    result = invoke("runs", "--status", "interrupted", "--json")
    assert [r["run_id"] for r in json.loads(result.stdout)] == ["old-interrupted"]
