"""`agentos run` progress of streamed model calls: plain output prints one line per
finished streamed call with the end of its answer; the live board shows a running
node's text as its deltas arrive."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cli_support import Invoke, run_ids
from rich.console import Console

from agentos.actors import NodeContext
from agentos.cli.live import LiveProgress
from agentos.cli.streams import StreamedCalls, tail
from agentos.events import model as ev
from agentos.routing.streaming import FEED, TokenDelta

GRAPH = """\
name: streamed
context_profiles:
  helper: {budget: 2000, sources: [{kind: inputs}]}
nodes:
  - {name: talk, agent: "test_cli_streamed:talk", context: helper, policy: {stream: true}}
  - {name: quiet, agent: "test_cli_streamed:talk", context: helper, after: [talk]}
"""
T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def talk(ctx: NodeContext) -> dict[str, Any]:
    """Two calls, once `agentos run` listens to the run's deltas (at most 20 s)."""
    for _ in range(1000):
        if FEED.listening(ctx.run_id):
            break
        await asyncio.sleep(0.02)
    first = await ctx.complete(max_tokens=40)
    second = await ctx.complete(f"and then {first.text[:20]}", max_tokens=40)
    return {"first": first.text, "second": second.text}


def test_plain_output_has_a_line_per_finished_streamed_call(
    invoke: Invoke, tmp_path: Path, data: Path
) -> None:
    graph = tmp_path / "streamed.yaml"
    graph.write_text(GRAPH)
    result = invoke("run", str(graph))
    assert result.exit_code == 0, result.output
    (run_id,) = run_ids(data)
    events = [json.loads(line) for line in (data / run_id / "events.jsonl").open()]
    answers = [
        (e["node"], e["data"]["response"]["text"]) for e in events if e["type"] == "model_called"
    ]
    assert [node for node, _ in answers] == ["talk", "talk", "quiet", "quiet"]
    lines = [line for line in result.stdout.splitlines() if " streamed: " in line]
    # talk streams (its policy says so), quiet does not: one line per call of talk
    assert len(lines) == 2
    for line, (_, text) in zip(lines, answers[:2], strict=True):
        assert ">> talk" in line and line.endswith(f"streamed: {tail(text)}")
    assert lines[0] != lines[1]


def delta(text: str, attempt: int = 1, call: int = 0, restart: bool = False) -> TokenDelta:
    return TokenDelta("r", "w", attempt, call, text, restart)


def board_lines(progress: LiveProgress) -> list[str]:
    buffer = io.StringIO()
    Console(file=buffer, width=120, force_terminal=False).print(progress.board)
    return [" ".join(line.split()) for line in buffer.getvalue().splitlines()]


def test_the_board_shows_the_running_steps_streamed_text() -> None:
    calls = StreamedCalls()
    out = io.StringIO()
    progress = LiveProgress(Console(file=out), now=lambda: T0 + timedelta(seconds=3), calls=calls)
    progress.show(ev.NodeStarted(seq=1, run_id="r", ts=T0, node="w", attempt=1))
    calls.add(delta("The pl"))
    calls.add(delta("an is "))
    assert board_lines(progress) == ["running w 3.0s The plan is"]
    calls.add(delta("A fresh", restart=True))  # a fallback: the call starts over
    assert board_lines(progress) == ["running w 3.0s A fresh"]
    calls.add(delta("x" * 200, call=1))  # the next call; only the end of a long text
    assert board_lines(progress) == [f"running w 3.0s …{'x' * 59}"]
    data = ev.ModelCalledData(
        provider="p", model="m", tokens_in=1, tokens_out=1, cost=0.0, latency_ms=1.0, call=1
    )
    progress.show(ev.ModelCalled(seq=2, run_id="r", ts=T0, node="w", attempt=1, data=data))
    assert f"streamed: …{'x' * 59}" in out.getvalue()
    assert board_lines(progress) == ["running w 3.0s A fresh"]
