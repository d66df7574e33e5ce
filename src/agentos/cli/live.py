"""`agentos run` on a terminal: the progress lines, and under them a live board of the
nodes running now with their elapsed time and the end of the answer they stream now
(rich's Live display)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime

from rich.console import Console, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from agentos._progress import Progress, step_name
from agentos.cli.streams import StreamedCalls, StreamedProgress, tail
from agentos.events import model as ev

Clock = Callable[[], datetime]

#: the events after which a step no longer runs (a retry starts it again)
_ENDS = frozenset(
    {"node_succeeded", "node_failed", "node_retrying", "node_skipped", "node_cancelled"}
)


def utc_now() -> datetime:
    """The wall clock in UTC (events carry UTC timestamps)."""
    return datetime.now(UTC)


class RunningBoard:
    """The steps running now and since when; renders one line each with its elapsed
    time, measured against `now` each time rich draws it, and the end of the text its
    streamed model call gave so far (`calls`)."""

    def __init__(self, now: Clock = utc_now, calls: StreamedCalls | None = None) -> None:
        self.now = now
        self.since: dict[str, datetime] = {}
        self.calls = calls if calls is not None else StreamedCalls()

    def __rich__(self) -> RenderableType:
        if not self.since:
            return Text("")
        now = self.now()
        grid = Table.grid(padding=(0, 2))
        for name, started in self.since.items():
            elapsed = max(0.0, (now - started).total_seconds())
            streamed = self.calls.latest(name.split("#")[0])
            text = Text("" if streamed is None else tail(streamed), style="dim")
            grid.add_row(
                Text("running", style="cyan"), Text(name, style="bold"), f"{elapsed:.1f}s", text
            )
        return grid


class LiveProgress(StreamedProgress):
    """Progress lines as usual, plus the board of running steps."""

    def __init__(
        self, console: Console, now: Clock = utc_now, calls: StreamedCalls | None = None
    ) -> None:
        super().__init__(console, calls)
        self.board = RunningBoard(now, self.calls)

    def show(self, event: ev.Envelope) -> None:
        """Print the event's line and keep the board to the steps still running."""
        super().show(event)
        if event.type in ev.TERMINAL_TYPES:
            self.board.since.clear()
        elif event.node is None:
            return
        elif isinstance(event, ev.NodeStarted | ev.MapExpanded):
            self.board.since.setdefault(step_name(event), event.ts)
        elif event.type in _ENDS:
            self.board.since.pop(step_name(event), None)

    @contextmanager
    def live(self) -> Iterator[None]:
        """Draw the board under the lines until the block ends; it leaves no trace."""
        with Live(self.board, console=self.console, refresh_per_second=4, transient=True):
            yield


def progress_for(
    console: Console, calls: StreamedCalls | None = None
) -> tuple[Progress, AbstractContextManager[None]]:
    """The progress of a run and the block to follow it in: the live display on a
    terminal, plain lines anywhere else (pipes, files, tests). With `calls` (fed the
    run's token deltas), a line per finished streamed call, and on a terminal the
    running steps' streamed text on the board."""
    if console.is_terminal:
        live = LiveProgress(console, calls=calls)
        return live, live.live()
    if calls is not None:
        return StreamedProgress(console, calls), nullcontext()
    return Progress(console), nullcontext()
