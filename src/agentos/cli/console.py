"""Rich consoles for stdout and stderr: colour only on a terminal, NO_COLOR honoured."""

from __future__ import annotations

import os

from rich.console import Console

# width used when the output is not a terminal (pipes, files, tests)
PIPE_WIDTH = 160


def _sized(console: Console) -> Console:
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = PIPE_WIDTH
    return console


def out_console() -> Console:
    """A console on the current stdout."""
    return _sized(Console(highlight=False, soft_wrap=True))


def error_console() -> Console:
    """A console on the current stderr."""
    return _sized(Console(stderr=True, highlight=False, soft_wrap=True))
