"""Streamed model calls in `agentos run` progress: each call's text as its token deltas
arrive (from `agentos.routing.streaming.FEED`), and one line per finished call."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from agentos._progress import Progress
from agentos.events import model as ev
from agentos.routing.streaming import TokenDelta

#: the characters of a streamed answer a progress line or the board shows
TAIL = 60


def tail(text: str, width: int = TAIL) -> str:
    """The end of `text` on one line, at most `width` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else "…" + flat[-(width - 1) :]


class StreamedCalls:
    """The text so far of a run's streamed calls, by (node, attempt, call index)."""

    def __init__(self) -> None:
        self.text: dict[tuple[str, int, int], str] = {}

    def add(self, delta: TokenDelta) -> None:
        """Append a delta to its call's text; a restart drops what the call had."""
        key = (delta.node, delta.attempt, delta.call)
        before = "" if delta.restart else self.text.pop(key, "")
        self.text[key] = before + delta.text  # the latest call of a node comes last

    def latest(self, node: str) -> str | None:
        """The text of the node's call that streamed last, if one is under way."""
        for (name, _, _), text in reversed(self.text.items()):
            if name == node:
                return text
        return None

    def finished(self, event: ev.Envelope) -> str | None:
        """The streamed text of the call a `model_called` event records (then forgotten);
        None for any other event, or a call that did not stream here."""
        if not isinstance(event, ev.ModelCalled) or event.node is None:
            return None
        return self.text.pop((event.node, event.attempt or 1, event.data.call or 0), None)


class StreamedProgress(Progress):
    """Progress lines, and after each streamed call a line with the end of its answer."""

    def __init__(self, console: Console, calls: StreamedCalls | None = None) -> None:
        super().__init__(console)
        self.calls = calls if calls is not None else StreamedCalls()

    def show(self, event: ev.Envelope) -> None:
        """Print the event's line; for a streamed call's `model_called`, its answer."""
        super().show(event)
        text = self.calls.finished(event)
        if text is not None and self.start is not None:
            elapsed = f"[dim]{(event.ts - self.start).total_seconds():8.3f}s[/]"
            name = escape(event.node or "")
            line = f"{elapsed} [cyan]>>[/] [bold]{name:<14}[/] streamed: {escape(tail(text))}"
            self.console.print(line, highlight=False, soft_wrap=True)
