"""Help, demo, serve, the installed script, exit codes and colour."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cli_support import Invoke, agentos_script, run_ids, script_env
from click.testing import CliRunner

from agentos.cli import cli

COMMANDS = ("run", "runs", "events", "replay", "resume", "demo", "serve")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.stdout
    assert len(result.stdout.splitlines()) > 4


def test_top_level_help_lists_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.stdout
    assert "--data" in result.stdout and "--debug" in result.stdout


def test_unknown_option_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("runs", "--bogus")
    assert result.exit_code == 2


def test_data_dir_from_environment(
    small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "envdata"
    monkeypatch.setenv("AGENTOS_DATA_DIR", str(data))
    result = CliRunner().invoke(cli, ["run", str(small)])
    assert result.exit_code == 0, result.output
    assert len(run_ids(data)) == 1


def test_demo_calls_run_demo(
    invoke: Invoke, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agentos.demo.run as demo_run

    calls: list[tuple[Any, ...]] = []

    class Result:
        exit_code = 3

    async def fake(repo: Any, pr: int, data_dir: Any, console: Any, pool: Any) -> Result:
        calls.append((repo, pr, data_dir, pool))
        return Result()

    monkeypatch.setattr(demo_run, "run_demo", fake)
    result = invoke("demo", "--repo", str(tmp_path), "--pr", "9")
    assert result.exit_code == 3
    assert calls == [(tmp_path.resolve(), 9, data, None)]
    result = invoke("demo", "--repo", str(tmp_path / "missing"))
    assert result.exit_code == 2 and "not found" in result.stderr


def test_serve_runs_uvicorn(invoke: Invoke, data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    import agentos.api.app as api

    seen: dict[str, Any] = {}
    made: dict[str, Any] = {}

    def fake_app(root: Path, **kw: Any) -> SimpleNamespace:
        made.update(root=root, **kw)
        return SimpleNamespace(state=SimpleNamespace(token=kw["token"]))

    monkeypatch.setattr(api, "create_app", fake_app)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    result = invoke("serve", "--port", "8123", "--no-auth")
    assert result.exit_code == 0, result.output
    assert result.stdout == "dashboard: http://127.0.0.1:8123/dashboard\n"
    assert made["root"] == data and made["token"] is None
    assert made["allowed_hosts"] == ["127.0.0.1", "localhost", "::1"]
    assert seen == {
        "app": SimpleNamespace(state=SimpleNamespace(token=None)),
        "host": "127.0.0.1",
        "port": 8123,
        "timeout_graceful_shutdown": 3,
    }
    assert invoke("serve", "--port", "99999").exit_code == 2


def test_installed_script(tmp_path: Path, small: Path, failing: Path) -> None:
    script, env, data = agentos_script(), script_env(), tmp_path / "data"

    def agentos(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [script, "--data", str(data), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    ok = agentos("run", str(small), "--json")
    assert ok.returncode == 0, ok.stderr
    state = json.loads(ok.stdout)
    assert state["status"] == "succeeded"
    events = agentos("events", state["run_id"], "--json")
    docs = [json.loads(line) for line in events.stdout.splitlines()]
    assert len(docs) == state["last_seq"] and docs[-1]["type"] == "run_succeeded"
    timeline = agentos("events", state["run_id"])
    assert "\x1b[" not in timeline.stdout  # no colour in a pipe
    failed = agentos("run", str(failing))
    assert failed.returncode == 1 and "boom" in failed.stdout
    bad = agentos("events", "nope")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr == f"error: unknown run 'nope' in {data}/ (list runs with: agentos runs)\n"
