"""`agentos run` on a terminal: the progress lines, and under them a live board of the
nodes running now with their elapsed time (rich's Live display)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime

from rich.console import Console, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from agentos._progress import Progress, step_name
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
    time, measured against `now` each time rich draws it."""

    def __init__(self, now: Clock = utc_now) -> None:
        self.now = now
        self.since: dict[str, datetime] = {}

    def __rich__(self) -> RenderableType:
        if not self.since:
            return Text("")
        now = self.now()
        grid = Table.grid(padding=(0, 2))
        for name, started in self.since.items():
            elapsed = max(0.0, (now - started).total_seconds())
            grid.add_row(Text("running", style="cyan"), Text(name, style="bold"), f"{elapsed:.1f}s")
        return grid


class LiveProgress(Progress):
    """Progress lines as usual, plus the board of running steps."""

    def __init__(self, console: Console, now: Clock = utc_now) -> None:
        super().__init__(console)
        self.board = RunningBoard(now)

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


def progress_for(console: Console) -> tuple[Progress, AbstractContextManager[None]]:
    """The progress of a run and the block to follow it in: the live display on a
    terminal, plain lines anywhere else (pipes, files, tests)."""
    if console.is_terminal:
        live = LiveProgress(console)
        return live, live.live()
    return Progress(console), nullcontext()
