"""`agentos events`: timeline, --json lines, filters, --summary, --follow, bad input."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from cli_support import SLOW, Invoke, agentos_script, run_ids, script_env

from agentos.events.codec import from_dict


def _log_lines(data: Path, run_id: str) -> list[dict[str, object]]:
    text = (data / run_id / "events.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


def test_timeline_has_key_facts(invoke: Invoke, done_run: str) -> None:
    result = invoke("events", done_run)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["seq", "time"]
    assert len(lines) == 1 + 11
    assert "run_created" in lines[1] and "graph small (4 nodes)" in lines[1] and "x=1" in lines[1]
    succeeded = [line for line in lines if "node_succeeded" in line]
    assert len(succeeded) == 4 and all("output: node, inputs" in s for s in succeeded)
    assert "run_succeeded" in lines[-1]


def test_json_lines_are_the_stored_events(invoke: Invoke, done_run: str, data: Path) -> None:
    result = invoke("events", done_run, "--json")
    assert result.exit_code == 0, result.output
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    stored = _log_lines(data, done_run)
    assert len(docs) == len(stored) == 11
    for doc, raw in zip(docs, stored, strict=True):
        assert "_crc" not in doc and "_b" not in doc
        raw.pop("_crc")
        raw.pop("_b")
        assert doc == raw
        from_dict(doc)  # a valid event


def test_filters(invoke: Invoke, done_run: str) -> None:
    result = invoke(
        "events",
        done_run,
        "--json",
        "-t",
        "node_succeeded",
        "-t",
        "node_started",
        "--node",
        "b",
        "--node",
        "d",
    )
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(d["node"], d["type"]) for d in docs] == [
        ("b", "node_started"),
        ("b", "node_succeeded"),
        ("d", "node_started"),
        ("d", "node_succeeded"),
    ]
    result = invoke("events", done_run, "--json", "--since", "8")
    assert [json.loads(line)["seq"] for line in result.stdout.splitlines()] == [9, 10, 11]
    result = invoke("events", done_run, "--since", "99")
    assert result.exit_code == 0 and "no events" in result.stdout


def test_summary(invoke: Invoke, done_run: str) -> None:
    result = invoke("events", done_run, "--summary")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for header in ("node", "status", "attempts", "duration", "model", "tokens", "cost"):
        assert header in out
    assert out.count("succeeded") >= 5
    assert "status succeeded" in out and "events 11" in out and "model calls 0" in out
    result = invoke("events", done_run, "--summary", "--json")
    assert json.loads(result.stdout)["status"] == "succeeded"


def test_bad_input(invoke: Invoke, done_run: str, data: Path, tmp_path: Path) -> None:
    result = invoke("events", "nope")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: unknown run 'nope' in {data}/ (list runs with: agentos runs)\n"
    )
    result = invoke("events", done_run, "--node", "zz")
    assert result.exit_code == 2 and "has no node 'zz'" in result.stderr
    assert "a, b, c, d" in result.stderr
    result = invoke("events", done_run, "--type", "bogus")
    assert result.exit_code == 2  # click's choice check
    result = invoke("events", done_run, data_dir=tmp_path / "absent")
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert not (tmp_path / "absent").exists()


def test_corrupt_log_is_a_failure(invoke: Invoke, done_run: str, data: Path) -> None:
    log = data / done_run / "events.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace('"seq":3', '"seq":9')
    log.write_text("".join(lines))
    result = invoke("events", done_run)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: corrupt log:") and "line 3" in result.stderr
    assert "Traceback" not in result.output


def test_follow_a_run_of_another_process(tmp_path: Path) -> None:
    graph = tmp_path / "slow.yaml"
    graph.write_text(SLOW.replace("sleep: 0.4", "sleep: 1.5", 1))
    data = tmp_path / "data"
    script, env = agentos_script(), script_env()
    runner = subprocess.Popen(
        [script, "--data", str(data), "run", str(graph)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not run_ids(data) and time.monotonic() < deadline:
            time.sleep(0.02)
        (run_id,) = run_ids(data)
        follower = subprocess.Popen(
            [script, "--data", str(data), "events", run_id, "--follow", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert follower.stdout is not None
        first = follower.stdout.readline()
        assert runner.poll() is None  # the follower saw the run while it was running
        rest = follower.stdout.read()
        follower.wait(timeout=30)
        out, _ = runner.communicate(timeout=30)
    finally:
        runner.kill()
        if "follower" in locals():
            follower.kill()
    assert runner.returncode == 0, out
    assert follower.returncode == 0
    docs = [json.loads(line) for line in (first + rest).splitlines()]
    assert [d["seq"] for d in docs] == list(range(1, len(docs) + 1))
    assert docs[-1]["type"] == "run_succeeded"
    assert len(docs) == 7
