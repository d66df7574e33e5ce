"""Golden logs: old event logs still decode and fold to the state they folded to then.

Each tests/golden/<name>/ holds a finished log written by an earlier agentos and the
canonical state folded from it. A schema or fold change that breaks old logs fails here;
for an intentional change, run tests/golden/regenerate.py (see docs/reliability.md).
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from agentos.events import EVENT_TYPES
from agentos.eventstore import JsonlEventStore
from agentos.state import canonical, fold, state_hash

HERE = Path(__file__).resolve().parent
NAMES = sorted(p.parent.name for p in HERE.glob("*/events.jsonl"))


def test_golden_logs_exist() -> None:
    assert set(NAMES) >= {"eight-noop", "retry-failure", "conditional", "replayed", "demo"}


@pytest.mark.parametrize("name", NAMES)
async def test_golden_log_folds_to_its_stored_state(name: str, tmp_path: Path) -> None:
    before = (HERE / name / "events.jsonl").read_bytes()
    # a log is read as its own run's: the folder is named by the run id it records
    run_id = orjson.loads(before.split(b"\n", 1)[0])["run_id"]
    (tmp_path / run_id).mkdir()
    (tmp_path / run_id / "events.jsonl").write_bytes(before)
    store = JsonlEventStore(tmp_path)  # reading takes no lock and writes nothing
    try:
        events = await store.read_all(run_id)
    finally:
        await store.close()
    assert (tmp_path / run_id / "events.jsonl").read_bytes() == before
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    state = fold(events)
    assert state.finished
    stored = orjson.loads((HERE / name / "state.json").read_bytes())
    assert canonical(state) == stored
    assert state_hash(state) == (HERE / name / "state_hash.txt").read_text().strip()
    # every prefix folds too (what replay and the dashboard's time travel do)
    for upto in range(1, len(events) + 1):
        fold(events, upto=upto)


def test_golden_logs_cover_the_event_types() -> None:
    seen: set[str] = set()
    for name in NAMES:
        for line in (HERE / name / "events.jsonl").read_bytes().splitlines():
            seen.add(orjson.loads(line)["type"])
    wanted = {
        "run_created",
        "run_started",
        "node_scheduled",
        "node_started",
        "node_succeeded",
        "node_failed",
        "node_retrying",
        "node_skipped",
        "node_cancelled",
        "context_compiled",
        "model_selected",
        "model_called",
        "artifact_written",
        "file_written",
        "workspace_created",
        "replayed_from",
        "run_succeeded",
        "run_failed",
    }
    assert wanted <= seen <= set(EVENT_TYPES), sorted(wanted - seen)


def test_a_replay_of_a_deterministic_run_has_its_state() -> None:
    hashes = {n: (HERE / n / "state_hash.txt").read_text().strip() for n in NAMES}
    assert hashes["replayed"] == hashes["eight-noop"]
