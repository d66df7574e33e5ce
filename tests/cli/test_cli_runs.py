"""`agentos runs`: newest first, --status, --json, corrupt logs listed."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import Invoke, run_ids


def test_lists_runs_newest_first(invoke: Invoke, small: Path, failing: Path, data: Path) -> None:
    assert invoke("run", str(small)).exit_code == 0
    assert invoke("run", str(failing)).exit_code == 1
    result = invoke("runs", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["graph"] for r in rows] == ["failing", "small"]
    assert [r["status"] for r in rows] == ["failed", "succeeded"]
    assert {r["run_id"] for r in rows} == set(run_ids(data))
    assert set(rows[0]) == {"run_id", "graph", "status", "events", "started", "duration_s", "error"}
    assert "boom" in rows[0]["error"]
    table = invoke("runs").stdout
    assert table.index("failing") < table.index("small")
    assert "succeeded" in table and "failed" in table
    only = json.loads(invoke("runs", "--status", "succeeded", "--json").stdout)
    assert [r["graph"] for r in only] == ["small"]
    assert "no runs with status cancelled" in invoke("runs", "--status", "cancelled").stdout


def test_corrupt_log_is_listed(invoke: Invoke, done_run: str, data: Path) -> None:
    (data / "broken").mkdir()
    (data / "broken" / "events.jsonl").write_text('{"not": "framed"}\n{"x": 1}\n')
    result = invoke("runs", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["run_id"]: r for r in json.loads(result.stdout)}
    assert rows["broken"]["status"] == "corrupt" and "line 1" in rows["broken"]["error"]
    assert rows[done_run]["status"] == "succeeded"
    assert "corrupt" in invoke("runs").stdout


def test_missing_data_dir(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("runs", data_dir=tmp_path / "nope")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: data dir") and "AGENTOS_DATA_DIR" in result.stderr
    assert not (tmp_path / "nope").exists()


def test_empty_data_dir(invoke: Invoke, data: Path) -> None:
    data.mkdir()
    result = invoke("runs")
    assert result.exit_code == 0 and "no runs" in result.stdout
    assert json.loads(invoke("runs", "--json").stdout) == []
