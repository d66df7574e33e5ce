"""`agentos run` progress: a live board of running nodes with their elapsed time on a
terminal (a real pty), plain lines elsewhere; the board as a renderable."""

from __future__ import annotations

import io
import os
import re
import select
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cli_support import agentos_script, script_env
from rich.console import Console

from agentos._progress import Progress
from agentos.actors import NodeContext
from agentos.cli.live import LiveProgress, RunningBoard, progress_for
from agentos.events import model as ev

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

GATED = """\
name: gated
nodes:
  - {name: slowpoke, agent: "test_cli_live:wait_for_file"}
  - {name: after, agent: "cli_agents:echo", after: [slowpoke]}
"""


def wait_for_file(ctx: NodeContext) -> dict[str, Any]:
    """Run until the file $LIVE_TEST_GATE exists (at most 60 s)."""
    gate = Path(os.environ["LIVE_TEST_GATE"])
    deadline = time.monotonic() + 60
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return {"opened": gate.exists()}


def render(board: RunningBoard) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=80, force_terminal=False).print(board)
    return buffer.getvalue()


def event(cls: type[ev.Envelope], seq: int, node: str | None, **kw: Any) -> ev.Envelope:
    return cls(seq=seq, run_id="r", ts=T0 + timedelta(seconds=seq), node=node, **kw)


def test_the_board_shows_running_steps_with_their_elapsed_time() -> None:
    progress = LiveProgress(Console(file=io.StringIO()), now=lambda: T0 + timedelta(seconds=10))
    progress.show(event(ev.NodeStarted, 1, "a", attempt=1))
    progress.show(event(ev.NodeStarted, 2, "b", attempt=1))
    progress.show(event(ev.NodeStarted, 3, "w", attempt=1, iteration=2))
    done = ev.NodeSucceededData(output={}, duration_ms=1.0)
    progress.show(event(ev.NodeSucceeded, 4, "a", attempt=1, data=done))
    lines = [line.split() for line in render(progress.board).splitlines()]
    assert lines == [["running", "b", "8.0s"], ["running", "w#2", "7.0s"]]
    failed = ev.NodeFailedData(error="KeyError: 'q'", final=False, duration_ms=1.0)
    progress.show(event(ev.NodeFailed, 5, "b", attempt=1, data=failed))
    assert [line.split()[1] for line in render(progress.board).splitlines()] == ["w#2"]
    progress.show(event(ev.RunSucceeded, 6, None))
    assert render(progress.board).strip() == ""


def test_plain_lines_without_a_terminal_and_the_board_on_one() -> None:
    buffer = io.StringIO()
    plain, block = progress_for(Console(file=buffer))
    assert type(plain) is Progress
    with block:
        plain.show(event(ev.NodeStarted, 1, "a", attempt=1))
    assert "a" in buffer.getvalue() and "started" in buffer.getvalue()
    live, _ = progress_for(Console(file=io.StringIO(), force_terminal=True))
    assert isinstance(live, LiveProgress)


def test_agentos_run_on_a_terminal_shows_the_running_node(tmp_path: Path) -> None:
    graph = tmp_path / "gated.yaml"
    graph.write_text(GATED)
    gate = tmp_path / "gate"
    env = script_env()
    env.update(
        LIVE_TEST_GATE=str(gate),
        TERM="xterm",
        COLUMNS="100",
        PYTHONPATH=os.pathsep.join([str(Path(__file__).parent), env["PYTHONPATH"]]),
    )
    primary, secondary = os.openpty()
    cmd = [agentos_script(), "--data", str(tmp_path / "data"), "run", str(graph)]
    proc = subprocess.Popen(cmd, stdin=secondary, stdout=secondary, stderr=secondary, env=env)
    os.close(secondary)
    seen = b""

    def read_until(pattern: str) -> None:
        nonlocal seen
        deadline = time.monotonic() + 60
        while not re.search(pattern, text()):
            assert time.monotonic() < deadline, text()
            ready, _, _ = select.select([primary], [], [], 1.0)
            if ready:
                try:
                    seen += os.read(primary, 65536)
                except OSError:  # the child closed the terminal
                    break
        assert re.search(pattern, text()), text()

    def text() -> str:
        return ANSI.sub("", seen.decode(errors="replace"))

    try:
        # the board: the node runs, its time counting, until the gate opens
        read_until(r"running\s+slowpoke\s+\d+\.\ds")
        gate.touch()
        read_until(r"run succeeded")
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(primary)
